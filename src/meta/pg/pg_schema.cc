#include "meta/pg/pg_schema.h"

#include <fmt/format.h>

#include "meta/pg/pg_db.h"

namespace anyfs::pg {
namespace {

// tid_to is 2^63-1 while a row is live (k_tid_live).
constexpr const char* k_tables = R"(
CREATE TABLE IF NOT EXISTS settings(key text PRIMARY KEY, value bytea NOT NULL);
CREATE TABLE IF NOT EXISTS datasets(id bigserial PRIMARY KEY, name text NOT NULL UNIQUE, created_tid bigint NOT NULL,
  origin bigint, origin_tid bigint, history_from bigint);
CREATE TABLE IF NOT EXISTS properties(ds bigint NOT NULL, name text NOT NULL, value text NOT NULL,
                                      PRIMARY KEY(ds, name));
CREATE TABLE IF NOT EXISTS inodes(ds bigint NOT NULL, ino bigint NOT NULL, tid_to bigint NOT NULL,
  tid_from bigint NOT NULL, kind integer NOT NULL, mode bigint NOT NULL, uid bigint NOT NULL, gid bigint NOT NULL,
  nlink bigint NOT NULL, size bigint NOT NULL, atime bigint NOT NULL, mtime bigint NOT NULL, ctime bigint NOT NULL,
  btime bigint NOT NULL, rdev bigint NOT NULL, target bytea NOT NULL, project bigint NOT NULL,
  generation bigint NOT NULL, PRIMARY KEY(ds, ino, tid_to));
CREATE INDEX IF NOT EXISTS inodes_unlinked ON inodes(ds) WHERE nlink = 0 AND tid_to = 9223372036854775807;
CREATE TABLE IF NOT EXISTS dirents(ds bigint NOT NULL, parent bigint NOT NULL, tid_to bigint NOT NULL,
  name bytea NOT NULL, tid_from bigint NOT NULL, ino bigint NOT NULL, kind integer NOT NULL,
  PRIMARY KEY(ds, parent, tid_to, name));
CREATE INDEX IF NOT EXISTS dirents_closed ON dirents(ds, parent, name, tid_to)
  WHERE tid_to < 9223372036854775807;
CREATE TABLE IF NOT EXISTS extents(ds bigint NOT NULL, ino bigint NOT NULL, tid_to bigint NOT NULL,
  "offset" bigint NOT NULL, tid_from bigint NOT NULL, length bigint NOT NULL, chunk bytea NOT NULL,
  chunk_offset bigint NOT NULL, PRIMARY KEY(ds, ino, tid_to, "offset"));
CREATE TABLE IF NOT EXISTS xattrs(ds bigint NOT NULL, ino bigint NOT NULL, tid_to bigint NOT NULL,
  name bytea NOT NULL, tid_from bigint NOT NULL, value bytea NOT NULL, PRIMARY KEY(ds, ino, tid_to, name));
CREATE TABLE IF NOT EXISTS kv(ds bigint NOT NULL, ino bigint NOT NULL, tid_to bigint NOT NULL, key bytea NOT NULL,
  tid_from bigint NOT NULL, value bytea, chunk bytea, PRIMARY KEY(ds, ino, tid_to, key));
CREATE TABLE IF NOT EXISTS snapshots(ds bigint NOT NULL, name text NOT NULL, tid bigint NOT NULL, time bigint NOT NULL,
  guid text NOT NULL DEFAULT '', PRIMARY KEY(ds, name));
CREATE INDEX IF NOT EXISTS snapshots_tid ON snapshots(ds, tid);
CREATE TABLE IF NOT EXISTS bookmarks(ds bigint NOT NULL, name text NOT NULL, tid bigint NOT NULL, time bigint NOT NULL,
  guid text NOT NULL DEFAULT '', PRIMARY KEY(ds, name));
CREATE TABLE IF NOT EXISTS txgs(tid bigint PRIMARY KEY, time bigint NOT NULL);
CREATE INDEX IF NOT EXISTS txgs_time ON txgs(time);
CREATE INDEX IF NOT EXISTS dirents_child ON dirents(ds, ino);
CREATE TABLE IF NOT EXISTS chunk_refs(chunk bytea PRIMARY KEY, refs bigint NOT NULL, zero_since bigint NOT NULL);
CREATE INDEX IF NOT EXISTS chunk_refs_zero ON chunk_refs(zero_since) WHERE refs <= 0;
CREATE TABLE IF NOT EXISTS txlog(tid bigint PRIMARY KEY, time bigint NOT NULL, ds bigint NOT NULL, op text NOT NULL,
  detail bytea NOT NULL);
CREATE INDEX IF NOT EXISTS txlog_time ON txlog(time);
CREATE TABLE IF NOT EXISTS receive_partial(target text PRIMARY KEY, token text NOT NULL, bytes bigint NOT NULL,
  pieces bigint NOT NULL);
CREATE TABLE IF NOT EXISTS receive_spool(target text NOT NULL, seq bigint NOT NULL, data bytea NOT NULL,
  PRIMARY KEY(target, seq));
CREATE INDEX IF NOT EXISTS inodes_born ON inodes(ds, tid_from);
CREATE INDEX IF NOT EXISTS inodes_died ON inodes(ds, tid_to) WHERE tid_to < 9223372036854775807;
CREATE INDEX IF NOT EXISTS dirents_born ON dirents(ds, tid_from);
CREATE INDEX IF NOT EXISTS dirents_died ON dirents(ds, tid_to) WHERE tid_to < 9223372036854775807;
CREATE INDEX IF NOT EXISTS extents_born ON extents(ds, tid_from);
CREATE INDEX IF NOT EXISTS extents_died ON extents(ds, tid_to) WHERE tid_to < 9223372036854775807;
CREATE INDEX IF NOT EXISTS xattrs_born ON xattrs(ds, tid_from);
CREATE INDEX IF NOT EXISTS xattrs_died ON xattrs(ds, tid_to) WHERE tid_to < 9223372036854775807;
CREATE INDEX IF NOT EXISTS kv_born ON kv(ds, tid_from);
CREATE INDEX IF NOT EXISTS kv_died ON kv(ds, tid_to) WHERE tid_to < 9223372036854775807;
)";

}  // namespace

Result<void> check_schema_name(std::string_view name) {
  const bool ok = !name.empty() && name.size() <= 63 && !(name[0] >= '0' && name[0] <= '9') &&
                  !name.starts_with("pg_") && name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") ==
                                                  std::string_view::npos;
  if (!ok)
    return fail(Errc::InvalidArgument, std::string(name),
                "a pool's schema name is 1..63 of [a-z0-9_], not starting with a digit or pg_");
  return {};
}

Result<void> create_or_use_schema(Db& db, const std::string& schema) {
  ANYFS_CHECK(check_schema_name(schema));
  // Two creators at once: the second waits for the first's lock, then finds it all made.
  ANYFS_CHECK(db.exec("BEGIN"));
  auto made = [&]() -> Result<void> {
    ANYFS_CHECK(db.exec(fmt::format("SELECT pg_advisory_xact_lock(hashtext('anyfs schema {}'))", schema)));
    ANYFS_CHECK(db.exec(fmt::format("CREATE SCHEMA IF NOT EXISTS {0}; SET LOCAL search_path = {0}", schema)));
    ANYFS_CHECK(db.exec(k_tables));
    auto format = ANYFS_TRY(db.run("SELECT value FROM settings WHERE key = 'format'"));
    if (format.empty()) {
      const std::string v = std::to_string(k_pg_format_version);
      ANYFS_TRY(db.run("INSERT INTO settings(key, value) VALUES('format', $1)", {Bytes{v}}));
    } else if (std::strtol(format.str(0, 0).c_str(), nullptr, 10) > k_pg_format_version) {
      return fail(Errc::Unsupported, db.where() + "/" + schema,
                  fmt::format("pool format {} is newer than this anyfs supports ({}); upgrade anyfs",
                              format.str(0, 0), k_pg_format_version));
    }
    return db.exec("COMMIT");
  }();
  if (!made) {
    (void)db.exec("ROLLBACK");
    return made;
  }
  return db.exec(fmt::format("SET search_path = {}", schema));
}

Result<void> drop_schema(Db& db, const std::string& schema) {
  ANYFS_CHECK(check_schema_name(schema));
  return db.exec(fmt::format("DROP SCHEMA IF EXISTS {} CASCADE", schema));
}

}  // namespace anyfs::pg
