// Schema v1. Every record table is keyed (dataset, owner, tid_to, key): live rows
// carry tid_to = k_tid_live, so the live view of one directory, file or inode is
// one contiguous range of the primary key — the partial "live" index of
// DESIGN.md §3 is the key order itself. Closed rows (kept only for history) get
// partial indexes by name, for as-of lookups.
#include "meta/schema.h"

#include <fmt/format.h>

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
CREATE TABLE chunks(id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, codec INTEGER NOT NULL,
  raw_size INTEGER NOT NULL, checksum INTEGER NOT NULL, data BLOB NOT NULL);
)sql";

// Migrations from version N to N+1, in order; empty while there is one format.
constexpr const char* k_migrations[] = {nullptr};

}  // namespace

Result<void> create_schema(sql::Db& db) {
  ANYFS_CHECK(db.exec(k_schema_v1));
  ANYFS_CHECK(db.exec(fmt::format("PRAGMA application_id = {}; PRAGMA user_version = {};", k_application_id,
                                  k_format_version)));
  return {};
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
    for (auto v = version; v < k_format_version; ++v) {
      auto step = db.exec(k_migrations[v - 1]);
      if (!step) {
        (void)db.exec("ROLLBACK");
        return std::unexpected(step.error());
      }
    }
    ANYFS_CHECK(db.exec(fmt::format("PRAGMA user_version = {}; COMMIT", k_format_version)));
  }
  return {};
}

}  // namespace anyfs
