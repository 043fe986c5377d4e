// A thin RAII layer over the SQLite C API: one Db per connection, prepared
// statements cached by their SQL text, every SQLite failure turned into an Error
// with an Errc a caller can act on (SQLITE_FULL → NoSpace, SQLITE_BUSY → Busy,
// SQLITE_CORRUPT / SQLITE_NOTADB → Corrupt, I/O errors → Io).
//
// Not thread-safe: the owner serialises calls (the pool holds one lock per
// connection).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "anyfs/error.h"

namespace anyfs::sql {

// The Error for SQLite result `rc` on connection `db` (may be null), about `what`.
Error error_from(sqlite3* db, int rc, std::string_view what);

class Db;

// A prepared statement, reset and cleared when the Stmt handle (a borrow from the
// Db's cache) goes out of scope, so a cached statement never holds a read open.
class Stmt {
 public:
  Stmt(Db* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Stmt(Stmt&& other) noexcept : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  // Binds parameters 1..N in order; returns *this for chaining.
  Stmt& bind(int index, std::int64_t value);
  Stmt& bind(int index, std::uint64_t value) { return bind(index, static_cast<std::int64_t>(value)); }
  Stmt& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Stmt& bind(int index, std::uint32_t value) { return bind(index, static_cast<std::int64_t>(value)); }
  Stmt& bind_text(int index, std::string_view value);
  Stmt& bind_blob(int index, std::string_view value);
  // As bind_blob, without a copy: `value` must stay valid until the statement is reset.
  Stmt& bind_blob_static(int index, std::string_view value);
  Stmt& bind_null(int index);
  template <class... Args>
  Stmt& bind_all(const Args&... args) {
    int index = 1;
    (bind_one(index++, args), ...);
    return *this;
  }

  // Steps once: true with a row, false when done.
  Result<bool> step();
  // Steps to completion (for statements that return no rows).
  Result<void> run();

  std::int64_t column_int(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::uint64_t column_u64(int col) const { return static_cast<std::uint64_t>(sqlite3_column_int64(stmt_, col)); }
  std::string_view column_blob(int col) const;
  std::string column_string(int col) const { return std::string(column_blob(col)); }
  bool column_is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  void bind_one(int index, std::int64_t v) { bind(index, v); }
  void bind_one(int index, std::uint64_t v) { bind(index, v); }
  void bind_one(int index, int v) { bind(index, v); }
  void bind_one(int index, std::uint32_t v) { bind(index, v); }
  void bind_one(int index, std::string_view v) { bind_blob(index, v); }
  void bind_one(int index, const std::string& v) { bind_blob(index, v); }
  void bind_one(int index, const char* v) { bind_text(index, v); }

  Db* db_;
  sqlite3_stmt* stmt_;
};

struct OpenOptions {
  bool read_only = false;
  bool create = false;        // create the file if missing
  std::string vfs;            // empty: SQLite's default VFS
  // Open through the page-checksum shim over `vfs` (util/page_checksum_vfs.h).
  bool page_checksums = true;
  int busy_timeout_ms = 5000;
  // Read-only, as a file nothing changes (SQLite's immutable=1): no locks, no
  // shared-memory file, the write-ahead log ignored. For a reader that can
  // create no -shm file beside a database whose log holds nothing.
  bool immutable = false;
};

class Db {
 public:
  // Opens `path`. Errors: NotFound (missing and !create), Corrupt (not a
  // database), Io, Permission.
  static Result<std::unique_ptr<Db>> open(const std::string& path, const OpenOptions& options);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Runs one or more statements without results.
  Result<void> exec(std::string_view sql);
  // A statement from the cache (prepared on first use).
  Result<Stmt> prepare(std::string_view sql);
  // The single integer a query returns, or nullopt with no row.
  Result<std::optional<std::int64_t>> query_int(std::string_view sql);

  bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

  // The Error for SQLite result `rc` about `what` (error_from), remembered when
  // it is a storage failure: an I/O error, a full disk, a damaged or unreadable
  // file, no memory. Statements of this Db report their failures through it.
  Error error(int rc, std::string_view what);
  // The first storage failure a statement on this connection met, if any. After
  // one, SQLite may have rolled back the open transaction (its pager stops on
  // I/O errors), so a writer must not carry on as if it had not.
  const std::optional<Error>& storage_failure() const { return storage_failure_; }
  std::int64_t changes() const { return sqlite3_changes64(db_); }
  std::int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
  sqlite3* handle() { return db_; }
  const std::string& path() const { return path_; }

 private:
  Db(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  sqlite3* db_;
  std::string path_;
  std::optional<Error> storage_failure_;
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, sqlite3_stmt*, Hash, std::equal_to<>> cache_;
};

}  // namespace anyfs::sql
