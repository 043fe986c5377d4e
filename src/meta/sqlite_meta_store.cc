// MetaStore over SQLite (schema in meta/schema.cc). Chunk reference changes are
// summed in memory and written once per chunk when the transaction commits (or
// before anything reads them), so a file of many extents costs one refcount
// update per distinct chunk, not one per extent.
#include <cstring>
#include <map>
#include <unordered_map>

#include "meta/meta_store.h"
#include "meta/record_keeping.h"
#include "meta/sqlite_rows.h"
#include <fmt/format.h>
#include "util/clock.h"
#include "util/sqlite.h"

namespace anyfs {
namespace {
using namespace sqlrows;

class SqliteMetaStore final : public MetaStore {
 public:
  explicit SqliteMetaStore(sql::Db& db) : db_(db) {}

  Result<void> begin() override {
    if (db_.in_transaction()) return {};
    return db_.exec("BEGIN IMMEDIATE");
  }
  Result<void> commit() override {
    if (!db_.in_transaction()) return {};
    ANYFS_CHECK(flush_refs());
    return db_.exec("COMMIT");
  }
  Result<void> rollback() override {
    keeping_.forget();
    if (!db_.in_transaction()) return {};
    return db_.exec("ROLLBACK");
  }
  bool in_transaction() const override { return const_cast<sql::Db&>(db_).in_transaction(); }

  Result<std::int64_t> begin_snapshot() override {
    ANYFS_CHECK(db_.exec("BEGIN"));
    // BEGIN is deferred: the first read takes the snapshot.
    auto version = [&]() -> Result<std::int64_t> {
      ANYFS_TRY(db_.query_int("SELECT count(*) FROM settings WHERE key = 'uuid'"));
      return data_version();
    }();
    if (!version) (void)db_.exec("ROLLBACK");
    return version;
  }
  Result<void> end_snapshot() override { return db_.exec("COMMIT"); }
  Result<std::int64_t> data_version() override {

    return ANYFS_TRY(db_.query_int("PRAGMA data_version")).value_or(0);
  }
  Result<std::uint64_t> free_bytes() override {
    if (page_size_ == 0) page_size_ = ANYFS_TRY(db_.query_int("PRAGMA page_size")).value_or(0);
    const auto pages = ANYFS_TRY(db_.query_int("PRAGMA freelist_count")).value_or(0);
    return static_cast<std::uint64_t>(pages * page_size_);
  }

  Result<std::optional<std::string>> setting(std::string_view key) override {
    auto stmt = ANYFS_TRY(db_.prepare("SELECT value FROM settings WHERE key = ?1"));
    stmt.bind_text(1, key);
    if (!ANYFS_TRY(stmt.step())) return std::optional<std::string>();
    return std::optional<std::string>(stmt.column_string(0));
  }
  Result<void> set_setting(std::string_view key, std::string_view value) override {
    auto stmt = ANYFS_TRY(db_.prepare("INSERT OR REPLACE INTO settings(key, value) VALUES(?1, ?2)"));
    stmt.bind_text(1, key).bind_text(2, value);
    return stmt.run();
  }
  Result<Tid> max_tid() override {
    Tid best = 0;
    for (const char* q : {"SELECT max(tid) FROM txlog", "SELECT max(tid_from) FROM inodes",
                          "SELECT max(created_tid) FROM datasets"}) {
      auto v = ANYFS_TRY(db_.query_int(q));
      if (v) best = std::max<Tid>(best, static_cast<Tid>(*v));
    }
    return best;
  }
  Result<Ino> max_ino() override {
    auto v = ANYFS_TRY(db_.query_int("SELECT max(ino) FROM inodes"));
    return static_cast<Ino>(v.value_or(0));
  }

  Result<std::vector<DatasetRecord>> datasets() override {
    auto stmt = ANYFS_TRY(db_.prepare("SELECT id, name, created_tid FROM datasets ORDER BY name"));
    std::vector<DatasetRecord> out;
    while (ANYFS_TRY(stmt.step())) out.push_back({stmt.column_u64(0), stmt.column_string(1), stmt.column_u64(2)});
    return out;
  }
  Result<DatasetId> create_dataset(std::string_view name, Tid tid) override {
    auto stmt = ANYFS_TRY(db_.prepare("INSERT INTO datasets(name, created_tid) VALUES(?1, ?2)"));
    stmt.bind_text(1, name).bind(2, tid);
    ANYFS_CHECK(stmt.run());
    return static_cast<DatasetId>(db_.last_insert_rowid());
  }
  Result<std::optional<std::string>> property(DatasetId ds, std::string_view name) override {
    auto stmt = ANYFS_TRY(db_.prepare("SELECT value FROM properties WHERE ds = ?1 AND name = ?2"));
    stmt.bind(1, ds).bind_text(2, name);
    if (!ANYFS_TRY(stmt.step())) return std::optional<std::string>();
    return std::optional<std::string>(stmt.column_string(0));
  }
  Result<void> set_property(DatasetId ds, std::string_view name, std::optional<std::string_view> value) override {
    if (!value) {
      auto stmt = ANYFS_TRY(db_.prepare("DELETE FROM properties WHERE ds = ?1 AND name = ?2"));
      stmt.bind(1, ds).bind_text(2, name);
      return stmt.run();
    }
    auto stmt = ANYFS_TRY(db_.prepare("INSERT OR REPLACE INTO properties(ds, name, value) VALUES(?1, ?2, ?3)"));
    stmt.bind(1, ds).bind_text(2, name).bind_text(3, *value);
    return stmt.run();
  }
  Result<std::vector<std::pair<std::string, std::string>>> properties(DatasetId ds) override {
    auto stmt = ANYFS_TRY(db_.prepare("SELECT name, value FROM properties WHERE ds = ?1 ORDER BY name"));
    stmt.bind(1, ds);
    std::vector<std::pair<std::string, std::string>> out;
    while (ANYFS_TRY(stmt.step())) out.emplace_back(stmt.column_string(0), stmt.column_string(1));
    return out;
  }
  void set_pin(DatasetId ds, Tid pin) override { keeping_.set_pin(ds, pin); }
  void set_txg_floor(Tid committed) override { keeping_.set_txg_floor(committed); }
  void adjust_refs(const ChunkId& chunk, std::int64_t delta) override { keeping_.add_ref(chunk, delta); }

  // --- Inodes ---
  Result<std::optional<InodeRecord>> inode(DatasetId ds, Ino ino, Tid at) override {
    auto stmt = ANYFS_TRY(db_.prepare(std::string("SELECT ") + k_inode_columns + " FROM inodes WHERE ds = ?1 AND ino = ?2 AND " +
                                      (at == k_tid_live ? "tid_to = ?3" : "tid_to > ?3 AND +tid_from <= ?3")));
    stmt.bind(1, ds).bind(2, ino).bind(3, at);
    if (!ANYFS_TRY(stmt.step())) return std::optional<InodeRecord>();
    return std::optional<InodeRecord>(inode_row(stmt));
  }

  Result<void> put_inode(DatasetId ds, const InodeRecord& r, Tid tid) override {
    ANYFS_CHECK(close_for_replace("inodes", "ino", ds, r.ino, nullptr, tid));
    auto stmt = ANYFS_TRY(db_.prepare(
        "INSERT INTO inodes(ds, ino, tid_to, tid_from, kind, mode, uid, gid, nlink, size, atime, mtime, ctime, btime, "
        "rdev, target, project, generation) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
        "?16, ?17, ?18) ON CONFLICT(ds, ino, tid_to) DO UPDATE SET tid_from = excluded.tid_from, kind = excluded.kind, "
        "mode = excluded.mode, uid = excluded.uid, gid = excluded.gid, nlink = excluded.nlink, size = excluded.size, "
        "atime = excluded.atime, mtime = excluded.mtime, ctime = excluded.ctime, btime = excluded.btime, "
        "rdev = excluded.rdev, target = excluded.target, project = excluded.project, "
        "generation = excluded.generation"));
    stmt.bind_all(ds, r.ino, k_live, tid, static_cast<int>(r.kind), r.mode, r.uid, r.gid, r.nlink, r.size, r.atime_ns,
                  r.mtime_ns, r.ctime_ns, r.btime_ns, r.rdev, std::string_view(r.target), r.project, r.generation);
    return stmt.run();
  }

  Result<void> drop_inode(DatasetId ds, Ino ino, Tid tid) override {
    ANYFS_CHECK(close_rows("xattrs", "ino", ds, ino, nullptr, tid));
    // Extent by extent, so that each removed row gives its reference back.
    for (const auto& e : ANYFS_TRY(extents(ds, ino, 0, k_max_file_size, k_tid_live))) ANYFS_CHECK(drop_extent(ds, ino, e.offset, tid));
    return close_rows("inodes", "ino", ds, ino, nullptr, tid);
  }

  Result<std::vector<Ino>> unlinked_inodes(DatasetId ds) override {
    auto stmt = ANYFS_TRY(db_.prepare("SELECT ino FROM inodes WHERE ds = ?1 AND tid_to = ?2 AND nlink = 0"));
    stmt.bind(1, ds).bind(2, k_live);
    std::vector<Ino> out;
    while (ANYFS_TRY(stmt.step())) out.push_back(stmt.column_u64(0));
    return out;
  }

  // --- Directory entries ---
  Result<std::optional<DirentRecord>> lookup(DatasetId ds, Ino parent, std::string_view name, Tid at) override {
    // As of T: the live row if it was born by T, else a closed one through the
    // dirents_closed index (a range on tid_to would scan the whole directory).
    auto stmt = ANYFS_TRY(db_.prepare(
        at == k_tid_live
            ? "SELECT ino, kind FROM dirents WHERE ds = ?1 AND parent = ?2 AND tid_to = ?3 AND name = ?4"
            : "SELECT ino, kind FROM dirents WHERE ds = ?1 AND parent = ?2 AND tid_to = 9223372036854775807 "
              "AND name = ?4 AND +tid_from <= ?3 UNION ALL SELECT ino, kind FROM dirents INDEXED BY dirents_closed "
              "WHERE ds = ?1 AND parent = ?2 AND name = ?4 AND tid_to > ?3 AND tid_to < 9223372036854775807 "
              "AND tid_from <= ?3 LIMIT 1"));
    stmt.bind(1, ds).bind(2, parent).bind(3, at).bind_blob(4, name);
    if (!ANYFS_TRY(stmt.step())) return std::optional<DirentRecord>();
    return std::optional<DirentRecord>(
        DirentRecord{parent, std::string(name), stmt.column_u64(0), static_cast<FileKind>(stmt.column_int(1))});
  }
  Result<std::vector<DirentRecord>> list_dir(DatasetId ds, Ino parent, Tid at) override {
    auto stmt = ANYFS_TRY(db_.prepare(
        at == k_tid_live
            ? "SELECT name, ino, kind FROM dirents WHERE ds = ?1 AND parent = ?2 AND tid_to = ?3 ORDER BY name"
            : "SELECT name, ino, kind FROM dirents WHERE ds = ?1 AND parent = ?2 AND tid_to > ?3 AND +tid_from <= ?3 "
              "ORDER BY name"));
    stmt.bind(1, ds).bind(2, parent).bind(3, at);
    std::vector<DirentRecord> out;
    while (ANYFS_TRY(stmt.step()))
      out.push_back({parent, stmt.column_string(0), stmt.column_u64(1), static_cast<FileKind>(stmt.column_int(2))});
    return out;
  }
  Result<bool> has_entries(DatasetId ds, Ino parent, Tid at) override {
    auto stmt = ANYFS_TRY(db_.prepare(
        at == k_tid_live ? "SELECT 1 FROM dirents WHERE ds = ?1 AND parent = ?2 AND tid_to = ?3 LIMIT 1"
                         : "SELECT 1 FROM dirents WHERE ds = ?1 AND parent = ?2 AND tid_to > ?3 AND +tid_from <= ?3 "
                           "LIMIT 1"));
    stmt.bind(1, ds).bind(2, parent).bind(3, at);
    return stmt.step();
  }
  Result<void> put_dirent(DatasetId ds, const DirentRecord& e, Tid tid) override {
    ANYFS_CHECK(close_for_replace("dirents", "parent", ds, e.parent, &e.name, tid));
    auto stmt = ANYFS_TRY(
        db_.prepare("INSERT INTO dirents(ds, parent, tid_to, name, tid_from, ino, kind) VALUES(?1, ?2, ?3, ?4, ?5, ?6, "
                    "?7) ON CONFLICT(ds, parent, tid_to, name) DO UPDATE SET tid_from = excluded.tid_from, "
                    "ino = excluded.ino, kind = excluded.kind"));
    stmt.bind_all(ds, e.parent, k_live, std::string_view(e.name), tid, e.ino, static_cast<int>(e.kind));
    return stmt.run();
  }
  Result<void> drop_dirent(DatasetId ds, Ino parent, std::string_view name, Tid tid) override {
    std::string key(name);
    return close_rows("dirents", "parent", ds, parent, &key, tid);
  }

  // --- Extents ---
  Result<std::vector<ExtentRecord>> extents(DatasetId ds, Ino ino, std::uint64_t from, std::uint64_t to,
                                            Tid at) override {
    // As of T the rows of every version after T are in the key range: filter them.
    auto stmt = ANYFS_TRY(db_.prepare(
        at == k_tid_live
            ? "SELECT offset, length, chunk, chunk_offset FROM extents WHERE ds = ?1 AND ino = ?2 AND tid_to = ?3 "
              "AND offset < ?5 AND offset >= coalesce((SELECT max(offset) FROM extents WHERE ds = ?1 AND ino = ?2 "
              "AND tid_to = ?3 AND offset <= ?4), 0) ORDER BY offset"
            : "SELECT offset, length, chunk, chunk_offset FROM extents WHERE ds = ?1 AND ino = ?2 AND tid_to > ?3 "
              "AND +tid_from <= ?3 AND offset < ?5 ORDER BY offset"));
    stmt.bind_all(ds, ino, at, from, to);
    std::vector<ExtentRecord> out;
    while (ANYFS_TRY(stmt.step())) {
      ExtentRecord e;
      e.ino = ino;
      e.offset = stmt.column_u64(0);
      e.length = stmt.column_u64(1);
      e.chunk = ANYFS_TRY(id_from(stmt.column_blob(2)));
      e.chunk_offset = stmt.column_u64(3);
      if (e.end() > from) out.push_back(e);
    }
    return out;
  }
  Result<void> put_extent(DatasetId ds, const ExtentRecord& e, Tid tid) override {
    auto stmt = ANYFS_TRY(db_.prepare(
        "INSERT INTO extents(ds, ino, tid_to, offset, tid_from, length, chunk, chunk_offset) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
    stmt.bind_all(ds, e.ino, k_live, e.offset, tid, e.length, id_bytes(e.chunk), e.chunk_offset);
    ANYFS_CHECK(stmt.run());
    keeping_.add_ref(e.chunk, 1);
    return {};
  }
  Result<void> drop_extent(DatasetId ds, Ino ino, std::uint64_t offset, Tid tid) override {
    auto stmt = ANYFS_TRY(
        db_.prepare("SELECT chunk, tid_from FROM extents WHERE ds = ?1 AND ino = ?2 AND tid_to = ?3 AND offset = ?4"));
    stmt.bind_all(ds, ino, k_live, offset);
    if (!ANYFS_TRY(stmt.step())) return fail(Errc::Corrupt, "", "dropping an extent that is not there");
    ChunkId chunk = ANYFS_TRY(id_from(stmt.column_blob(0)));
    Tid born = stmt.column_u64(1);
    if (born <= keeping_.keep_to(ds)) {
      auto close = ANYFS_TRY(db_.prepare(
          "UPDATE extents SET tid_to = ?5 WHERE ds = ?1 AND ino = ?2 AND tid_to = ?3 AND offset = ?4"));
      close.bind_all(ds, ino, k_live, offset, tid);
      return close.run();
    }
    auto del = ANYFS_TRY(db_.prepare("DELETE FROM extents WHERE ds = ?1 AND ino = ?2 AND tid_to = ?3 AND offset = ?4"));
    del.bind_all(ds, ino, k_live, offset);
    ANYFS_CHECK(del.run());
    keeping_.add_ref(chunk, -1);
    return {};
  }

  // --- Extended attributes ---
  Result<std::optional<std::string>> xattr(DatasetId ds, Ino ino, std::string_view name, Tid at) override {
    auto stmt = ANYFS_TRY(db_.prepare(
        at == k_tid_live ? "SELECT value FROM xattrs WHERE ds = ?1 AND ino = ?2 AND tid_to = ?3 AND name = ?4"
                         : "SELECT value FROM xattrs WHERE ds = ?1 AND ino = ?2 AND tid_to > ?3 AND +tid_from <= ?3 "
                           "AND name = ?4"));
    stmt.bind(1, ds).bind(2, ino).bind(3, at).bind_blob(4, name);
    if (!ANYFS_TRY(stmt.step())) return std::optional<std::string>();
    return std::optional<std::string>(stmt.column_string(0));
  }
  Result<std::vector<std::pair<std::string, std::string>>> xattrs(DatasetId ds, Ino ino, Tid at) override {
    auto stmt = ANYFS_TRY(db_.prepare(
        at == k_tid_live
            ? "SELECT name, value FROM xattrs WHERE ds = ?1 AND ino = ?2 AND tid_to = ?3 ORDER BY name"
            : "SELECT name, value FROM xattrs WHERE ds = ?1 AND ino = ?2 AND tid_to > ?3 AND +tid_from <= ?3 "
              "ORDER BY name"));
    stmt.bind(1, ds).bind(2, ino).bind(3, at);
    std::vector<std::pair<std::string, std::string>> out;
    while (ANYFS_TRY(stmt.step())) out.emplace_back(stmt.column_string(0), stmt.column_string(1));
    return out;
  }
  Result<void> put_xattr(DatasetId ds, Ino ino, std::string_view name, std::string_view value, Tid tid) override {
    std::string key(name);
    ANYFS_CHECK(close_for_replace("xattrs", "ino", ds, ino, &key, tid));
    auto stmt = ANYFS_TRY(
        db_.prepare("INSERT INTO xattrs(ds, ino, tid_to, name, tid_from, value) VALUES(?1, ?2, ?3, ?4, ?5, ?6) "
                    "ON CONFLICT(ds, ino, tid_to, name) DO UPDATE SET tid_from = excluded.tid_from, "
                    "value = excluded.value"));
    stmt.bind_all(ds, ino, k_live, name, tid, value);
    return stmt.run();
  }
  Result<void> drop_xattr(DatasetId ds, Ino ino, std::string_view name, Tid tid) override {
    std::string key(name);
    return close_rows("xattrs", "ino", ds, ino, &key, tid);
  }

  // --- Chunk references ---
  Result<std::int64_t> refs(const ChunkId& chunk) override {
    ANYFS_CHECK(flush_refs());
    auto stmt = ANYFS_TRY(db_.prepare("SELECT refs FROM chunk_refs WHERE chunk = ?1"));
    stmt.bind_blob(1, id_bytes(chunk));
    if (!ANYFS_TRY(stmt.step())) return std::int64_t{0};
    return stmt.column_int(0);
  }
  Result<std::vector<ChunkId>> unreferenced(std::int64_t before_ns) override {
    ANYFS_CHECK(flush_refs());
    auto stmt = ANYFS_TRY(db_.prepare("SELECT chunk FROM chunk_refs WHERE refs <= 0 AND zero_since < ?1"));
    stmt.bind(1, before_ns);
    std::vector<ChunkId> out;
    while (ANYFS_TRY(stmt.step())) out.push_back(ANYFS_TRY(id_from(stmt.column_blob(0))));
    return out;
  }
  Result<void> forget_chunk(const ChunkId& chunk) override {
    ANYFS_CHECK(flush_refs());
    auto stmt = ANYFS_TRY(db_.prepare("DELETE FROM chunk_refs WHERE chunk = ?1"));
    stmt.bind_blob(1, id_bytes(chunk));
    return stmt.run();
  }
  Result<std::vector<ChunkId>> take_released() override {
    ANYFS_CHECK(flush_refs());
    return keeping_.take_released([&](const ChunkId& chunk) { return refs(chunk); });
  }
  Result<void> for_each_ref(const std::function<Result<void>(const ChunkRef&)>& fn) override {
    ANYFS_CHECK(flush_refs());
    auto stmt = ANYFS_TRY(db_.prepare("SELECT chunk, refs, zero_since FROM chunk_refs ORDER BY chunk"));
    while (ANYFS_TRY(stmt.step()))
      ANYFS_CHECK(fn({ANYFS_TRY(id_from(stmt.column_blob(0))), stmt.column_int(1), stmt.column_int(2)}));
    return {};
  }
  Result<void> for_each_extent(const std::function<Result<void>(DatasetId, const ExtentRecord&)>& fn,
                               bool closed) override {
    auto stmt = ANYFS_TRY(db_.prepare(closed ? "SELECT ds, ino, offset, length, chunk, chunk_offset FROM extents "
                                               "WHERE tid_to <= ?1 ORDER BY ds, ino, offset"
                                             : "SELECT ds, ino, offset, length, chunk, chunk_offset FROM extents "
                                               "WHERE tid_to = ?1 ORDER BY ds, ino, offset"));
    stmt.bind(1, k_live);
    while (ANYFS_TRY(stmt.step())) {
      ExtentRecord e;
      e.ino = stmt.column_u64(1);
      e.offset = stmt.column_u64(2);
      e.length = stmt.column_u64(3);
      e.chunk = ANYFS_TRY(id_from(stmt.column_blob(4)));
      e.chunk_offset = stmt.column_u64(5);
      ANYFS_CHECK(fn(stmt.column_u64(0), e));
    }
    return {};
  }
  Result<void> for_each_inode(const std::function<Result<void>(DatasetId, const InodeRecord&)>& fn) override {
    auto stmt = ANYFS_TRY(db_.prepare(std::string("SELECT ") + k_inode_columns +
                                      ", ds FROM inodes WHERE tid_to = ?1 ORDER BY ds, ino"));
    stmt.bind(1, k_live);
    while (ANYFS_TRY(stmt.step())) ANYFS_CHECK(fn(stmt.column_u64(16), inode_row(stmt)));
    return {};
  }
  Result<void> for_each_dirent(const std::function<Result<void>(DatasetId, const DirentRecord&)>& fn) override {
    auto stmt = ANYFS_TRY(db_.prepare("SELECT ds, parent, name, ino, kind FROM dirents WHERE tid_to = ?1"));
    stmt.bind(1, k_live);
    while (ANYFS_TRY(stmt.step())) {
      DirentRecord e{stmt.column_u64(1), stmt.column_string(2), stmt.column_u64(3),
                     static_cast<FileKind>(stmt.column_int(4))};
      ANYFS_CHECK(fn(stmt.column_u64(0), e));
    }
    return {};
  }

  Result<void> log(const TxlogEntry& entry) override {
    auto stmt = ANYFS_TRY(
        db_.prepare("INSERT OR REPLACE INTO txlog(tid, time, ds, op, detail) VALUES(?1, ?2, ?3, ?4, ?5)"));
    stmt.bind(1, entry.tid).bind(2, entry.time_ns).bind(3, entry.dataset).bind_text(4, entry.op).bind_text(
        5, entry.detail);
    return stmt.run();
  }

 private:
  // Before a replace of the live row (owner, key): a row something can still see
  // is closed at `tid`; otherwise the insert overwrites it.
  Result<void> close_for_replace(const char* table, const char* owner_col, DatasetId ds, std::uint64_t owner,
                                 const std::string* key, Tid tid) {
    Tid keep = keeping_.keep_to(ds);
    if (keep == 0) return {};
    auto stmt = ANYFS_TRY(db_.prepare(fmt_close(table, owner_col, key != nullptr ? "name" : nullptr, "UPDATE")));
    stmt.bind(1, ds).bind(2, owner).bind(3, k_live).bind(4, tid).bind(6, keep);
    if (key != nullptr) stmt.bind_blob(5, *key);
    return stmt.run();
  }

  // Closes the live row(s) (owner[, key]) at `tid`: kept closed while something
  // can see them, removed at once otherwise.
  Result<void> close_rows(const char* table, const char* owner_col, DatasetId ds, std::uint64_t owner,
                          const std::string* key, Tid tid) {
    const char* key_col = key != nullptr ? "name" : nullptr;
    if (Tid keep = keeping_.keep_to(ds); keep != 0) {
      auto stmt = ANYFS_TRY(db_.prepare(fmt_close(table, owner_col, key_col, "UPDATE")));
      stmt.bind(1, ds).bind(2, owner).bind(3, k_live).bind(4, tid).bind(6, keep);
      if (key != nullptr) stmt.bind_blob(5, *key);
      ANYFS_CHECK(stmt.run());
    }
    auto stmt = ANYFS_TRY(db_.prepare(fmt_close(table, owner_col, key_col, "DELETE")));
    stmt.bind(1, ds).bind(2, owner).bind(3, k_live).bind(4, tid);
    if (key != nullptr) stmt.bind_blob(5, *key);
    return stmt.run();
  }

  // UPDATE: close at ?4 the rows born at or before ?6; DELETE: remove the live
  // rows UPDATE left.
  std::string fmt_close(const char* table, const char* owner_col, const char* key_col, const char* verb) const {
    std::string where = std::string("ds = ?1 AND ") + owner_col + " = ?2 AND tid_to = ?3";
    if (key_col != nullptr) where += std::string(" AND ") + key_col + " = ?5";
    if (std::string_view(verb) == "UPDATE")
      return std::string("UPDATE ") + table + " SET tid_to = ?4 WHERE " + where + " AND tid_from <= ?6";
    return std::string("DELETE FROM ") + table + " WHERE " + where;
  }

  // A chunk whose changes sum to 0 still gets its row when it has none: it was
  // stored and let go inside one transaction (data flushed, then overwritten),
  // and without a row it would be an orphan that only gc finds.
  // --- Resumable receives ---
  Result<std::optional<PartialReceive>> partial_receive(std::string_view target) override {
    auto stmt = ANYFS_TRY(db_.prepare("SELECT token, bytes, pieces FROM receive_partial WHERE target = ?1"));
    stmt.bind_text(1, target);
    if (!ANYFS_TRY(stmt.step())) return std::optional<PartialReceive>();
    return std::optional<PartialReceive>(PartialReceive{stmt.column_string(0), stmt.column_u64(1), stmt.column_u64(2)});
  }
  Result<void> spool(std::string_view target, const PartialReceive& partial, std::string_view bytes) override {
    auto piece = ANYFS_TRY(db_.prepare("INSERT INTO receive_spool(target, seq, data) VALUES(?1, ?2, ?3)"));
    piece.bind_text(1, target).bind(2, partial.pieces - 1).bind_blob(3, bytes);
    ANYFS_CHECK(piece.run());
    auto row = ANYFS_TRY(db_.prepare("INSERT OR REPLACE INTO receive_partial(target, token, bytes, pieces) "
                                     "VALUES(?1, ?2, ?3, ?4)"));
    row.bind_text(1, target).bind_text(2, partial.token).bind(3, partial.bytes).bind(4, partial.pieces);
    return row.run();
  }
  Result<std::string> spool_piece(std::string_view target, std::uint64_t seq) override {
    auto stmt = ANYFS_TRY(db_.prepare("SELECT data FROM receive_spool WHERE target = ?1 AND seq = ?2"));
    stmt.bind_text(1, target).bind(2, seq);
    if (!ANYFS_TRY(stmt.step()))
      return fail(Errc::Corrupt, std::string(target), fmt::format("piece {} of a resumable receive is missing", seq));
    return std::string(stmt.column_blob(0));
  }
  Result<void> drop_partial_receive(std::string_view target) override {
    auto pieces = ANYFS_TRY(db_.prepare("DELETE FROM receive_spool WHERE target = ?1"));
    pieces.bind_text(1, target);
    ANYFS_CHECK(pieces.run());
    auto row = ANYFS_TRY(db_.prepare("DELETE FROM receive_partial WHERE target = ?1"));
    row.bind_text(1, target);
    return row.run();
  }

  Result<void> flush_refs() {
    std::int64_t now = wall_clock_ns();
    std::vector<ChunkId> released;
    for (const auto& [chunk, delta] : keeping_.pending_refs()) {
      auto stmt = ANYFS_TRY(db_.prepare(
          "INSERT INTO chunk_refs(chunk, refs, zero_since) VALUES(?1, ?2, CASE WHEN ?2 <= 0 THEN ?3 ELSE 0 END) "
          "ON CONFLICT(chunk) DO UPDATE SET refs = refs + excluded.refs, "
          "zero_since = CASE WHEN refs + excluded.refs <= 0 THEN ?3 ELSE 0 END WHERE excluded.refs != 0 "
          "RETURNING refs"));
      stmt.bind_blob(1, id_bytes(chunk)).bind(2, delta).bind(3, now);
      const bool returned = ANYFS_TRY(stmt.step());
      if ((returned && stmt.column_int(0) <= 0) || (!returned && delta == 0)) released.push_back(chunk);
      ANYFS_CHECK(stmt.run());
    }
    keeping_.written(std::move(released));
    return {};
  }

  sql::Db& db_;
  RecordKeeping keeping_;
  std::int64_t page_size_ = 0;  // fixed for the life of a file  // counts flush_refs brought to 0 (see take_released)
};

}  // namespace

std::unique_ptr<MetaStore> make_sqlite_meta_store(sql::Db& db) { return std::make_unique<SqliteMetaStore>(db); }

}  // namespace anyfs
