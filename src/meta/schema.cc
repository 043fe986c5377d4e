// Schema v1. Every record table is keyed (dataset, owner, tid_to, key): live rows
// carry tid_to = k_tid_live, so the live view of one directory, file or inode is
// one contiguous range of the primary key — the partial "live" index of
// DESIGN.md §3 is the key order itself. Closed rows (kept only for history) get
// partial indexes by name, for as-of lookups.
#include "meta/schema.h"

#include <fmt/format.h>

#include <iterator>

#include "chunk/sqlite_chunk_store.h"
#include "util/sqlite.h"

namespace anyfs {
namespace {

constexpr const char* k_schema_v1 = R"sql(
CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE datasets(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_tid INTEGER NOT NULL);
CREATE TABLE properties(ds INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY(ds, name)) WITHOUT ROWID;
CREATE TABLE inodes(ds INTEGER NOT NULL, ino INTEGER NOT NULL, tid_to INTEGER NOT NULL, tid_from INTEGER NOT NULL,
  kind INTEGER NOT NULL, mode INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL, nlink INTEGER NOT NULL,
  size INTEGER NOT NULL, atime INTEGER NOT NULL, mtime INTEGER NOT NULL, ctime INTEGER NOT NULL,
  btime INTEGER NOT NULL, rdev INTEGER NOT NULL, target BLOB, project INTEGER NOT NULL, generation INTEGER NOT NULL,
  PRIMARY KEY(ds, ino, tid_to)) WITHOUT ROWID;
CREATE TABLE dirents(ds INTEGER NOT NULL, parent INTEGER NOT NULL, tid_to INTEGER NOT NULL, name BLOB NOT NULL,
  tid_from INTEGER NOT NULL, ino INTEGER NOT NULL, kind INTEGER NOT NULL,
  PRIMARY KEY(ds, parent, tid_to, name)) WITHOUT ROWID;
CREATE INDEX dirents_closed ON dirents(ds, parent, name, tid_to) WHERE tid_to < 9223372036854775807;
CREATE TABLE extents(ds INTEGER NOT NULL, ino INTEGER NOT NULL, tid_to INTEGER NOT NULL, offset INTEGER NOT NULL,
  tid_from INTEGER NOT NULL, length INTEGER NOT NULL, chunk BLOB NOT NULL, chunk_offset INTEGER NOT NULL,
  PRIMARY KEY(ds, ino, tid_to, offset)) WITHOUT ROWID;
CREATE TABLE xattrs(ds INTEGER NOT NULL, ino INTEGER NOT NULL, tid_to INTEGER NOT NULL, name BLOB NOT NULL,
  tid_from INTEGER NOT NULL, value BLOB NOT NULL,
  PRIMARY KEY(ds, ino, tid_to, name)) WITHOUT ROWID;
CREATE TABLE kv(ds INTEGER NOT NULL, ino INTEGER NOT NULL, tid_to INTEGER NOT NULL, key BLOB NOT NULL,
  tid_from INTEGER NOT NULL, value BLOB, chunk BLOB,
  PRIMARY KEY(ds, ino, tid_to, key)) WITHOUT ROWID;
CREATE TABLE chunk_refs(chunk BLOB PRIMARY KEY, refs INTEGER NOT NULL, zero_since INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE txlog(tid INTEGER PRIMARY KEY, time INTEGER NOT NULL, ds INTEGER NOT NULL, op TEXT NOT NULL,
  detail TEXT NOT NULL);
)sql";

// Migrations from version N to N+1, in order. A new pool is created as format 1
// and migrated, so every migration runs on every test pool.
//
// 1 -> 2: history (docs/FORMAT.md, "History"). Datasets learn their clone
// origin and how far back their history is kept; snapshots and bookmarks name
// TIDs; txgs records where each transaction group ended (an as-of read is only
// consistent at such a boundary). Each record table gets an index on tid_from and
// a partial one on the tid_to of closed rows, so that diff, rollback and prune
// read what changed between two TIDs and nothing else; dirents get one by child
// inode, to name a changed file's path.
//
// 2 -> 3: no table changes. Pools made from now on carry page checksums
// (docs/FORMAT.md, "Page checksums"); an older anyfs would write pages without
// them, which the checks would then take for damage, so it must refuse these
// pools as a newer format.
//
// 3 -> 4: volumes (docs/FORMAT.md, "Volume files"). `volumes` lists the
// pool's volume files in order; `chunk_copies` says which volumes hold each
// chunk stored on volumes (a chunk with no row is in the pool file's own
// `chunks` table). Both stay empty in a single-file pool.
//
// 4 -> 5: volume health (docs/FORMAT.md, "Volume files"). Each volume row
// gains its state — online, or draining while `volume remove`/`move` empties
// it (onto `drain_to`, or 0: any other volume) — and its error counters: read
// errors, checksum errors (a copy that failed either checksum), write errors,
// and copies repaired from a good one. `chunk_copies_volume` lets a drain and
// a scrub walk one volume's copies in chunk order.
//
// 5 -> 6: snapshot guids (docs/FORMAT.md, "Replication streams"). Every
// snapshot gets a random 128-bit guid, kept by its bookmarks and carried by
// send streams, so that a receiver knows an incremental's base by identity
// rather than by name or TID. Snapshots made before get theirs here.
// `receive_partial` and `receive_spool` keep a resumable receive's stream
// while it arrives (`receive -s`), by target dataset name.
constexpr const char* k_migrations[] = {
    R"sql(
ALTER TABLE datasets ADD COLUMN origin INTEGER;
ALTER TABLE datasets ADD COLUMN origin_tid INTEGER;
ALTER TABLE datasets ADD COLUMN history_from INTEGER;
CREATE TABLE snapshots(ds INTEGER NOT NULL, name TEXT NOT NULL, tid INTEGER NOT NULL, time INTEGER NOT NULL,
  PRIMARY KEY(ds, name)) WITHOUT ROWID;
CREATE INDEX snapshots_tid ON snapshots(ds, tid);
CREATE TABLE bookmarks(ds INTEGER NOT NULL, name TEXT NOT NULL, tid INTEGER NOT NULL, time INTEGER NOT NULL,
  PRIMARY KEY(ds, name)) WITHOUT ROWID;
CREATE TABLE txgs(tid INTEGER PRIMARY KEY, time INTEGER NOT NULL);
CREATE INDEX txgs_time ON txgs(time);
CREATE INDEX txlog_time ON txlog(time);
CREATE INDEX inodes_born ON inodes(ds, tid_from);
CREATE INDEX inodes_died ON inodes(ds, tid_to) WHERE tid_to < 9223372036854775807;
CREATE INDEX dirents_born ON dirents(ds, tid_from);
CREATE INDEX dirents_died ON dirents(ds, tid_to) WHERE tid_to < 9223372036854775807;
CREATE INDEX dirents_child ON dirents(ds, ino);
CREATE INDEX extents_born ON extents(ds, tid_from);
CREATE INDEX extents_died ON extents(ds, tid_to) WHERE tid_to < 9223372036854775807;
CREATE INDEX xattrs_born ON xattrs(ds, tid_from);
CREATE INDEX xattrs_died ON xattrs(ds, tid_to) WHERE tid_to < 9223372036854775807;
CREATE INDEX kv_born ON kv(ds, tid_from);
CREATE INDEX kv_died ON kv(ds, tid_to) WHERE tid_to < 9223372036854775807;
)sql",
    "SELECT 1",
    R"sql(
CREATE TABLE volumes(id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, path TEXT NOT NULL,
  cap_bytes INTEGER NOT NULL);
CREATE TABLE chunk_copies(chunk BLOB NOT NULL, volume INTEGER NOT NULL, PRIMARY KEY(chunk, volume)) WITHOUT ROWID;
)sql",
    R"sql(
ALTER TABLE volumes ADD COLUMN state TEXT NOT NULL DEFAULT 'online';
ALTER TABLE volumes ADD COLUMN drain_to INTEGER NOT NULL DEFAULT 0;
ALTER TABLE volumes ADD COLUMN read_errors INTEGER NOT NULL DEFAULT 0;
ALTER TABLE volumes ADD COLUMN checksum_errors INTEGER NOT NULL DEFAULT 0;
ALTER TABLE volumes ADD COLUMN write_errors INTEGER NOT NULL DEFAULT 0;
ALTER TABLE volumes ADD COLUMN repaired INTEGER NOT NULL DEFAULT 0;
CREATE INDEX chunk_copies_volume ON chunk_copies(volume, chunk);
)sql",
    R"sql(
ALTER TABLE snapshots ADD COLUMN guid TEXT NOT NULL DEFAULT '';
ALTER TABLE bookmarks ADD COLUMN guid TEXT NOT NULL DEFAULT '';
UPDATE snapshots SET guid = lower(hex(randomblob(16)));
CREATE TABLE receive_partial(target TEXT PRIMARY KEY, token TEXT NOT NULL, bytes INTEGER NOT NULL,
  pieces INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE receive_spool(target TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY(target, seq));
UPDATE bookmarks SET guid = coalesce((SELECT s.guid FROM snapshots s WHERE s.ds = bookmarks.ds AND s.tid = bookmarks.tid),
  lower(hex(randomblob(16))));
)sql",
};
static_assert(std::size(k_migrations) == k_format_version - 1);

Result<void> migrate(sql::Db& db, int from) {
  for (auto v = from; v < k_format_version; ++v) ANYFS_CHECK(db.exec(k_migrations[v - 1]));
  return db.exec(fmt::format("PRAGMA user_version = {}", k_format_version));
}

}  // namespace

Result<void> create_schema(sql::Db& db) {
  ANYFS_CHECK(db.exec(k_schema_v1));
  ANYFS_CHECK(create_chunk_table(db));  // the last table of v1, as volumes have it
  ANYFS_CHECK(db.exec(fmt::format("PRAGMA application_id = {};", k_application_id)));
  return migrate(db, 1);
}

Result<void> check_schema(sql::Db& db, bool writable) {
  auto app = ANYFS_TRY(db.query_int("PRAGMA application_id"));
  if (!app || *app != k_application_id) return fail(Errc::Corrupt, db.path(), "not an AnyFS pool");
  auto version = ANYFS_TRY(db.query_int("PRAGMA user_version")).value_or(0);
  if (version > k_format_version)
    return fail(Errc::Unsupported, db.path(),
                fmt::format("pool format {} is newer than this anyfs supports ({}); upgrade anyfs", version,
                            k_format_version));
  if (version < 1) return fail(Errc::Corrupt, db.path(), fmt::format("bad pool format version {}", version));
  if (version < k_format_version) {
    if (!writable)
      return fail(Errc::ReadOnly, db.path(),
                  fmt::format("pool format {} needs migrating to {}; open it writable once", version,
                              k_format_version));
    ANYFS_CHECK(db.exec("BEGIN IMMEDIATE"));
    auto step = migrate(db, static_cast<int>(version));
    if (!step) {
      (void)db.exec("ROLLBACK");
      return step;
    }
    ANYFS_CHECK(db.exec("COMMIT"));
  }
  return {};
}

}  // namespace anyfs
