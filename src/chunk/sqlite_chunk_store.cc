// ChunkStore over the `chunks` table of a SQLite file (the pool file itself for
// a single-file pool). A chunk is one row: its id (SHA-256), codec, raw size,
// XXH3 of the stored bytes and the stored bytes. The row is written once and
// never updated (reference counts live with the metadata), so a chunk's bytes
// never move. Reads go through the incremental blob API by rowid.
#include "chunk/sqlite_chunk_store.h"

#include <fmt/format.h>

#include <cstring>
#include <unordered_map>

#include "util/sqlite.h"

namespace anyfs {
namespace {

std::string_view id_bytes(const ChunkId& id) { return {reinterpret_cast<const char*>(id.data()), id.size()}; }

class SqliteChunkStore final : public ChunkStore {
 public:
  explicit SqliteChunkStore(sql::Db& db) : db_(db) {}
  ~SqliteChunkStore() override {
    if (blob_ != nullptr) sqlite3_blob_close(blob_);
  }

  Result<void> put(const ChunkId& id, const StoredChunk& chunk) override {
    auto stmt = ANYFS_TRY(db_.prepare(
        "INSERT INTO chunks(hash, codec, raw_size, checksum, data) VALUES(?1, ?2, ?3, ?4, ?5) "
        "ON CONFLICT(hash) DO NOTHING"));
    stmt.bind_blob(1, id_bytes(id))
        .bind(2, static_cast<int>(chunk.codec))
        .bind(3, chunk.raw_size)
        .bind(4, static_cast<std::int64_t>(chunk.checksum))
        .bind_blob_static(5, chunk.stored);
    return stmt.run();
  }

  Result<StoredChunk> get(const ChunkId& id) override {
    Where where = ANYFS_TRY(locate(id));
    StoredChunk out;
    out.codec = where.codec;
    out.raw_size = where.raw_size;
    out.checksum = where.checksum;
    // The lambda returns the size asked for, not its argument: libstdc++ 12 passes
    // the grown capacity there (a bug a test found).
    const std::size_t size = where.size;
    out.stored.resize_and_overwrite(size, [size](char*, std::size_t) { return size; });
    auto read = read_blob(where.rowid, out.stored);
    // A read-only opener must not keep a read transaction (and its snapshot)
    // open through an idle blob handle.
    if (!db_.in_transaction()) close_blob();
    if (!read) return fail(read.error().code, "chunk " + to_hex(id), read.error().message);
    return out;
  }

  Result<bool> get_into(const ChunkId& id, std::span<char> out, StoredChunk& chunk) override {
    Where where = ANYFS_TRY(locate(id));
    chunk.codec = where.codec;
    chunk.raw_size = where.raw_size;
    chunk.checksum = where.checksum;
    chunk.stored.clear();
    if (where.codec != Codec::None || where.size != out.size()) return false;
    auto read = read_blob(where.rowid, out);
    if (!db_.in_transaction()) close_blob();
    if (!read) return fail(read.error().code, "chunk " + to_hex(id), read.error().message);
    return true;
  }

  Result<bool> has(const ChunkId& id) override {
    auto stmt = ANYFS_TRY(db_.prepare("SELECT 1 FROM chunks WHERE hash = ?1"));
    stmt.bind_blob(1, id_bytes(id));
    return stmt.step();
  }

  void release_handles() override { close_blob(); }

  void drop_caches() override {
    where_.clear();
    close_blob();
  }

  Result<void> remove(const ChunkId& id) override {
    close_blob();
    where_.erase(id);
    auto stmt = ANYFS_TRY(db_.prepare("DELETE FROM chunks WHERE hash = ?1"));
    stmt.bind_blob(1, id_bytes(id));
    ANYFS_CHECK(stmt.run());
    if (db_.changes() == 0) return fail(Errc::NotFound, "", fmt::format("chunk {} is missing", to_hex(id)));
    return {};
  }

  Result<std::vector<ChunkId>> list() override {
    auto stmt = ANYFS_TRY(db_.prepare("SELECT hash FROM chunks ORDER BY hash"));
    std::vector<ChunkId> out;
    while (ANYFS_TRY(stmt.step())) {
      auto bytes = stmt.column_blob(0);
      if (bytes.size() != 32) return fail(Errc::Corrupt, "", "a chunk row's id is not 32 bytes");
      ChunkId id{};
      std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(id.data()));
      out.push_back(id);
    }
    return out;
  }

 private:
  // Where a chunk's row is and what the row says about it, cached: rows are
  // written once and never change until gc removes them.
  struct Where {
    std::int64_t rowid;
    Codec codec;
    std::uint32_t raw_size;
    std::uint64_t checksum;
    std::size_t size;
  };
  static constexpr std::size_t k_where_limit = 1 << 17;

  Result<Where> locate(const ChunkId& id) {
    if (auto it = where_.find(id); it != where_.end()) return it->second;
    auto stmt =
        ANYFS_TRY(db_.prepare("SELECT id, codec, raw_size, checksum, length(data) FROM chunks WHERE hash = ?1"));
    stmt.bind_blob(1, id_bytes(id));
    if (!ANYFS_TRY(stmt.step())) return fail(Errc::NotFound, "", fmt::format("chunk {} is missing", to_hex(id)));
    Where w{stmt.column_int(0), static_cast<Codec>(stmt.column_int(1)), static_cast<std::uint32_t>(stmt.column_int(2)),
            stmt.column_u64(3), static_cast<std::size_t>(stmt.column_int(4))};
    if (where_.size() >= k_where_limit) where_.clear();
    where_.emplace(id, w);
    return w;
  }

  // One blob handle, moved from row to row with sqlite3_blob_reopen (cheaper than
  // a SELECT of the bytes).
  Result<void> read_blob(std::int64_t rowid, std::span<char> out) {
    int rc = SQLITE_OK;
    if (blob_ == nullptr)
      rc = sqlite3_blob_open(db_.handle(), "main", "chunks", "data", rowid, 0, &blob_);
    else
      rc = sqlite3_blob_reopen(blob_, rowid);
    if (rc != SQLITE_OK) {
      close_blob();
      return std::unexpected(db_.error(rc, "read chunk"));
    }
    if (static_cast<std::size_t>(sqlite3_blob_bytes(blob_)) != out.size())
      return fail(Errc::Corrupt, "", "chunk row changed size while read");
    rc = sqlite3_blob_read(blob_, out.data(), static_cast<int>(out.size()), 0);
    if (rc != SQLITE_OK) {
      close_blob();
      return std::unexpected(db_.error(rc, "read chunk"));
    }
    return {};
  }
  void close_blob() {
    if (blob_ != nullptr) sqlite3_blob_close(blob_);
    blob_ = nullptr;
  }

  sql::Db& db_;
  sqlite3_blob* blob_ = nullptr;
  std::unordered_map<ChunkId, Where, ChunkIdHash> where_;
};

}  // namespace

std::unique_ptr<ChunkStore> make_sqlite_chunk_store(sql::Db& db) { return std::make_unique<SqliteChunkStore>(db); }

Result<void> create_chunk_table(sql::Db& db) {
  return db.exec(
      "CREATE TABLE chunks(id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, codec INTEGER NOT NULL, "
      "raw_size INTEGER NOT NULL, checksum INTEGER NOT NULL, data BLOB NOT NULL)");
}

}  // namespace anyfs
