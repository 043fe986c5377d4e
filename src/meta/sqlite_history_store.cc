// HistoryStore over SQLite (schema format 2, meta/schema.cc). The bulk
// operations go through the indexes on tid_from and on the tid_to of closed
// rows, so each costs the rows changed between its TIDs, not the tree.
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "meta/history_store.h"
#include "meta/record_tables.h"
#include "meta/sqlite_rows.h"
#include "util/sqlite.h"

namespace anyfs {
namespace {
using namespace sqlrows;

using Table = RecordTable;

class SqliteHistoryStore final : public HistoryStore {
 public:
  SqliteHistoryStore(sql::Db& db, MetaStore& meta) : db_(db), meta_(meta) {}

  // --- Datasets ---
  Result<std::vector<DatasetState>> datasets() override {
    auto stmt = ANYFS_TRY(
        db_.prepare("SELECT id, name, created_tid, origin, origin_tid, history_from FROM datasets ORDER BY name"));
    std::vector<DatasetState> out;
    while (ANYFS_TRY(stmt.step())) {
      DatasetState d;
      d.id = stmt.column_u64(0);
      d.name = stmt.column_string(1);
      d.created_tid = stmt.column_u64(2);
      if (!stmt.column_is_null(3)) d.origin = stmt.column_u64(3);
      d.origin_tid = stmt.column_u64(4);
      if (!stmt.column_is_null(5)) d.history_from = stmt.column_u64(5);
      out.push_back(std::move(d));
    }
    return out;
  }
  Result<void> rename_dataset(DatasetId ds, std::string_view name) override {
    auto stmt = ANYFS_TRY(db_.prepare("UPDATE datasets SET name = ?2 WHERE id = ?1"));
    stmt.bind(1, ds).bind_text(2, name);
    return stmt.run();
  }
  Result<void> set_history_from(DatasetId ds, std::optional<Tid> from) override {
    auto stmt = ANYFS_TRY(db_.prepare("UPDATE datasets SET history_from = ?2 WHERE id = ?1"));
    stmt.bind(1, ds);
    if (from)
      stmt.bind(2, *from);
    else
      stmt.bind_null(2);
    return stmt.run();
  }
  Result<void> set_origin(DatasetId ds, std::optional<DatasetId> origin, Tid origin_tid) override {
    auto stmt = ANYFS_TRY(db_.prepare("UPDATE datasets SET origin = ?2, origin_tid = ?3 WHERE id = ?1"));
    stmt.bind(1, ds).bind(3, origin_tid);
    if (origin)
      stmt.bind(2, *origin);
    else
      stmt.bind_null(2);
    return stmt.run();
  }
  Result<void> drop_dataset(DatasetId ds) override {
    for (const auto& t : k_record_tables) {
      if (t.has_chunk) {
        auto refs = ANYFS_TRY(db_.prepare(fmt::format(
            "SELECT chunk, count(*) FROM {} WHERE ds = ?1 AND chunk IS NOT NULL GROUP BY chunk", t.name)));
        refs.bind(1, ds);
        while (ANYFS_TRY(refs.step())) meta_.adjust_refs(ANYFS_TRY(id_from(refs.column_blob(0))), -refs.column_int(1));
      }
      auto del = ANYFS_TRY(db_.prepare(fmt::format("DELETE FROM {} WHERE ds = ?1", t.name)));
      del.bind(1, ds);
      ANYFS_CHECK(del.run());
    }
    for (const char* q : {"DELETE FROM properties WHERE ds = ?1", "DELETE FROM snapshots WHERE ds = ?1",
                          "DELETE FROM bookmarks WHERE ds = ?1", "DELETE FROM datasets WHERE id = ?1"}) {
      auto del = ANYFS_TRY(db_.prepare(q));
      del.bind(1, ds);
      ANYFS_CHECK(del.run());
    }
    return {};
  }

  // --- Transaction-group boundaries ---
  Result<void> record_txg(Tid end, std::int64_t time_ns) override {
    auto stmt = ANYFS_TRY(db_.prepare("INSERT OR REPLACE INTO txgs(tid, time) VALUES(?1, ?2)"));
    stmt.bind(1, end).bind(2, time_ns);
    return stmt.run();
  }
  Result<std::optional<Tid>> txg_containing(Tid tid) override {
    auto stmt = ANYFS_TRY(db_.prepare("SELECT min(tid) FROM txgs WHERE tid >= ?1"));
    stmt.bind(1, tid);
    return optional_tid(stmt);
  }
  Result<std::optional<Tid>> txg_at_time(std::int64_t time_ns) override {
    auto stmt = ANYFS_TRY(db_.prepare("SELECT tid FROM txgs WHERE time <= ?1 ORDER BY time DESC, tid DESC LIMIT 1"));
    stmt.bind(1, time_ns);
    return optional_tid(stmt);
  }
  Result<std::optional<std::int64_t>> txg_time(Tid end) override {
    auto stmt = ANYFS_TRY(db_.prepare("SELECT time FROM txgs WHERE tid = ?1"));
    stmt.bind(1, end);
    if (!ANYFS_TRY(stmt.step())) return std::optional<std::int64_t>();
    return std::optional<std::int64_t>(stmt.column_int(0));
  }
  Result<void> forget_txgs_before(Tid tid) override {
    auto stmt = ANYFS_TRY(db_.prepare("DELETE FROM txgs WHERE tid < ?1"));
    stmt.bind(1, tid);
    return stmt.run();
  }

  // --- Snapshots and bookmarks ---
  Result<std::vector<NamedTid>> names(DatasetId ds, NameKind kind) override {
    auto stmt = ANYFS_TRY(
        db_.prepare(fmt::format("SELECT name, tid, time, guid FROM {} WHERE ds = ?1 ORDER BY tid, name", table(kind))));
    stmt.bind(1, ds);
    std::vector<NamedTid> out;
    while (ANYFS_TRY(stmt.step()))
      out.push_back({ds, stmt.column_string(0), stmt.column_u64(1), stmt.column_int(2), stmt.column_string(3)});
    return out;
  }
  Result<std::optional<NamedTid>> name(DatasetId ds, std::string_view name, NameKind kind) override {
    auto stmt = ANYFS_TRY(db_.prepare(fmt::format("SELECT tid, time, guid FROM {} WHERE ds = ?1 AND name = ?2", table(kind))));
    stmt.bind(1, ds).bind_text(2, name);
    if (!ANYFS_TRY(stmt.step())) return std::optional<NamedTid>();
    return std::optional<NamedTid>(
        NamedTid{ds, std::string(name), stmt.column_u64(0), stmt.column_int(1), stmt.column_string(2)});
  }
  Result<void> put_name(const NamedTid& e, NameKind kind) override {
    if (ANYFS_TRY(name(e.ds, e.name, kind)))
      return fail(Errc::Exists, e.name,
                  kind == NameKind::Snapshot ? "a snapshot of this name exists" : "a bookmark of this name exists");
    auto stmt =
        ANYFS_TRY(db_.prepare(fmt::format("INSERT INTO {}(ds, name, tid, time, guid) VALUES(?1, ?2, ?3, ?4, ?5)", table(kind))));
    stmt.bind(1, e.ds).bind_text(2, e.name).bind(3, e.tid).bind(4, e.time_ns).bind_text(5, e.guid);
    return stmt.run();
  }
  Result<void> drop_name(DatasetId ds, std::string_view name, NameKind kind) override {
    auto stmt = ANYFS_TRY(db_.prepare(fmt::format("DELETE FROM {} WHERE ds = ?1 AND name = ?2", table(kind))));
    stmt.bind(1, ds).bind_text(2, name);
    return stmt.run();
  }
  Result<void> rename_name(DatasetId ds, std::string_view from, std::string_view to, NameKind kind) override {
    auto stmt = ANYFS_TRY(db_.prepare(fmt::format("UPDATE {} SET name = ?3 WHERE ds = ?1 AND name = ?2", table(kind))));
    stmt.bind(1, ds).bind_text(2, from).bind_text(3, to);
    return stmt.run();
  }
  Result<std::uint64_t> unique_bytes(DatasetId ds, Tid prev, Tid tid, Tid next) override {
    auto stmt = ANYFS_TRY(db_.prepare(
        "SELECT coalesce(sum(length), 0) FROM extents WHERE ds = ?1 AND tid_from > ?2 AND tid_from <= ?3 "
        "AND tid_to > ?3 AND tid_to <= ?4 AND tid_to < 9223372036854775807"));
    stmt.bind(1, ds).bind(2, prev).bind(3, tid).bind(4, next);
    ANYFS_TRY(stmt.step());
    return stmt.column_u64(0);
  }

  // --- Bulk operations ---
  Result<PruneStep> prune(DatasetId ds, Tid window_to, const std::vector<Tid>& pinned, std::size_t limit,
                          PruneCursor& cursor) override {
    PruneStep step;
    while (!cursor.done() && step.rows_removed < limit) {
      const Table& t = k_record_tables[static_cast<std::size_t>(cursor.table)];
      // The next rows by tid_to, and every row sharing the last tid_to, so that
      // the cursor can move past it.
      std::string cols = fmt::format("tid_to, {}, tid_from, {}", t.key_columns(), t.chunk_column());
      std::string where = "ds = ?1 AND tid_to > ?2 AND tid_to <= ?3 AND tid_to < 9223372036854775807";
      auto stmt = ANYFS_TRY(db_.prepare(fmt::format(
          "SELECT {0} FROM {1} INDEXED BY {2}_died WHERE {3} ORDER BY tid_to LIMIT ?4", cols, t.name, t.name, where)));
      stmt.bind(1, ds).bind(2, cursor.after).bind(3, window_to).bind(4, static_cast<std::int64_t>(limit));
      std::vector<ClosedRow> rows = ANYFS_TRY(read_rows(stmt, t));
      if (rows.size() == limit) {
        auto rest = ANYFS_TRY(db_.prepare(fmt::format(
            "SELECT {0} FROM {1} INDEXED BY {2}_died WHERE ds = ?1 AND tid_to = ?2 "
            "AND tid_to < 9223372036854775807",
            cols, t.name, t.name)));
        rest.bind(1, ds).bind(2, rows.back().tid_to);
        std::vector<ClosedRow> more = ANYFS_TRY(read_rows(rest, t));
        std::erase_if(rows, [&](const ClosedRow& r) { return r.tid_to == rows.back().tid_to; });
        rows.insert(rows.end(), more.begin(), more.end());
      }
      if (rows.empty()) {
        cursor = {cursor.table + 1, 0};
        continue;
      }
      for (const auto& r : rows) {
        // Seen by a pinned TID p when tid_from <= p < tid_to.
        if (pinned_sees(pinned, r.tid_from, r.tid_to)) continue;
        ANYFS_CHECK(delete_row(t, ds, r));
        step.rows_removed += 1;
        if (r.chunk) {
          meta_.adjust_refs(*r.chunk, -1);
          step.refs_released += 1;
        }
      }
      cursor.after = rows.back().tid_to;
    }
    return step;
  }

  Result<std::uint64_t> rollback(DatasetId ds, Tid to, Tid tid, Tid keep) override {
    std::uint64_t changed = 0;
    for (const auto& t : k_record_tables) {
      std::string keys = t.key_columns();
      // Live rows born after `to`: those something can still see are closed, the
      // rest removed (giving their chunk references back).
      auto close = ANYFS_TRY(db_.prepare(fmt::format(
          "UPDATE {} SET tid_to = ?4 WHERE ds = ?1 AND tid_to = 9223372036854775807 AND tid_from > ?2 "
          "AND tid_from <= ?3",
          t.name)));
      close.bind(1, ds).bind(2, to).bind(3, keep).bind(4, tid);
      ANYFS_CHECK(close.run());
      changed += static_cast<std::uint64_t>(db_.changes());
      if (t.has_chunk) {
        auto refs = ANYFS_TRY(db_.prepare(fmt::format(
            "SELECT chunk FROM {} WHERE ds = ?1 AND tid_to = 9223372036854775807 AND tid_from > ?2 "
            "AND chunk IS NOT NULL",
            t.name)));
        refs.bind(1, ds).bind(2, to);
        while (ANYFS_TRY(refs.step())) meta_.adjust_refs(ANYFS_TRY(id_from(refs.column_blob(0))), -1);
      }
      auto del = ANYFS_TRY(db_.prepare(fmt::format(
          "DELETE FROM {} WHERE ds = ?1 AND tid_to = 9223372036854775807 AND tid_from > ?2", t.name)));
      del.bind(1, ds).bind(2, to);
      ANYFS_CHECK(del.run());
      changed += static_cast<std::uint64_t>(db_.changes());
      // Rows `to` saw that were closed since: live again, as new rows.
      // (+tid_from: through the index of closed rows, not of every row born before `to`)
      std::string visible = "ds = ?1 AND tid_to > ?2 AND tid_to < 9223372036854775807 AND +tid_from <= ?2";
      if (t.has_chunk) {
        auto refs = ANYFS_TRY(db_.prepare(
            fmt::format("SELECT chunk FROM {} WHERE {} AND chunk IS NOT NULL", t.name, visible)));
        refs.bind(1, ds).bind(2, to);
        while (ANYFS_TRY(refs.step())) meta_.adjust_refs(ANYFS_TRY(id_from(refs.column_blob(0))), 1);
      }
      auto revive = ANYFS_TRY(db_.prepare(fmt::format(
          "INSERT INTO {0}(ds, {1}, tid_to, tid_from, {2}) SELECT ds, {1}, 9223372036854775807, ?3, {2} FROM {0} "
          "WHERE {3}",
          t.name, keys, t.rest, visible)));
      revive.bind(1, ds).bind(2, to).bind(3, tid);
      ANYFS_CHECK(revive.run());
      changed += static_cast<std::uint64_t>(db_.changes());
    }
    return changed;
  }

  Result<std::vector<Ino>> changed_inodes(DatasetId ds, Tid from, Tid to) override {
    std::string q;
    for (const auto& t : k_record_tables) {
      const char* ino = t.inode_column();
      if (!q.empty()) q += " UNION ";
      q += fmt::format(
          "SELECT {1} FROM {0} WHERE ds = ?1 AND tid_from > ?2 AND tid_from <= ?3 UNION "
          "SELECT {1} FROM {0} WHERE ds = ?1 AND tid_to > ?2 AND tid_to <= ?3 AND tid_to < 9223372036854775807",
          t.name, ino);
    }
    auto stmt = ANYFS_TRY(db_.prepare(q));
    stmt.bind(1, ds).bind(2, from).bind(3, to);
    std::vector<Ino> out;
    while (ANYFS_TRY(stmt.step())) out.push_back(stmt.column_u64(0));
    std::sort(out.begin(), out.end());
    return out;
  }

  Result<std::vector<Tid>> changed_states(DatasetId ds, Tid from, Tid to) override {
    std::string q;
    for (const auto& t : k_record_tables) {
      if (!q.empty()) q += " UNION ";
      q += fmt::format(
          "SELECT tid_from AS t FROM {0} WHERE ds = ?1 AND tid_from > ?2 AND tid_from <= ?3 UNION "
          "SELECT tid_to FROM {0} WHERE ds = ?1 AND tid_to > ?2 AND tid_to <= ?3 AND tid_to < 9223372036854775807",
          t.name);
    }
    // Each TID belongs to the group that ends at the first boundary at or after it.
    auto stmt = ANYFS_TRY(db_.prepare(fmt::format(
        "SELECT DISTINCT (SELECT min(g.tid) FROM txgs g WHERE g.tid >= c.t) AS e FROM ({}) c "
        "WHERE e IS NOT NULL ORDER BY e",
        q)));
    stmt.bind(1, ds).bind(2, from).bind(3, to);
    std::vector<Tid> out;
    while (ANYFS_TRY(stmt.step())) out.push_back(stmt.column_u64(0));
    return out;
  }

  Result<std::vector<DirentRecord>> names_of(DatasetId ds, Ino ino, Tid at) override {
    auto stmt = ANYFS_TRY(db_.prepare(
        at == k_tid_live
            ? "SELECT parent, name, kind FROM dirents INDEXED BY dirents_child WHERE ds = ?1 AND ino = ?2 "
              "AND tid_to = ?3 ORDER BY parent, name"
            : "SELECT parent, name, kind FROM dirents INDEXED BY dirents_child WHERE ds = ?1 AND ino = ?2 "
              "AND tid_to > ?3 AND tid_from <= ?3 ORDER BY parent, name"));
    stmt.bind(1, ds).bind(2, ino).bind(3, at);
    std::vector<DirentRecord> out;
    while (ANYFS_TRY(stmt.step()))
      out.push_back({stmt.column_u64(0), stmt.column_string(1), ino, static_cast<FileKind>(stmt.column_int(2))});
    return out;
  }

  Result<std::vector<std::string>> check_state(DatasetId ds, Tid at) override {
    std::vector<std::string> out;
    auto missing = ANYFS_TRY(db_.prepare(
        "SELECT d.parent, d.name, d.ino FROM dirents d WHERE d.ds = ?1 AND d.tid_from <= ?2 AND d.tid_to > ?2 "
        "AND NOT EXISTS (SELECT 1 FROM inodes i WHERE i.ds = d.ds AND i.ino = d.ino AND +i.tid_from <= ?2 "
        "AND i.tid_to > ?2)"));
    missing.bind(1, ds).bind(2, at);
    while (ANYFS_TRY(missing.step()))
      out.push_back(missing_inode_problem(missing.column_string(1), missing.column_u64(0), missing.column_u64(2)));
    auto stray = ANYFS_TRY(db_.prepare(
        "SELECT e.ino, e.offset FROM extents e WHERE e.ds = ?1 AND e.tid_from <= ?2 AND e.tid_to > ?2 "
        "AND NOT EXISTS (SELECT 1 FROM inodes i WHERE i.ds = e.ds AND i.ino = e.ino AND +i.tid_from <= ?2 "
        "AND i.tid_to > ?2 AND i.kind = 0 AND i.size >= e.offset + e.length)"));
    stray.bind(1, ds).bind(2, at);
    while (ANYFS_TRY(stray.step()))
      out.push_back(stray_extent_problem(stray.column_u64(1), stray.column_u64(0)));
    auto root = ANYFS_TRY(db_.prepare(
        "SELECT 1 FROM inodes WHERE ds = ?1 AND ino = 1 AND tid_from <= ?2 AND tid_to > ?2"));
    root.bind(1, ds).bind(2, at);
    if (!ANYFS_TRY(root.step())) out.push_back(k_missing_root_problem);
    return out;
  }

  Result<std::vector<InodeVersion>> inode_versions(DatasetId ds, Ino ino) override {
    auto stmt = ANYFS_TRY(db_.prepare(std::string("SELECT ") + k_inode_columns +
                                      ", tid_to FROM inodes WHERE ds = ?1 AND ino = ?2 ORDER BY tid_from"));
    stmt.bind(1, ds).bind(2, ino);
    std::vector<InodeVersion> out;
    while (ANYFS_TRY(stmt.step())) out.push_back({inode_row(stmt), stmt.column_u64(16)});
    return out;
  }

  Result<std::vector<TxlogEntry>> log_entries(Tid before, std::int64_t since_ns, std::int64_t until_ns,
                                              std::size_t limit) override {
    auto stmt = ANYFS_TRY(db_.prepare(
        "SELECT tid, time, ds, op, detail FROM txlog WHERE tid < ?1 AND time >= ?2 AND time <= ?3 "
        "ORDER BY tid DESC LIMIT ?4"));
    stmt.bind(1, before).bind(2, since_ns).bind(3, until_ns).bind(4, static_cast<std::int64_t>(limit));
    std::vector<TxlogEntry> out;
    while (ANYFS_TRY(stmt.step()))
      out.push_back({stmt.column_u64(0), stmt.column_int(1), stmt.column_u64(2), stmt.column_string(3),
                     stmt.column_string(4)});
    return out;
  }

 private:
  static const char* table(NameKind kind) { return kind == NameKind::Snapshot ? "snapshots" : "bookmarks"; }

  static Result<std::optional<Tid>> optional_tid(sql::Stmt& stmt) {
    if (!ANYFS_TRY(stmt.step()) || stmt.column_is_null(0)) return std::optional<Tid>();
    return std::optional<Tid>(stmt.column_u64(0));
  }

  // Rows selected as (tid_to, owner[, key], tid_from, chunk).
  static Result<std::vector<ClosedRow>> read_rows(sql::Stmt& stmt, const Table& t) {
    std::vector<ClosedRow> rows;
    int c = t.key != nullptr ? 3 : 2;
    while (ANYFS_TRY(stmt.step())) {
      ClosedRow r;
      r.tid_to = stmt.column_u64(0);
      r.owner = stmt.column_int(1);
      if (t.key != nullptr && t.int_key) r.int_key = stmt.column_int(2);
      else if (t.key != nullptr) r.key = stmt.column_string(2);
      r.tid_from = stmt.column_u64(c);
      if (!stmt.column_is_null(c + 1)) r.chunk = ANYFS_TRY(id_from(stmt.column_blob(c + 1)));
      rows.push_back(std::move(r));
    }
    return rows;
  }

  Result<void> delete_row(const Table& t, DatasetId ds, const ClosedRow& r) {
    std::string where = fmt::format("ds = ?1 AND {} = ?2 AND tid_to = ?3", t.owner);
    if (t.key != nullptr) where += fmt::format(" AND {} = ?4", t.key);
    auto stmt = ANYFS_TRY(db_.prepare(fmt::format("DELETE FROM {} WHERE {}", t.name, where)));
    stmt.bind(1, ds).bind(2, r.owner).bind(3, r.tid_to);
    if (t.key != nullptr) {
      if (t.int_key)
        stmt.bind(4, r.int_key);
      else
        stmt.bind_blob(4, r.key);
    }
    return stmt.run();
  }

  sql::Db& db_;
  MetaStore& meta_;
};

}  // namespace

bool PruneCursor::done() const { return table >= static_cast<int>(k_record_tables.size()); }

std::unique_ptr<HistoryStore> make_sqlite_history_store(sql::Db& db, MetaStore& meta) {
  return std::make_unique<SqliteHistoryStore>(db, meta);
}

}  // namespace anyfs
