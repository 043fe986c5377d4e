// HistoryStore over PostgreSQL: the SQLite store's operations (meta/history_store.h)
// on the tables of meta/pg/pg_schema.cc, through the same record-table list
// (meta/record_tables.h). Bulk operations go through the indexes on tid_from
// and on closed rows' tid_to, so each costs the rows changed between its TIDs.
#include "meta/pg/pg_history_store.h"

#include <fmt/format.h>

#include <algorithm>

#include "meta/pg/pg_db.h"
#include "meta/pg/pg_rows.h"
#include "meta/record_tables.h"

namespace anyfs {
namespace {

using namespace pgrows;

const char* table_of(NameKind kind) { return kind == NameKind::Snapshot ? "snapshots" : "bookmarks"; }

class PgHistoryStore final : public HistoryStore {
 public:
  PgHistoryStore(pg::Db& db, MetaStore& meta) : db_(db), meta_(meta) {}

  // --- Datasets ---
  Result<std::vector<DatasetState>> datasets() override {
    auto rows = ANYFS_TRY(db_.run("SELECT id, name, created_tid, origin, origin_tid, history_from FROM datasets "
                                  "ORDER BY name COLLATE \"C\""));
    std::vector<DatasetState> out;
    for (int r = 0; r < rows.size(); ++r) {
      DatasetState d;
      d.id = rows.u64(r, 0);
      d.name = rows.str(r, 1);
      d.created_tid = rows.u64(r, 2);
      if (!rows.is_null(r, 3)) d.origin = rows.u64(r, 3);
      d.origin_tid = rows.u64(r, 4);
      if (!rows.is_null(r, 5)) d.history_from = rows.u64(r, 5);
      out.push_back(std::move(d));
    }
    return out;
  }
  Result<void> rename_dataset(DatasetId ds, std::string_view name) override {
    return ok(db_.run("UPDATE datasets SET name = $2 WHERE id = $1", {i(ds), name}));
  }
  Result<void> set_history_from(DatasetId ds, std::optional<Tid> from) override {
    if (!from) return ok(db_.run("UPDATE datasets SET history_from = NULL WHERE id = $1", {i(ds)}));
    return ok(db_.run("UPDATE datasets SET history_from = $2 WHERE id = $1", {i(ds), i(*from)}));
  }
  Result<void> set_origin(DatasetId ds, std::optional<DatasetId> origin, Tid origin_tid) override {
    if (!origin)
      return ok(db_.run("UPDATE datasets SET origin = NULL, origin_tid = $2 WHERE id = $1", {i(ds), i(origin_tid)}));
    return ok(db_.run("UPDATE datasets SET origin = $3, origin_tid = $2 WHERE id = $1",
                      {i(ds), i(origin_tid), i(*origin)}));
  }
  Result<void> drop_dataset(DatasetId ds) override {
    for (const auto& t : k_record_tables) {
      if (t.has_chunk) {
        auto refs = ANYFS_TRY(db_.run(
            fmt::format("SELECT chunk, count(*) FROM {} WHERE ds = $1 AND chunk IS NOT NULL GROUP BY chunk", t.name),
            {i(ds)}));
        for (int r = 0; r < refs.size(); ++r) meta_.adjust_refs(ANYFS_TRY(chunk_id_from(refs.bytes(r, 0))), -refs.i64(r, 1));
      }
      ANYFS_TRY(db_.run(fmt::format("DELETE FROM {} WHERE ds = $1", t.name), {i(ds)}));
    }
    for (const char* q : {"DELETE FROM properties WHERE ds = $1", "DELETE FROM snapshots WHERE ds = $1",
                          "DELETE FROM bookmarks WHERE ds = $1", "DELETE FROM datasets WHERE id = $1"})
      ANYFS_TRY(db_.run(q, {i(ds)}));
    return {};
  }

  // --- Transaction-group boundaries ---
  Result<void> record_txg(Tid end, std::int64_t time_ns) override {
    return ok(db_.run("INSERT INTO txgs(tid, time) VALUES($1, $2) ON CONFLICT(tid) DO UPDATE SET time = excluded.time",
                      {i(end), time_ns}));
  }
  Result<std::optional<Tid>> txg_containing(Tid tid) override {
    return optional_tid(ANYFS_TRY(db_.run("SELECT min(tid) FROM txgs WHERE tid >= $1", {i(tid)})));
  }
  Result<std::optional<Tid>> txg_at_time(std::int64_t time_ns) override {
    return optional_tid(
        ANYFS_TRY(db_.run("SELECT tid FROM txgs WHERE time <= $1 ORDER BY time DESC, tid DESC LIMIT 1", {time_ns})));
  }
  Result<std::optional<std::int64_t>> txg_time(Tid end) override {
    auto rows = ANYFS_TRY(db_.run("SELECT time FROM txgs WHERE tid = $1", {i(end)}));
    if (rows.empty()) return std::optional<std::int64_t>();
    return std::optional<std::int64_t>(rows.i64(0, 0));
  }
  Result<void> forget_txgs_before(Tid tid) override {
    return ok(db_.run("DELETE FROM txgs WHERE tid < $1", {i(tid)}));
  }

  // --- Snapshots and bookmarks ---
  Result<std::vector<NamedTid>> names(DatasetId ds, NameKind kind) override {
    auto rows = ANYFS_TRY(db_.run(
        fmt::format("SELECT name, tid, time, guid FROM {} WHERE ds = $1 ORDER BY tid, name COLLATE \"C\"",
                    table_of(kind)),
        {i(ds)}));
    std::vector<NamedTid> out;
    for (int r = 0; r < rows.size(); ++r)
      out.push_back({ds, rows.str(r, 0), rows.u64(r, 1), rows.i64(r, 2), rows.str(r, 3)});
    return out;
  }
  Result<std::optional<NamedTid>> name(DatasetId ds, std::string_view name, NameKind kind) override {
    auto rows = ANYFS_TRY(
        db_.run(fmt::format("SELECT tid, time, guid FROM {} WHERE ds = $1 AND name = $2", table_of(kind)),
                {i(ds), name}));
    if (rows.empty()) return std::optional<NamedTid>();
    return std::optional<NamedTid>(NamedTid{ds, std::string(name), rows.u64(0, 0), rows.i64(0, 1), rows.str(0, 2)});
  }
  Result<void> put_name(const NamedTid& e, NameKind kind) override {
    if (ANYFS_TRY(name(e.ds, e.name, kind)))
      return fail(Errc::Exists, e.name,
                  kind == NameKind::Snapshot ? "a snapshot of this name exists" : "a bookmark of this name exists");
    return ok(db_.run(fmt::format("INSERT INTO {}(ds, name, tid, time, guid) VALUES($1, $2, $3, $4, $5)",
                                  table_of(kind)),
                      {i(e.ds), std::string_view(e.name), i(e.tid), e.time_ns, std::string_view(e.guid)}));
  }
  Result<void> drop_name(DatasetId ds, std::string_view name, NameKind kind) override {
    return ok(db_.run(fmt::format("DELETE FROM {} WHERE ds = $1 AND name = $2", table_of(kind)), {i(ds), name}));
  }
  Result<void> rename_name(DatasetId ds, std::string_view from, std::string_view to, NameKind kind) override {
    return ok(db_.run(fmt::format("UPDATE {} SET name = $3 WHERE ds = $1 AND name = $2", table_of(kind)),
                      {i(ds), from, to}));
  }
  Result<std::uint64_t> unique_bytes(DatasetId ds, Tid prev, Tid tid, Tid next) override {
    auto rows = ANYFS_TRY(db_.run(
        "SELECT coalesce(sum(length), 0)::bigint FROM extents WHERE ds = $1 AND tid_from > $2 AND tid_from <= $3 "
        "AND tid_to > $3 AND tid_to <= $4 AND tid_to < 9223372036854775807",
        {i(ds), i(prev), i(tid), i(next)}));
    return rows.u64(0, 0);
  }

  // --- Bulk operations ---
  Result<PruneStep> prune(DatasetId ds, Tid window_to, const std::vector<Tid>& pinned, std::size_t limit,
                          PruneCursor& cursor) override {
    PruneStep step;
    while (!cursor.done() && step.rows_removed < limit) {
      const RecordTable& t = k_record_tables[static_cast<std::size_t>(cursor.table)];
      // The next rows by tid_to, and every row sharing the last tid_to, so
      // that the cursor can move past it.
      const std::string cols = fmt::format("tid_to, {}, tid_from, {}", t.key_columns(), t.chunk_column());
      std::vector<Read> rows = read_rows(
          ANYFS_TRY(db_.run(fmt::format("SELECT {} FROM {} WHERE ds = $1 AND tid_to > $2 AND tid_to <= $3 AND "
                                        "tid_to < 9223372036854775807 ORDER BY tid_to LIMIT $4",
                                        cols, t.name),
                            {i(ds), i(cursor.after), i(window_to), static_cast<std::int64_t>(limit)})),
          t);
      if (rows.size() == limit) {
        const Tid last = rows.back().row.tid_to;
        std::erase_if(rows, [&](const Read& r) { return r.row.tid_to == last; });
        auto more = read_rows(ANYFS_TRY(db_.run(fmt::format("SELECT {} FROM {} WHERE ds = $1 AND tid_to = $2", cols,
                                                            t.name),
                                                {i(ds), i(last)})),
                              t);
        rows.insert(rows.end(), more.begin(), more.end());
      }
      if (rows.empty()) {
        cursor = {cursor.table + 1, 0};
        continue;
      }
      for (const auto& read : rows) {
        ANYFS_CHECK(read.chunk_ok);
        const ClosedRow& r = read.row;
        if (pinned_sees(pinned, r.tid_from, r.tid_to)) continue;
        ANYFS_CHECK(delete_row(t, ds, r));
        step.rows_removed += 1;
        if (r.chunk) {
          meta_.adjust_refs(*r.chunk, -1);
          step.refs_released += 1;
        }
      }
      cursor.after = rows.back().row.tid_to;
    }
    return step;
  }

  Result<std::uint64_t> rollback(DatasetId ds, Tid to, Tid tid, Tid keep) override {
    std::uint64_t changed = 0;
    for (const auto& t : k_record_tables) {
      const std::string keys = t.key_columns();
      // Live rows born after `to`: those something can still see are closed,
      // the rest removed (giving their chunk references back).
      changed += ANYFS_TRY(db_.run(fmt::format("UPDATE {} SET tid_to = $4 WHERE ds = $1 AND tid_to = "
                                               "9223372036854775807 AND tid_from > $2 AND tid_from <= $3",
                                               t.name),
                                   {i(ds), i(to), i(keep), i(tid)}))
                     .affected();
      if (t.has_chunk) {
        auto refs = ANYFS_TRY(db_.run(fmt::format("SELECT chunk FROM {} WHERE ds = $1 AND tid_to = "
                                                  "9223372036854775807 AND tid_from > $2 AND chunk IS NOT NULL",
                                                  t.name),
                                      {i(ds), i(to)}));
        for (int r = 0; r < refs.size(); ++r) meta_.adjust_refs(ANYFS_TRY(chunk_id_from(refs.bytes(r, 0))), -1);
      }
      changed += ANYFS_TRY(db_.run(fmt::format("DELETE FROM {} WHERE ds = $1 AND tid_to = 9223372036854775807 AND "
                                               "tid_from > $2",
                                               t.name),
                                   {i(ds), i(to)}))
                     .affected();
      // Rows `to` saw that were closed since: live again, as new rows.
      const std::string visible = "ds = $1 AND tid_to > $2 AND tid_to < 9223372036854775807 AND tid_from <= $2";
      if (t.has_chunk) {
        auto refs = ANYFS_TRY(
            db_.run(fmt::format("SELECT chunk FROM {} WHERE {} AND chunk IS NOT NULL", t.name, visible), {i(ds), i(to)}));
        for (int r = 0; r < refs.size(); ++r) meta_.adjust_refs(ANYFS_TRY(chunk_id_from(refs.bytes(r, 0))), 1);
      }
      changed += ANYFS_TRY(db_.run(fmt::format("INSERT INTO {0}(ds, {1}, tid_to, tid_from, {2}) SELECT ds, {1}, "
                                               "9223372036854775807, $3, {2} FROM {0} WHERE {3}",
                                               t.name, keys, t.rest, visible),
                                   {i(ds), i(to), i(tid)}))
                     .affected();
    }
    return changed;
  }

  Result<std::vector<Ino>> changed_inodes(DatasetId ds, Tid from, Tid to) override {
    auto rows = ANYFS_TRY(db_.run(union_of_changes("{1}", "{1}"), {i(ds), i(from), i(to)}));
    std::vector<Ino> out;
    for (int r = 0; r < rows.size(); ++r) out.push_back(rows.u64(r, 0));
    std::sort(out.begin(), out.end());
    return out;
  }

  Result<std::vector<Tid>> changed_states(DatasetId ds, Tid from, Tid to) override {
    // Each TID belongs to the group that ends at the first boundary at or after it.
    auto rows = ANYFS_TRY(db_.run(
        fmt::format("SELECT e FROM (SELECT (SELECT min(g.tid) FROM txgs g WHERE g.tid >= c.t) AS e FROM ({}) c) x "
                    "WHERE e IS NOT NULL GROUP BY e ORDER BY e",
                    union_of_changes("tid_from AS t", "tid_to")),
        {i(ds), i(from), i(to)}));
    std::vector<Tid> out;
    for (int r = 0; r < rows.size(); ++r) out.push_back(rows.u64(r, 0));
    return out;
  }

  Result<std::vector<DirentRecord>> names_of(DatasetId ds, Ino ino, Tid at) override {
    auto rows = ANYFS_TRY(db_.run(
        at == k_tid_live
            ? "SELECT parent, name, kind FROM dirents WHERE ds = $1 AND ino = $2 AND tid_to = $3 ORDER BY parent, name"
            : "SELECT parent, name, kind FROM dirents WHERE ds = $1 AND ino = $2 AND tid_to > $3 AND tid_from <= $3 "
              "ORDER BY parent, name",
        {i(ds), i(ino), i(at)}));
    std::vector<DirentRecord> out;
    for (int r = 0; r < rows.size(); ++r)
      out.push_back({rows.u64(r, 0), rows.str(r, 1), ino, static_cast<FileKind>(rows.i64(r, 2))});
    return out;
  }

  Result<std::vector<std::string>> check_state(DatasetId ds, Tid at) override {
    std::vector<std::string> out;
    auto missing = ANYFS_TRY(db_.run(
        "SELECT d.parent, d.name, d.ino FROM dirents d WHERE d.ds = $1 AND d.tid_from <= $2 AND d.tid_to > $2 "
        "AND NOT EXISTS (SELECT 1 FROM inodes n WHERE n.ds = d.ds AND n.ino = d.ino AND n.tid_from <= $2 "
        "AND n.tid_to > $2)",
        {i(ds), i(at)}));
    for (int r = 0; r < missing.size(); ++r)
      out.push_back(missing_inode_problem(missing.bytes(r, 1), missing.u64(r, 0), missing.u64(r, 2)));
    auto stray = ANYFS_TRY(db_.run(
        "SELECT e.ino, e.\"offset\" FROM extents e WHERE e.ds = $1 AND e.tid_from <= $2 AND e.tid_to > $2 "
        "AND NOT EXISTS (SELECT 1 FROM inodes n WHERE n.ds = e.ds AND n.ino = e.ino AND n.tid_from <= $2 "
        "AND n.tid_to > $2 AND n.kind = 0 AND n.size >= e.\"offset\" + e.length)",
        {i(ds), i(at)}));
    for (int r = 0; r < stray.size(); ++r)
      out.push_back(stray_extent_problem(stray.u64(r, 1), stray.u64(r, 0)));
    auto root = ANYFS_TRY(
        db_.run("SELECT 1 FROM inodes WHERE ds = $1 AND ino = 1 AND tid_from <= $2 AND tid_to > $2", {i(ds), i(at)}));
    if (root.empty()) out.push_back(k_missing_root_problem);
    return out;
  }

  Result<std::vector<InodeVersion>> inode_versions(DatasetId ds, Ino ino) override {
    auto rows = ANYFS_TRY(db_.run(std::string("SELECT ") + k_inode_columns +
                                      ", tid_to FROM inodes WHERE ds = $1 AND ino = $2 ORDER BY tid_from",
                                  {i(ds), i(ino)}));
    std::vector<InodeVersion> out;
    for (int r = 0; r < rows.size(); ++r) out.push_back({inode_row(rows, r), rows.u64(r, 16)});
    return out;
  }

  Result<std::vector<TxlogEntry>> log_entries(Tid before, std::int64_t since_ns, std::int64_t until_ns,
                                              std::size_t limit) override {
    auto rows = ANYFS_TRY(db_.run("SELECT tid, time, ds, op, detail FROM txlog WHERE tid < $1 AND time >= $2 AND "
                                  "time <= $3 ORDER BY tid DESC LIMIT $4",
                                  {i(before), since_ns, until_ns, static_cast<std::int64_t>(limit)}));
    std::vector<TxlogEntry> out;
    for (int r = 0; r < rows.size(); ++r)
      out.push_back({rows.u64(r, 0), rows.i64(r, 1), rows.u64(r, 2), rows.str(r, 3), rows.str(r, 4)});
    return out;
  }

 private:
  // A closed row read for prune, and whether its chunk column decoded.
  struct Read {
    ClosedRow row;
    Result<void> chunk_ok;
  };

  static Result<void> ok(const Result<Rows>& r) {
    if (!r) return std::unexpected(r.error());
    return {};
  }

  static Result<std::optional<Tid>> optional_tid(const Rows& rows) {
    if (rows.empty() || rows.is_null(0, 0)) return std::optional<Tid>();
    return std::optional<Tid>(rows.u64(0, 0));
  }

  // Rows selected as (tid_to, owner[, key], tid_from, chunk).
  static std::vector<Read> read_rows(const Rows& rows, const RecordTable& t) {
    std::vector<Read> out;
    const int c = t.key != nullptr ? 3 : 2;
    for (int r = 0; r < rows.size(); ++r) {
      Read read{{}, {}};
      ClosedRow& row = read.row;
      row.tid_to = rows.u64(r, 0);
      row.owner = rows.i64(r, 1);
      if (t.key != nullptr && t.int_key) row.int_key = rows.i64(r, 2);
      else if (t.key != nullptr) row.key = rows.str(r, 2);
      row.tid_from = rows.u64(r, c);
      if (!rows.is_null(r, c + 1)) {
        auto id = chunk_id_from(rows.bytes(r, c + 1));
        if (id) row.chunk = *id;
        else read.chunk_ok = std::unexpected(id.error());
      }
      out.push_back(std::move(read));
    }
    return out;
  }

  Result<void> delete_row(const RecordTable& t, DatasetId ds, const ClosedRow& r) {
    std::string sql = fmt::format("DELETE FROM {} WHERE ds = $1 AND {} = $2 AND tid_to = $3", t.name, t.owner);
    std::vector<Param> params{i(ds), r.owner, i(r.tid_to)};
    if (t.key != nullptr) {
      sql += fmt::format(" AND {} = $4", t.key);
      if (t.int_key) params.emplace_back(r.int_key);
      else params.emplace_back(Bytes{r.key});
    }
    return ok(db_.run(sql, params));
  }

  // Over every record table: `born` of the rows born in ($2, $3], UNION
  // `died` of the rows closed in ($2, $3]; {1} stands for the inode column.
  static std::string union_of_changes(std::string_view born, std::string_view died) {
    std::string q;
    for (const auto& t : k_record_tables) {
      if (!q.empty()) q += " UNION ";
      q += fmt::format(fmt::runtime(fmt::format("SELECT {} FROM {{0}} WHERE ds = $1 AND tid_from > $2 AND tid_from "
                                                "<= $3 UNION SELECT {} FROM {{0}} WHERE ds = $1 AND tid_to > $2 AND "
                                                "tid_to <= $3 AND tid_to < 9223372036854775807",
                                                born, died)),
                       t.name, t.inode_column());
    }
    return q;
  }

  pg::Db& db_;
  MetaStore& meta_;
};

}  // namespace

std::unique_ptr<HistoryStore> make_pg_history_store(pg::Db& db, MetaStore& meta) {
  return std::make_unique<PgHistoryStore>(db, meta);
}

}  // namespace anyfs
