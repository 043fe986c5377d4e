// The RADOS ChunkStore beyond the chunk-store conformance suite, against the
// test cluster (scripts/ceph): namespaces keep pools apart, writes in flight
// are durable once make_durable returns and read back from a second client,
// and a missing pool or cluster is a clear error, not a hang.
#include "chunk/rados_chunk_store.h"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "chunk/hash.h"
#include "support/ceph.h"
#include "support/must.h"
#include "support/raw_chunk.h"
#include "support/result_matchers.h"
#include "support/temp_dir.h"

namespace anyfs::testing {
namespace {

std::unique_ptr<ChunkStore> open_store(const std::string& ns) {
  return must(open_rados_chunk_store({ceph_conf(), "anyfs", ns}));
}

TEST(RadosChunkStoreTest, NamespacesKeepPoolsApart) {
  const std::string ns_a = fresh_rados_namespace(), ns_b = fresh_rados_namespace();
  auto a = open_store(ns_a);
  auto b = open_store(ns_b);
  ASSERT_OK(a->put(sha256("a"), raw_chunk("a")));
  ASSERT_OK(b->put(sha256("b"), raw_chunk("b")));
  ASSERT_OK(a->make_durable());
  ASSERT_OK(b->make_durable());
  EXPECT_EQ(must(a->list()), std::vector<ChunkId>{sha256("a")});
  EXPECT_EQ(must(b->list()), std::vector<ChunkId>{sha256("b")});
  EXPECT_FALSE(must(a->has(sha256("b"))));
}

TEST(RadosChunkStoreTest, ManyWritesInFlightAreAllThereForAnotherClientOnceDurable) {
  const std::string ns = fresh_rados_namespace();
  auto writer = open_store(ns);
  std::vector<ChunkId> ids;
  for (int n = 0; n < 300; ++n) {  // past the bound on writes in flight
    const std::string data = "chunk " + std::to_string(n) + std::string(static_cast<std::size_t>(n) * 37, 'x');
    ids.push_back(sha256(data));
    ASSERT_OK(writer->put(ids.back(), raw_chunk(data)));
  }
  ASSERT_OK(writer->make_durable());
  auto reader = open_store(ns);  // another connection to the cluster
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(must(reader->list()), ids);
  const std::string data = "chunk 299" + std::string(299 * 37, 'x');
  EXPECT_EQ(must(load_chunk(*reader, sha256(data), true)), data);
}

// Rule 2: a removal reaches RADOS only after it committed and the grace
// period passed; until then another client (a reader whose records are older)
// still reads the chunk.
TEST(RadosChunkStoreTest, ARemovedChunkIsDeletedOnlyAfterItsCommitAndTheGracePeriod) {
  const std::string ns = fresh_rados_namespace();
  RadosOptions options{ceph_conf(), "anyfs", ns};
  options.delete_grace = std::chrono::milliseconds(300);
  auto writer = must(open_rados_chunk_store(options));
  auto reader = open_store(ns);
  const ChunkId id = sha256("doomed");
  ASSERT_OK(writer->put(id, raw_chunk("doomed")));
  ASSERT_OK(writer->make_durable());
  ASSERT_OK(writer->remove(id));
  EXPECT_FALSE(must(writer->has(id)));
  ASSERT_ERR(writer->get(id), NotFound);
  EXPECT_TRUE(must(writer->list()).empty());
  EXPECT_TRUE(must(reader->has(id))) << "deleted before its removal committed";
  writer->committed();
  EXPECT_TRUE(must(reader->has(id))) << "deleted within the grace period";
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  writer->committed();  // the next commit deletes what waited long enough
  EXPECT_FALSE(must(reader->has(id)));
}

TEST(RadosChunkStoreTest, AChunkPutAgainOrNamedAgainBeforeItsDeletionIsKept) {
  const std::string ns = fresh_rados_namespace();
  const ChunkId again = sha256("again"), named = sha256("named"), gone = sha256("gone");
  RadosOptions options{ceph_conf(), "anyfs", ns};
  options.delete_grace = std::chrono::milliseconds(0);
  options.still_named = [&](const ChunkId& id) -> Result<bool> { return id == named; };
  auto store = must(open_rados_chunk_store(options));
  for (const auto& [id, data] : {std::pair{again, "again"}, std::pair{named, "named"}, std::pair{gone, "gone"}})
    ASSERT_OK(store->put(id, raw_chunk(data)));
  ASSERT_OK(store->make_durable());
  for (const ChunkId& id : {again, named, gone}) ASSERT_OK(store->remove(id));
  ASSERT_OK(store->put(again, raw_chunk("again")));  // stored again in the same transaction
  ASSERT_OK(store->make_durable());
  store->committed();
  auto other = open_store(ns);
  EXPECT_TRUE(must(other->has(again)));
  EXPECT_TRUE(must(other->has(named))) << "the records named it again (or the removal was rolled back)";
  EXPECT_FALSE(must(other->has(gone)));
  EXPECT_EQ(must(load_chunk(*other, again, true)), "again");
}

// Rule 3: after a crash between a put and the records' commit, gc's sweep
// deletes the objects no record names, and only those.
TEST(RadosChunkStoreTest, TheSweepDeletesWhatNoRecordNamesAndCountsItsBytes) {
  const std::string ns = fresh_rados_namespace();
  const ChunkId kept = sha256("kept"), orphan = sha256("orphan data");
  RadosOptions options{ceph_conf(), "anyfs", ns};
  options.still_named = [&](const ChunkId& id) -> Result<bool> { return id == kept; };
  auto store = must(open_rados_chunk_store(options));
  ASSERT_OK(store->put(kept, raw_chunk("kept")));
  ASSERT_OK(store->put(orphan, raw_chunk("orphan data")));
  ASSERT_OK(store->make_durable());
  std::uint64_t removed = 0, bytes = 0;
  ASSERT_OK(store->sweep_unnamed(removed, bytes));
  EXPECT_EQ(removed, 1u);
  EXPECT_EQ(bytes, 11u);
  auto other = open_store(ns);
  EXPECT_EQ(must(other->list()), std::vector<ChunkId>{kept});
}

TEST(RadosChunkStoreTest, AMissingPoolIsNotFound) {
  auto store = open_rados_chunk_store({ceph_conf(), "no-such-pool", ""});
  ASSERT_ERR(store, NotFound);
  EXPECT_NE(store.error().message.find("no such RADOS pool"), std::string::npos) << store.error().message;
}

TEST(RadosChunkStoreTest, AClusterThatIsNotThereIsAnIoErrorWithinTheTimeout) {
  TempDir dir;
  const std::string conf = dir.str() + "/ceph.conf";
  std::ofstream(conf) << "[global]\nmon host = [v2:127.0.0.1:1]\nauth client required = none\n"
                         "ms mon client mode = crc\n";
  RadosOptions options{conf, "anyfs", ""};
  options.timeout_s = 2;
  auto store = open_rados_chunk_store(options);
  ASSERT_ERR(store, Io);
  EXPECT_NE(store.error().message.find("cannot connect to the Ceph cluster"), std::string::npos)
      << store.error().message;
}

}  // namespace
}  // namespace anyfs::testing
