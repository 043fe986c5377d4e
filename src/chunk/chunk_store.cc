#include "chunk/chunk_store.h"

#include <cstring>
#include <limits>
#include <map>
#include <mutex>

#include "util/mutex.h"

namespace anyfs {
namespace {

class MemoryChunkStore final : public ChunkStore {
 public:
  Result<void> put(const ChunkId& id, const StoredChunk& chunk) override {
    MutexLock lock(mu_);
    chunks_.try_emplace(id, chunk);
    return {};
  }
  Result<StoredChunk> get(const ChunkId& id) override {
    MutexLock lock(mu_);
    auto it = chunks_.find(id);
    if (it == chunks_.end()) return fail(Errc::NotFound, "chunk " + to_hex(id), "no such chunk");
    return it->second;
  }
  Result<bool> has(const ChunkId& id) override {
    MutexLock lock(mu_);
    return chunks_.contains(id);
  }
  Result<void> remove(const ChunkId& id) override {
    MutexLock lock(mu_);
    if (chunks_.erase(id) == 0) return fail(Errc::NotFound, "chunk " + to_hex(id), "no such chunk");
    return {};
  }
  Result<std::vector<ChunkId>> list() override {
    MutexLock lock(mu_);
    std::vector<ChunkId> out;
    out.reserve(chunks_.size());
    for (const auto& [id, chunk] : chunks_) out.push_back(id);
    return out;
  }

 private:
  Mutex mu_;
  std::map<ChunkId, StoredChunk> chunks_ GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<ChunkStore> make_memory_chunk_store() { return std::make_unique<MemoryChunkStore>(); }

PreparedChunk prepare_chunk(const CompressionSpec& spec, std::string_view raw) {
  PreparedChunk out;
  out.id = sha256(raw);
  Encoded encoded = encode(spec, raw);
  out.chunk = StoredChunk{encoded.codec, static_cast<std::uint32_t>(raw.size()), std::move(encoded.stored), 0};
  out.chunk.checksum = xxh3(out.chunk.stored);
  return out;
}

Result<ChunkId> store_prepared(ChunkStore& store, const PreparedChunk& prepared, const Placement& placement) {
  if (ANYFS_TRY(store.has(prepared.id))) return prepared.id;  // stored once per store: dedup
  ANYFS_CHECK(store.put_placed(prepared.id, prepared.chunk, placement));
  return prepared.id;
}

Result<ChunkId> store_chunk(ChunkStore& store, const CompressionSpec& spec, std::string_view raw) {
  if (raw.size() > std::numeric_limits<std::uint32_t>::max())
    return fail(Errc::ArgTooBig, "", "a chunk is at most 4 GiB");
  return store_prepared(store, prepare_chunk(spec, raw));
}

Result<bool> ChunkStore::get_into(const ChunkId& id, std::span<char> out, StoredChunk& chunk) {
  chunk = ANYFS_TRY(get(id));
  if (chunk.codec != Codec::None || chunk.stored.size() != out.size()) return false;
  std::memcpy(out.data(), chunk.stored.data(), out.size());
  chunk.stored.clear();
  return true;
}

Result<bool> load_chunk_into(ChunkStore& store, const ChunkId& id, std::span<char> out, bool verify_id) {
  auto where = [&id] { return "chunk " + to_hex(id); };
  StoredChunk chunk;
  if (ANYFS_TRY(store.get_into(id, out, chunk))) {
    // Stored as is, now in `out`: checked there.
    if (chunk.raw_size != out.size() || xxh3(std::string_view(out.data(), out.size())) != chunk.checksum)
      return fail(Errc::Corrupt, where(), "checksum mismatch of the stored bytes");
  } else {
    if (chunk.raw_size != out.size()) return false;
    if (chunk.stored.empty() && chunk.raw_size != 0) chunk = ANYFS_TRY(store.get(id));
    if (xxh3(chunk.stored) != chunk.checksum) return fail(Errc::Corrupt, where(), "checksum mismatch of the stored bytes");
    auto decoded = decode_into(chunk.codec, chunk.stored, out);
    if (!decoded) return fail(Errc::Corrupt, where(), decoded.error().message);
  }
  if (verify_id && sha256(std::string_view(out.data(), out.size())) != id)
    return fail(Errc::Corrupt, where(), "content does not match its id");
  return true;
}

Result<std::string> load_chunk(ChunkStore& store, const ChunkId& id, bool verify_id) {
  return decode_chunk(id, ANYFS_TRY(store.get(id)), verify_id);
}

Result<ChunkCheck> ChunkStore::check_copies(const ChunkId& id, bool repair) {
  (void)repair;
  ChunkCheck check;
  check.copies = 1;
  auto chunk = get(id);
  if (!chunk && chunk.error().code == Errc::NotFound) return std::unexpected(chunk.error());
  if (chunk) check.bytes_read = chunk->stored.size();
  if (auto good = chunk ? decode_chunk(id, std::move(*chunk), true) : std::unexpected(chunk.error()); !good) {
    check.bad = 1;
    check.lost = true;
    check.problem = good.error().message;
  }
  return check;
}

Result<std::string> decode_chunk(const ChunkId& id, StoredChunk chunk, bool verify_id) {
  auto where = [&id] { return "chunk " + to_hex(id); };
  if (xxh3(chunk.stored) != chunk.checksum) return fail(Errc::Corrupt, where(), "checksum mismatch of the stored bytes");
  std::string raw;
  if (chunk.codec == Codec::None && chunk.stored.size() == chunk.raw_size) {
    raw = std::move(chunk.stored);  // nothing to decode: no copy
  } else {
    auto decoded = decode(chunk.codec, chunk.stored, chunk.raw_size);
    if (!decoded) return fail(Errc::Corrupt, where(), decoded.error().message);
    raw = std::move(*decoded);
  }
  if (verify_id && sha256(raw) != id) return fail(Errc::Corrupt, where(), "content does not match its id");
  return raw;
}

}  // namespace anyfs
