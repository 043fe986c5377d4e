// MetaStore over PostgreSQL. The rules are the SQLite store's (a live row has
// tid_to = 2^63-1; a changed row is closed when something can still see it and
// removed otherwise; chunk reference changes summed in memory and written once
// per chunk at commit); only the SQL differs. Every statement is prepared once
// per connection (pg::Db::run) and takes and returns binary values.
#include "meta/pg/pg_meta_store.h"

#include <fmt/format.h>

#include <cstring>
#include <map>
#include <unordered_map>

#include "meta/pg/pg_db.h"
#include "meta/pg/pg_rows.h"
#include "meta/record_keeping.h"
#include "util/clock.h"

namespace anyfs {
namespace {

using namespace pgrows;

ExtentRecord extent_row(const Rows& rows, int r, int first, Ino ino) {
  ExtentRecord e;
  e.ino = ino;
  e.offset = rows.u64(r, first);
  e.length = rows.u64(r, first + 1);
  e.chunk_offset = rows.u64(r, first + 3);
  return e;
}

class PgMetaStore final : public MetaStore {
 public:
  explicit PgMetaStore(pg::Db& db) : db_(db) {}

  Result<void> begin() override {
    if (db_.in_transaction()) return {};
    return db_.exec("BEGIN");
  }
  Result<void> commit() override {
    if (!db_.in_transaction()) return {};
    auto flushed = flush_refs();
    if (!flushed) {
      (void)rollback();
      return flushed;
    }
    return db_.exec("COMMIT");
  }
  Result<void> rollback() override {
    keeping_.forget();
    if (!db_.in_transaction()) return {};
    return db_.exec("ROLLBACK");
  }
  bool in_transaction() const override { return db_.in_transaction(); }

  Result<std::int64_t> begin_snapshot() override {
    // REPEATABLE READ: the snapshot is taken at the first statement and held.
    ANYFS_CHECK(db_.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    auto version = data_version();
    if (!version) (void)db_.exec("ROLLBACK");
    return version;
  }
  Result<void> end_snapshot() override { return db_.exec("COMMIT"); }
  // The snapshot's horizon: it moves whenever a transaction of the server
  // ends, so a reader drops caches at least when another client committed.
  Result<std::int64_t> data_version() override {
    auto rows = ANYFS_TRY(db_.run("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint"));
    return rows.i64(0, 0);
  }
  // PostgreSQL reuses dead rows' space through VACUUM; none is reported here.
  Result<std::uint64_t> free_bytes() override { return std::uint64_t{0}; }

  Result<std::optional<std::string>> setting(std::string_view key) override {
    auto rows = ANYFS_TRY(db_.run("SELECT value FROM settings WHERE key = $1", {key}));
    if (rows.empty()) return std::optional<std::string>();
    return std::optional<std::string>(rows.str(0, 0));
  }
  Result<void> set_setting(std::string_view key, std::string_view value) override {
    ANYFS_TRY(db_.run("INSERT INTO settings(key, value) VALUES($1, $2) ON CONFLICT(key) DO UPDATE SET value = "
                      "excluded.value",
                      {key, Bytes{value}}));
    return {};
  }
  Result<Tid> max_tid() override {
    auto rows = ANYFS_TRY(db_.run("SELECT greatest((SELECT max(tid) FROM txlog), (SELECT max(tid_from) FROM inodes), "
                                  "(SELECT max(created_tid) FROM datasets), 0)"));
    return static_cast<Tid>(rows.i64(0, 0));
  }
  Result<Ino> max_ino() override {
    auto rows = ANYFS_TRY(db_.run("SELECT coalesce(max(ino), 0) FROM inodes"));
    return static_cast<Ino>(rows.i64(0, 0));
  }

  Result<std::vector<DatasetRecord>> datasets() override {
    auto rows = ANYFS_TRY(db_.run("SELECT id, name, created_tid FROM datasets ORDER BY name COLLATE \"C\""));
    std::vector<DatasetRecord> out;
    for (int r = 0; r < rows.size(); ++r) out.push_back({rows.u64(r, 0), rows.str(r, 1), rows.u64(r, 2)});
    return out;
  }
  Result<DatasetId> create_dataset(std::string_view name, Tid tid) override {
    auto rows = ANYFS_TRY(
        db_.run("INSERT INTO datasets(name, created_tid) VALUES($1, $2) RETURNING id", {name, i(tid)}));
    return static_cast<DatasetId>(rows.i64(0, 0));
  }
  Result<std::optional<std::string>> property(DatasetId ds, std::string_view name) override {
    auto rows = ANYFS_TRY(db_.run("SELECT value FROM properties WHERE ds = $1 AND name = $2", {i(ds), name}));
    if (rows.empty()) return std::optional<std::string>();
    return std::optional<std::string>(rows.str(0, 0));
  }
  Result<void> set_property(DatasetId ds, std::string_view name, std::optional<std::string_view> value) override {
    if (!value) {
      ANYFS_TRY(db_.run("DELETE FROM properties WHERE ds = $1 AND name = $2", {i(ds), name}));
      return {};
    }
    ANYFS_TRY(db_.run("INSERT INTO properties(ds, name, value) VALUES($1, $2, $3) ON CONFLICT(ds, name) DO UPDATE "
                      "SET value = excluded.value",
                      {i(ds), name, *value}));
    return {};
  }
  Result<std::vector<std::pair<std::string, std::string>>> properties(DatasetId ds) override {
    auto rows = ANYFS_TRY(
        db_.run("SELECT name, value FROM properties WHERE ds = $1 ORDER BY name COLLATE \"C\"", {i(ds)}));
    std::vector<std::pair<std::string, std::string>> out;
    for (int r = 0; r < rows.size(); ++r) out.emplace_back(rows.str(r, 0), rows.str(r, 1));
    return out;
  }
  void set_pin(DatasetId ds, Tid pin) override { keeping_.set_pin(ds, pin); }
  void set_txg_floor(Tid committed) override { keeping_.set_txg_floor(committed); }
  void adjust_refs(const ChunkId& chunk, std::int64_t delta) override { keeping_.add_ref(chunk, delta); }

  // --- Inodes ---
  Result<std::optional<InodeRecord>> inode(DatasetId ds, Ino ino, Tid at) override {
    auto rows = ANYFS_TRY(db_.run(std::string("SELECT ") + k_inode_columns +
                                      " FROM inodes WHERE ds = $1 AND ino = $2 AND " +
                                      (at == k_tid_live ? "tid_to = $3" : "tid_to > $3 AND tid_from <= $3"),
                                  {i(ds), i(ino), i(at)}));
    if (rows.empty()) return std::optional<InodeRecord>();
    return std::optional<InodeRecord>(inode_row(rows, 0));
  }
  Result<void> put_inode(DatasetId ds, const InodeRecord& r, Tid tid) override {
    ANYFS_CHECK(close_for_replace("inodes", "ino", ds, r.ino, nullptr, tid));
    ANYFS_TRY(db_.run(
        "INSERT INTO inodes(ds, ino, tid_to, tid_from, kind, mode, uid, gid, nlink, size, atime, mtime, ctime, btime, "
        "rdev, target, project, generation) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
        "$16, $17, $18) ON CONFLICT(ds, ino, tid_to) DO UPDATE SET tid_from = excluded.tid_from, kind = "
        "excluded.kind, mode = excluded.mode, uid = excluded.uid, gid = excluded.gid, nlink = excluded.nlink, "
        "size = excluded.size, atime = excluded.atime, mtime = excluded.mtime, ctime = excluded.ctime, "
        "btime = excluded.btime, rdev = excluded.rdev, target = excluded.target, project = excluded.project, "
        "generation = excluded.generation",
        {i(ds), i(r.ino), k_live, i(tid), std::int64_t{static_cast<int>(r.kind)}, std::int64_t{r.mode},
         std::int64_t{r.uid}, std::int64_t{r.gid}, i(r.nlink), i(r.size), r.atime_ns, r.mtime_ns, r.ctime_ns,
         r.btime_ns, i(r.rdev), Bytes{r.target}, i(r.project), i(r.generation)}));
    return {};
  }
  Result<void> drop_inode(DatasetId ds, Ino ino, Tid tid) override {
    ANYFS_CHECK(close_rows("xattrs", "ino", ds, ino, nullptr, tid));
    // Extent by extent, so that each removed row gives its reference back.
    for (const auto& e : ANYFS_TRY(extents(ds, ino, 0, k_max_file_size, k_tid_live)))
      ANYFS_CHECK(drop_extent(ds, ino, e.offset, tid));
    return close_rows("inodes", "ino", ds, ino, nullptr, tid);
  }
  Result<std::vector<Ino>> unlinked_inodes(DatasetId ds) override {
    auto rows =
        ANYFS_TRY(db_.run("SELECT ino FROM inodes WHERE ds = $1 AND tid_to = $2 AND nlink = 0", {i(ds), k_live}));
    std::vector<Ino> out;
    for (int r = 0; r < rows.size(); ++r) out.push_back(rows.u64(r, 0));
    return out;
  }

  // --- Directory entries ---
  Result<std::optional<DirentRecord>> lookup(DatasetId ds, Ino parent, std::string_view name, Tid at) override {
    auto rows = ANYFS_TRY(db_.run(
        at == k_tid_live
            ? "SELECT ino, kind FROM dirents WHERE ds = $1 AND parent = $2 AND tid_to = $3 AND name = $4"
            : "SELECT ino, kind FROM dirents WHERE ds = $1 AND parent = $2 AND name = $4 AND tid_to > $3 "
              "AND tid_from <= $3 LIMIT 1",
        {i(ds), i(parent), i(at), Bytes{name}}));
    if (rows.empty()) return std::optional<DirentRecord>();
    return std::optional<DirentRecord>(
        DirentRecord{parent, std::string(name), rows.u64(0, 0), static_cast<FileKind>(rows.i64(0, 1))});
  }
  Result<std::vector<DirentRecord>> list_dir(DatasetId ds, Ino parent, Tid at) override {
    auto rows = ANYFS_TRY(db_.run(
        at == k_tid_live
            ? "SELECT name, ino, kind FROM dirents WHERE ds = $1 AND parent = $2 AND tid_to = $3 ORDER BY name"
            : "SELECT name, ino, kind FROM dirents WHERE ds = $1 AND parent = $2 AND tid_to > $3 AND tid_from <= $3 "
              "ORDER BY name",
        {i(ds), i(parent), i(at)}));
    std::vector<DirentRecord> out;
    out.reserve(static_cast<std::size_t>(rows.size()));
    for (int r = 0; r < rows.size(); ++r)
      out.push_back({parent, rows.str(r, 0), rows.u64(r, 1), static_cast<FileKind>(rows.i64(r, 2))});
    return out;
  }
  Result<bool> has_entries(DatasetId ds, Ino parent, Tid at) override {
    auto rows = ANYFS_TRY(db_.run(
        at == k_tid_live ? "SELECT 1 FROM dirents WHERE ds = $1 AND parent = $2 AND tid_to = $3 LIMIT 1"
                         : "SELECT 1 FROM dirents WHERE ds = $1 AND parent = $2 AND tid_to > $3 AND tid_from <= $3 "
                           "LIMIT 1",
        {i(ds), i(parent), i(at)}));
    return !rows.empty();
  }
  Result<void> put_dirent(DatasetId ds, const DirentRecord& e, Tid tid) override {
    ANYFS_CHECK(close_for_replace("dirents", "parent", ds, e.parent, &e.name, tid));
    ANYFS_TRY(db_.run("INSERT INTO dirents(ds, parent, tid_to, name, tid_from, ino, kind) VALUES($1, $2, $3, $4, $5, "
                      "$6, $7) ON CONFLICT(ds, parent, tid_to, name) DO UPDATE SET tid_from = excluded.tid_from, "
                      "ino = excluded.ino, kind = excluded.kind",
                      {i(ds), i(e.parent), k_live, Bytes{e.name}, i(tid), i(e.ino),
                       std::int64_t{static_cast<int>(e.kind)}}));
    return {};
  }
  Result<void> drop_dirent(DatasetId ds, Ino parent, std::string_view name, Tid tid) override {
    const std::string key(name);
    return close_rows("dirents", "parent", ds, parent, &key, tid);
  }

  // --- Extents ---
  Result<std::vector<ExtentRecord>> extents(DatasetId ds, Ino ino, std::uint64_t from, std::uint64_t to,
                                            Tid at) override {
    auto rows = ANYFS_TRY(db_.run(
        at == k_tid_live
            ? "SELECT \"offset\", length, chunk, chunk_offset FROM extents WHERE ds = $1 AND ino = $2 AND tid_to = $3 "
              "AND \"offset\" < $5 AND \"offset\" >= coalesce((SELECT max(\"offset\") FROM extents WHERE ds = $1 "
              "AND ino = $2 AND tid_to = $3 AND \"offset\" <= $4), 0) ORDER BY \"offset\""
            : "SELECT \"offset\", length, chunk, chunk_offset FROM extents WHERE ds = $1 AND ino = $2 AND tid_to > $3 "
              "AND tid_from <= $3 AND \"offset\" < $5 ORDER BY \"offset\"",
        {i(ds), i(ino), i(at), i(from), i(to)}));
    std::vector<ExtentRecord> out;
    for (int r = 0; r < rows.size(); ++r) {
      ExtentRecord e = extent_row(rows, r, 0, ino);
      e.chunk = ANYFS_TRY(chunk_id_from(rows.bytes(r, 2)));
      if (e.end() > from) out.push_back(e);
    }
    return out;
  }
  Result<void> put_extent(DatasetId ds, const ExtentRecord& e, Tid tid) override {
    ANYFS_TRY(db_.run("INSERT INTO extents(ds, ino, tid_to, \"offset\", tid_from, length, chunk, chunk_offset) "
                      "VALUES($1, $2, $3, $4, $5, $6, $7, $8)",
                      {i(ds), i(e.ino), k_live, i(e.offset), i(tid), i(e.length), id_param(e.chunk),
                       i(e.chunk_offset)}));
    keeping_.add_ref(e.chunk, 1);
    return {};
  }
  Result<void> drop_extent(DatasetId ds, Ino ino, std::uint64_t offset, Tid tid) override {
    auto rows = ANYFS_TRY(db_.run("SELECT chunk, tid_from FROM extents WHERE ds = $1 AND ino = $2 AND tid_to = $3 "
                                  "AND \"offset\" = $4",
                                  {i(ds), i(ino), k_live, i(offset)}));
    if (rows.empty()) return fail(Errc::Corrupt, "", "dropping an extent that is not there");
    const ChunkId chunk = ANYFS_TRY(chunk_id_from(rows.bytes(0, 0)));
    const Tid born = rows.u64(0, 1);
    if (born <= keeping_.keep_to(ds)) {
      ANYFS_TRY(db_.run("UPDATE extents SET tid_to = $5 WHERE ds = $1 AND ino = $2 AND tid_to = $3 AND \"offset\" = $4",
                        {i(ds), i(ino), k_live, i(offset), i(tid)}));
      return {};
    }
    ANYFS_TRY(db_.run("DELETE FROM extents WHERE ds = $1 AND ino = $2 AND tid_to = $3 AND \"offset\" = $4",
                      {i(ds), i(ino), k_live, i(offset)}));
    keeping_.add_ref(chunk, -1);
    return {};
  }

  // --- Extended attributes ---
  Result<std::optional<std::string>> xattr(DatasetId ds, Ino ino, std::string_view name, Tid at) override {
    auto rows = ANYFS_TRY(db_.run(
        at == k_tid_live ? "SELECT value FROM xattrs WHERE ds = $1 AND ino = $2 AND tid_to = $3 AND name = $4"
                         : "SELECT value FROM xattrs WHERE ds = $1 AND ino = $2 AND tid_to > $3 AND tid_from <= $3 "
                           "AND name = $4",
        {i(ds), i(ino), i(at), Bytes{name}}));
    if (rows.empty()) return std::optional<std::string>();
    return std::optional<std::string>(rows.str(0, 0));
  }
  Result<std::vector<std::pair<std::string, std::string>>> xattrs(DatasetId ds, Ino ino, Tid at) override {
    auto rows = ANYFS_TRY(db_.run(
        at == k_tid_live
            ? "SELECT name, value FROM xattrs WHERE ds = $1 AND ino = $2 AND tid_to = $3 ORDER BY name"
            : "SELECT name, value FROM xattrs WHERE ds = $1 AND ino = $2 AND tid_to > $3 AND tid_from <= $3 "
              "ORDER BY name",
        {i(ds), i(ino), i(at)}));
    std::vector<std::pair<std::string, std::string>> out;
    for (int r = 0; r < rows.size(); ++r) out.emplace_back(rows.str(r, 0), rows.str(r, 1));
    return out;
  }
  Result<void> put_xattr(DatasetId ds, Ino ino, std::string_view name, std::string_view value, Tid tid) override {
    const std::string key(name);
    ANYFS_CHECK(close_for_replace("xattrs", "ino", ds, ino, &key, tid));
    ANYFS_TRY(db_.run("INSERT INTO xattrs(ds, ino, tid_to, name, tid_from, value) VALUES($1, $2, $3, $4, $5, $6) "
                      "ON CONFLICT(ds, ino, tid_to, name) DO UPDATE SET tid_from = excluded.tid_from, "
                      "value = excluded.value",
                      {i(ds), i(ino), k_live, Bytes{name}, i(tid), Bytes{value}}));
    return {};
  }
  Result<void> drop_xattr(DatasetId ds, Ino ino, std::string_view name, Tid tid) override {
    const std::string key(name);
    return close_rows("xattrs", "ino", ds, ino, &key, tid);
  }

  // --- Chunk references ---
  Result<std::int64_t> refs(const ChunkId& chunk) override {
    ANYFS_CHECK(flush_refs());
    auto rows = ANYFS_TRY(db_.run("SELECT refs FROM chunk_refs WHERE chunk = $1", {id_param(chunk)}));
    return rows.empty() ? std::int64_t{0} : rows.i64(0, 0);
  }
  Result<std::vector<ChunkId>> unreferenced(std::int64_t before_ns) override {
    ANYFS_CHECK(flush_refs());
    auto rows = ANYFS_TRY(db_.run("SELECT chunk FROM chunk_refs WHERE refs <= 0 AND zero_since < $1", {before_ns}));
    std::vector<ChunkId> out;
    for (int r = 0; r < rows.size(); ++r) out.push_back(ANYFS_TRY(chunk_id_from(rows.bytes(r, 0))));
    return out;
  }
  Result<void> forget_chunk(const ChunkId& chunk) override {
    ANYFS_CHECK(flush_refs());
    ANYFS_TRY(db_.run("DELETE FROM chunk_refs WHERE chunk = $1", {id_param(chunk)}));
    return {};
  }
  Result<std::vector<ChunkId>> take_released() override {
    ANYFS_CHECK(flush_refs());
    return keeping_.take_released([&](const ChunkId& chunk) { return refs(chunk); });
  }
  Result<void> for_each_ref(const std::function<Result<void>(const ChunkRef&)>& fn) override {
    ANYFS_CHECK(flush_refs());
    return in_batches("SELECT chunk, refs, zero_since FROM chunk_refs WHERE chunk > $1 ORDER BY chunk LIMIT 10000",
                      [&](const Rows& rows, int r) -> Result<std::string> {
                        ANYFS_CHECK(fn({ANYFS_TRY(chunk_id_from(rows.bytes(r, 0))), rows.i64(r, 1), rows.i64(r, 2)}));
                        return rows.str(r, 0);
                      });
  }
  Result<void> for_each_extent(const std::function<Result<void>(DatasetId, const ExtentRecord&)>& fn,
                               bool closed) override {
    // In key order, a batch at a time: memory stays bounded for any pool size.
    std::int64_t ds = -1, ino = 0, tid_to = 0, offset = 0;
    const std::string sql = std::string("SELECT ds, ino, \"offset\", length, chunk, chunk_offset, tid_to FROM extents "
                                        "WHERE (ds, ino, tid_to, \"offset\") > ($1, $2, $3, $4) AND ") +
                            (closed ? "tid_to <= $5" : "tid_to = $5") +
                            " ORDER BY ds, ino, tid_to, \"offset\" LIMIT 10000";
    for (;;) {
      auto rows = ANYFS_TRY(db_.run(sql, {ds, ino, tid_to, offset, k_live}));
      for (int r = 0; r < rows.size(); ++r) {
        ExtentRecord e = extent_row(rows, r, 2, rows.u64(r, 1));
        e.chunk = ANYFS_TRY(chunk_id_from(rows.bytes(r, 4)));
        ANYFS_CHECK(fn(rows.u64(r, 0), e));
      }
      if (rows.size() < 10000) return {};
      const int last = rows.size() - 1;
      ds = rows.i64(last, 0), ino = rows.i64(last, 1), tid_to = rows.i64(last, 6), offset = rows.i64(last, 2);
    }
  }
  Result<void> for_each_inode(const std::function<Result<void>(DatasetId, const InodeRecord&)>& fn) override {
    std::int64_t ds = -1, ino = 0;
    const std::string sql = std::string("SELECT ") + k_inode_columns +
                            ", ds FROM inodes WHERE (ds, ino) > ($1, $2) AND tid_to = $3 ORDER BY ds, ino LIMIT 10000";
    for (;;) {
      auto rows = ANYFS_TRY(db_.run(sql, {ds, ino, k_live}));
      for (int r = 0; r < rows.size(); ++r) ANYFS_CHECK(fn(rows.u64(r, 16), inode_row(rows, r)));
      if (rows.size() < 10000) return {};
      ds = rows.i64(rows.size() - 1, 16), ino = rows.i64(rows.size() - 1, 0);
    }
  }
  Result<void> for_each_dirent(const std::function<Result<void>(DatasetId, const DirentRecord&)>& fn) override {
    std::int64_t ds = -1, parent = 0;
    std::string name;
    const char* sql =
        "SELECT ds, parent, name, ino, kind FROM dirents WHERE (ds, parent, tid_to, name) > ($1, $2, $3, $4) AND "
        "tid_to = $3 ORDER BY ds, parent, tid_to, name LIMIT 10000";
    for (;;) {
      auto rows = ANYFS_TRY(db_.run(sql, {ds, parent, k_live, Bytes{name}}));
      for (int r = 0; r < rows.size(); ++r) {
        DirentRecord e{rows.u64(r, 1), rows.str(r, 2), rows.u64(r, 3), static_cast<FileKind>(rows.i64(r, 4))};
        ANYFS_CHECK(fn(rows.u64(r, 0), e));
      }
      if (rows.size() < 10000) return {};
      const int last = rows.size() - 1;
      ds = rows.i64(last, 0), parent = rows.i64(last, 1), name = rows.str(last, 2);
    }
  }

  Result<void> log(const TxlogEntry& entry) override {
    ANYFS_TRY(db_.run("INSERT INTO txlog(tid, time, ds, op, detail) VALUES($1, $2, $3, $4, $5) ON CONFLICT(tid) DO "
                      "UPDATE SET time = excluded.time, ds = excluded.ds, op = excluded.op, detail = excluded.detail",
                      {i(entry.tid), entry.time_ns, i(entry.dataset), std::string_view(entry.op),
                       Bytes{entry.detail}}));
    return {};
  }

  // --- Resumable receives ---
  Result<std::optional<PartialReceive>> partial_receive(std::string_view target) override {
    auto rows =
        ANYFS_TRY(db_.run("SELECT token, bytes, pieces FROM receive_partial WHERE target = $1", {target}));
    if (rows.empty()) return std::optional<PartialReceive>();
    return std::optional<PartialReceive>(PartialReceive{rows.str(0, 0), rows.u64(0, 1), rows.u64(0, 2)});
  }
  Result<void> spool(std::string_view target, const PartialReceive& partial, std::string_view bytes) override {
    ANYFS_TRY(db_.run("INSERT INTO receive_spool(target, seq, data) VALUES($1, $2, $3)",
                      {target, i(partial.pieces - 1), Bytes{bytes}}));
    ANYFS_TRY(db_.run("INSERT INTO receive_partial(target, token, bytes, pieces) VALUES($1, $2, $3, $4) "
                      "ON CONFLICT(target) DO UPDATE SET token = excluded.token, bytes = excluded.bytes, "
                      "pieces = excluded.pieces",
                      {target, std::string_view(partial.token), i(partial.bytes), i(partial.pieces)}));
    return {};
  }
  Result<std::string> spool_piece(std::string_view target, std::uint64_t seq) override {
    auto rows = ANYFS_TRY(db_.run("SELECT data FROM receive_spool WHERE target = $1 AND seq = $2", {target, i(seq)}));
    if (rows.empty())
      return fail(Errc::Corrupt, std::string(target), fmt::format("piece {} of a resumable receive is missing", seq));
    return rows.str(0, 0);
  }
  Result<void> drop_partial_receive(std::string_view target) override {
    ANYFS_TRY(db_.run("DELETE FROM receive_spool WHERE target = $1", {target}));
    ANYFS_TRY(db_.run("DELETE FROM receive_partial WHERE target = $1", {target}));
    return {};
  }

 private:
  // Before a replace of the live row (owner, key): a row something can still
  // see is closed at `tid`; otherwise the insert overwrites it.
  Result<void> close_for_replace(const char* table, const char* owner_col, DatasetId ds, std::uint64_t owner,
                                 const std::string* key, Tid tid) {
    const Tid keep = keeping_.keep_to(ds);
    if (keep == 0) return {};
    return close_where(table, owner_col, ds, owner, key, tid, keep);
  }

  // Closes the live row(s) (owner[, key]) at `tid`: kept closed while
  // something can see them, removed at once otherwise.
  Result<void> close_rows(const char* table, const char* owner_col, DatasetId ds, std::uint64_t owner,
                          const std::string* key, Tid tid) {
    if (const Tid keep = keeping_.keep_to(ds); keep != 0) ANYFS_CHECK(close_where(table, owner_col, ds, owner, key, tid, keep));
    std::string sql = fmt::format("DELETE FROM {} WHERE ds = $1 AND {} = $2 AND tid_to = $3", table, owner_col);
    std::vector<Param> params{i(ds), i(owner), k_live};
    if (key != nullptr) {
      sql += " AND name = $4";
      params.push_back(Bytes{*key});
    }
    ANYFS_TRY(db_.run(sql, params));
    return {};
  }

  Result<void> close_where(const char* table, const char* owner_col, DatasetId ds, std::uint64_t owner,
                           const std::string* key, Tid tid, Tid keep) {
    std::string sql = fmt::format("UPDATE {} SET tid_to = $4 WHERE ds = $1 AND {} = $2 AND tid_to = $3 AND "
                                  "tid_from <= $5",
                                  table, owner_col);
    std::vector<Param> params{i(ds), i(owner), k_live, i(tid), i(keep)};
    if (key != nullptr) {
      sql += " AND name = $6";
      params.push_back(Bytes{*key});
    }
    ANYFS_TRY(db_.run(sql, params));
    return {};
  }

  // Pages through a table keyed by bytea in key order; `row` returns the key.
  Result<void> in_batches(const char* sql, const std::function<Result<std::string>(const Rows&, int)>& row) {
    std::string after;
    for (;;) {
      auto rows = ANYFS_TRY(db_.run(sql, {Bytes{after}}));
      for (int r = 0; r < rows.size(); ++r) after = ANYFS_TRY(row(rows, r));
      if (rows.size() < 10000) return {};
    }
  }

  // A chunk whose changes sum to 0 still gets its row when it has none: it
  // was stored and let go inside one transaction, and without a row it would
  // be an orphan only gc finds.
  Result<void> flush_refs() {
    const std::int64_t now = wall_clock_ns();
    std::vector<ChunkId> released;
    for (const auto& [chunk, delta] : keeping_.pending_refs()) {
      auto rows = ANYFS_TRY(db_.run(
          "INSERT INTO chunk_refs AS c(chunk, refs, zero_since) VALUES($1, $2, CASE WHEN $2 <= 0 THEN $3 ELSE 0 END) "
          "ON CONFLICT(chunk) DO UPDATE SET refs = c.refs + excluded.refs, "
          "zero_since = CASE WHEN c.refs + excluded.refs <= 0 THEN $3 ELSE 0 END WHERE excluded.refs != 0 "
          "RETURNING refs",
          {id_param(chunk), delta, now}));
      const bool returned = !rows.empty();
      if ((returned && rows.i64(0, 0) <= 0) || (!returned && delta == 0)) released.push_back(chunk);
    }
    keeping_.written(std::move(released));
    return {};
  }

  pg::Db& db_;
  RecordKeeping keeping_;
};

}  // namespace

std::unique_ptr<MetaStore> make_pg_meta_store(pg::Db& db) { return std::make_unique<PgMetaStore>(db); }

}  // namespace anyfs
