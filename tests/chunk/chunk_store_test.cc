// The ChunkStore conformance suite: every backend instantiates it with one line
// (ANYFS_CHUNK_STORE_CONFORMANCE at the bottom), and the shared store/load path
// that checks every read.
#include "chunk/chunk_store.h"

#include <gtest/gtest.h>

#include <functional>

#include "chunk/rados_chunk_store.h"
#include "chunk/sqlite_chunk_store.h"
#include "meta/schema.h"
#include "meta/volume_file.h"
#include "support/ceph.h"
#include "support/raw_chunk.h"
#include "support/result_matchers.h"
#include "support/temp_dir.h"
#include "util/sqlite.h"

namespace anyfs {
namespace {

using testing::raw_chunk;

struct ChunkStoreFactory {
  std::string name;
  std::function<std::unique_ptr<ChunkStore>()> make;
};

// Test names say the store, not the factory's bytes.
void PrintTo(const ChunkStoreFactory& f, std::ostream* os) { *os << f.name; }

class ChunkStoreConformance : public ::testing::TestWithParam<ChunkStoreFactory> {
 protected:
  void SetUp() override { ASSERT_NE(store, nullptr) << "the store could not be made"; }
  std::unique_ptr<ChunkStore> store = GetParam().make();
};

TEST_P(ChunkStoreConformance, PutThenGetReturnsWhatWasStored) {
  ChunkId id = sha256("hello");
  ASSERT_OK(store->put(id, raw_chunk("hello")));
  auto got = store->get(id);
  ASSERT_OK(got);
  EXPECT_EQ(got->stored, "hello");
  EXPECT_EQ(got->raw_size, 5u);
  EXPECT_EQ(got->checksum, xxh3("hello"));
  EXPECT_TRUE(*store->has(id));
}

TEST_P(ChunkStoreConformance, PuttingAnIdAgainKeepsTheFirstCopy) {
  ChunkId id = sha256("x");
  ASSERT_OK(store->put(id, raw_chunk("x")));
  ASSERT_OK(store->put(id, raw_chunk("y")));
  EXPECT_EQ(store->get(id)->stored, "x");
  EXPECT_EQ(store->list()->size(), 1u);
}

TEST_P(ChunkStoreConformance, MissingChunksAreNotFound) {
  ChunkId id = sha256("nothing");
  EXPECT_ERR(store->get(id), NotFound);
  EXPECT_ERR(store->remove(id), NotFound);
  EXPECT_FALSE(*store->has(id));
}

TEST_P(ChunkStoreConformance, RemoveAndListSorted) {
  std::vector<ChunkId> ids;
  for (int i = 0; i < 20; ++i) {
    std::string data = "chunk " + std::to_string(i);
    ids.push_back(sha256(data));
    ASSERT_OK(store->put(ids.back(), raw_chunk(data)));
  }
  ASSERT_OK(store->remove(ids[3]));
  auto listed = store->list();
  ASSERT_OK(listed);
  EXPECT_EQ(listed->size(), 19u);
  EXPECT_TRUE(std::is_sorted(listed->begin(), listed->end()));
  EXPECT_FALSE(*store->has(ids[3]));
}

TEST_P(ChunkStoreConformance, StoreAndLoadRoundTripWithDedupAndCompression) {
  std::string text(100000, 'a');
  auto id = store_chunk(*store, *CompressionSpec::parse("zstd"), text);
  ASSERT_OK(id);
  EXPECT_EQ(*id, sha256(text));
  EXPECT_EQ(store->get(*id)->codec, Codec::Zstd);
  EXPECT_LT(store->get(*id)->stored.size(), 1000u);
  ASSERT_OK(store_chunk(*store, *CompressionSpec::parse("lz4"), text));  // same bytes: stored once
  EXPECT_EQ(store->list()->size(), 1u);
  auto back = load_chunk(*store, *id, true);
  ASSERT_OK(back);
  EXPECT_EQ(*back, text);
}

// A flipped bit in the stored bytes is reported as Corrupt, naming the chunk,
// and never returned as data — for compressed chunks and for raw ones, where
// only the checksum can tell.
TEST_P(ChunkStoreConformance, ACorruptByteIsDetectedOnRead) {
  std::string incompressible(100000, '\0');
  std::uint64_t x = 88172645463325252ull;
  for (auto& c : incompressible) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = static_cast<char>(x);
  }
  for (const auto& data : {std::string(100000, 'b'), incompressible}) {
    ChunkId id = *store_chunk(*store, *CompressionSpec::parse("lz4"), data);
    StoredChunk damaged = *store->get(id);
    damaged.stored[damaged.stored.size() / 2] ^= 0x10;
    ASSERT_OK(store->remove(id));
    ASSERT_OK(store->put(id, damaged));
    auto r = load_chunk(*store, id);
    ASSERT_ERR(r, Corrupt) << "codec " << codec_name(damaged.codec);
    EXPECT_EQ(r.error().path, "chunk " + to_hex(id));
  }
}

// Consistent but wrong content (a valid chunk under another chunk's id) passes
// the fast checksum; only verify_id (scrub, checksum=verify) catches it.
TEST_P(ChunkStoreConformance, VerifyIdCatchesContentUnderTheWrongId) {
  ChunkId id = sha256("expected");
  ASSERT_OK(store->put(id, raw_chunk("imposter")));
  EXPECT_OK(load_chunk(*store, id, false));
  EXPECT_ERR(load_chunk(*store, id, true), Corrupt);
}

// get_into reads a chunk stored as is straight into the buffer when the sizes
// agree, and leaves every other chunk to get(); load_chunk_into is right either way.
TEST_P(ChunkStoreConformance, GetIntoReadsOnlyAChunkStoredAsIsOfTheBuffersSize) {
  std::string raw(5000, '\0');
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<char>(i * 7919 % 251);
  ChunkId id = sha256(raw);
  ASSERT_OK(store->put(id, raw_chunk(raw)));
  std::string out(raw.size(), 'x');
  StoredChunk described;
  ASSERT_OK(store->get_into(id, out, described));
  EXPECT_TRUE(*store->get_into(id, out, described));
  EXPECT_EQ(out, raw);
  EXPECT_EQ(described.raw_size, raw.size());
  EXPECT_EQ(described.checksum, xxh3(raw));
  EXPECT_EQ(described.codec, Codec::None);
  std::string shorter(raw.size() - 1, 'x');
  EXPECT_FALSE(*store->get_into(id, shorter, described));
  EXPECT_EQ(shorter, std::string(raw.size() - 1, 'x'));

  std::string text(20000, 'q');
  ChunkId packed = *store_chunk(*store, *CompressionSpec::parse("zstd"), text);
  std::string into(text.size(), '\0');
  EXPECT_FALSE(*store->get_into(packed, into, described));
  EXPECT_EQ(described.codec, Codec::Zstd);
  EXPECT_EQ(described.raw_size, text.size());
  ASSERT_OK(load_chunk_into(*store, packed, into));
  EXPECT_TRUE(*load_chunk_into(*store, packed, into));
  EXPECT_EQ(into, text);
  EXPECT_ERR(store->get_into(sha256("absent"), into, described), NotFound);
}

// A chunk stored as is and read straight into the caller's buffer is still
// checked there: a flipped byte is Corrupt, not data.
TEST_P(ChunkStoreConformance, AFlippedByteReadStraightIntoTheBufferIsCorrupt) {
  std::string raw(8192, '\0');
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<char>(i * 31 % 256);
  ChunkId id = sha256(raw);
  StoredChunk damaged = raw_chunk(raw);
  damaged.stored[100] ^= 0x01;  // the checksum stays that of the good bytes
  ASSERT_OK(store->put(id, damaged));
  std::string out(raw.size(), '\0');
  auto r = load_chunk_into(*store, id, out);
  ASSERT_ERR(r, Corrupt);
  EXPECT_EQ(r.error().path, "chunk " + to_hex(id));
}

std::string factory_name(const ::testing::TestParamInfo<ChunkStoreFactory>& info) { return info.param.name; }

#define ANYFS_CHUNK_STORE_CONFORMANCE(suffix, ...) \
  INSTANTIATE_TEST_SUITE_P(suffix, ChunkStoreConformance, ::testing::Values(__VA_ARGS__), factory_name)

// The SQLite store over a database of its own, which it keeps open.
class OwnedSqliteChunkStore final : public ChunkStore {
 public:
  OwnedSqliteChunkStore() {
    sql::OpenOptions options;
    options.create = true;
    db_ = std::move(*sql::Db::open(dir_.str() + "/chunks.db", options));
    EXPECT_OK(create_schema(*db_));
    store_ = make_sqlite_chunk_store(*db_);
  }
  Result<void> put(const ChunkId& id, const StoredChunk& chunk) override { return store_->put(id, chunk); }
  Result<StoredChunk> get(const ChunkId& id) override { return store_->get(id); }
  Result<bool> get_into(const ChunkId& id, std::span<char> out, StoredChunk& chunk) override {
    return store_->get_into(id, out, chunk);
  }
  Result<bool> has(const ChunkId& id) override { return store_->has(id); }
  Result<void> remove(const ChunkId& id) override { return store_->remove(id); }
  Result<std::vector<ChunkId>> list() override { return store_->list(); }

 private:
  testing::TempDir dir_;
  std::unique_ptr<sql::Db> db_;
  std::unique_ptr<ChunkStore> store_;
};

// The chunks of a volume file (meta/volume_file.h), which it keeps open.
class VolumeChunkStore final : public ChunkStore {
 public:
  VolumeChunkStore() {
    const std::string path = dir_.str() + "/v.vol";
    volume_ = std::move(*VolumeFile::create(path, VolumeLabel{"pool", "vol", 1, {{"vol", path, 0}}}, 16384, true));
  }
  Result<void> put(const ChunkId& id, const StoredChunk& chunk) override { return volume_->chunks().put(id, chunk); }
  Result<StoredChunk> get(const ChunkId& id) override { return volume_->chunks().get(id); }
  Result<bool> get_into(const ChunkId& id, std::span<char> out, StoredChunk& chunk) override {
    return volume_->chunks().get_into(id, out, chunk);
  }
  Result<bool> has(const ChunkId& id) override { return volume_->chunks().has(id); }
  Result<void> remove(const ChunkId& id) override { return volume_->chunks().remove(id); }
  Result<std::vector<ChunkId>> list() override { return volume_->chunks().list(); }

 private:
  testing::TempDir dir_;
  std::unique_ptr<VolumeFile> volume_;
};

ANYFS_CHUNK_STORE_CONFORMANCE(Backends, ChunkStoreFactory{"MemoryChunkStore", [] { return make_memory_chunk_store(); }},
                              ChunkStoreFactory{"SqliteChunkStore", [] {
                                                  return std::unique_ptr<ChunkStore>(
                                                      std::make_unique<OwnedSqliteChunkStore>());
                                                }},
                              ChunkStoreFactory{"VolumeChunkStore", [] {
                                                  return std::unique_ptr<ChunkStore>(std::make_unique<VolumeChunkStore>());
                                                }},
                              // A namespace of its own in the test cluster's pool (scripts/ceph).
                              ChunkStoreFactory{"RadosChunkStore", []() -> std::unique_ptr<ChunkStore> {
                                                  auto store = open_rados_chunk_store(
                                                      {testing::ceph_conf(), "anyfs", testing::fresh_rados_namespace()});
                                                  if (!store) {
                                                    ADD_FAILURE() << store.error().to_string();
                                                    return nullptr;
                                                  }
                                                  return std::move(*store);
                                                }});

}  // namespace
}  // namespace anyfs
