#include "util/sqlite.h"

#include <fmt/format.h>

#include "util/page_checksum_vfs.h"

namespace anyfs::sql {

Error error_from(sqlite3* db, int rc, std::string_view what) {
  int primary = rc & 0xff;
  Errc code = Errc::Io;
  switch (primary) {
    case SQLITE_FULL: code = Errc::NoSpace; break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: code = Errc::Busy; break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: code = Errc::Corrupt; break;
    case SQLITE_READONLY: code = Errc::ReadOnly; break;
    case SQLITE_PERM:
    case SQLITE_AUTH: code = Errc::Permission; break;
    case SQLITE_CANTOPEN: code = Errc::NotFound; break;
    case SQLITE_TOOBIG: code = Errc::ArgTooBig; break;
    case SQLITE_NOMEM: code = Errc::NoSpace; break;
    default: code = Errc::Io; break;
  }
  // A duplicate key is Exists, as PostgreSQL's unique violation is (the
  // MetaStore conformance suite holds both engines to it).
  if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) code = Errc::Exists;
  // SQLite reports a full disk during a write as an I/O error in some paths.
  if (primary == SQLITE_IOERR && db != nullptr && sqlite3_system_errno(db) == ENOSPC) code = Errc::NoSpace;
  // "Cannot open" is not "not found" unless the OS said so: out of file
  // descriptors (EMFILE), EIO, EACCES… keep their own meaning.
  if (primary == SQLITE_CANTOPEN && db != nullptr && sqlite3_system_errno(db) != 0 &&
      sqlite3_system_errno(db) != ENOENT) {
    code = errc_from_errno(sqlite3_system_errno(db));
    if (code == Errc::NotFound) code = Errc::Io;
  }
  // The page-checksum shim found a stored page that is not what was written.
  if (rc == SQLITE_IOERR_DATA) {
    const BadPlace bad = last_bad_place();
    if (bad.wal)
      return Error(Errc::Corrupt, "",
                   fmt::format("{}: frame {} of the pool's write-ahead log fails its checksum (damaged on disk)",
                               what, bad.number));
    const char* file = db != nullptr ? sqlite3_db_filename(db, "main") : nullptr;
    return Error(Errc::Corrupt, "", fmt::format("{}: page {} of {} fails its checksum (damaged on disk)", what,
                                                bad.number, file != nullptr && *file ? file : "the pool file"));
  }
  std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (db != nullptr && sqlite3_system_errno(db) != 0 && code != Errc::Busy)
    detail += fmt::format(" (OS error {})", sqlite3_system_errno(db));
  return Error(code, "", fmt::format("{}: {}", what, detail));
}

Stmt::~Stmt() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Stmt& Stmt::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Stmt& Stmt::bind_text(int index, std::string_view value) {
  sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

Stmt& Stmt::bind_blob(int index, std::string_view value) {
  // A zero-length blob must still be a blob, not NULL: give it a valid pointer.
  sqlite3_bind_blob64(stmt_, index, value.empty() ? "" : value.data(), value.size(), SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::bind_blob_static(int index, std::string_view value) {
  sqlite3_bind_blob64(stmt_, index, value.empty() ? "" : value.data(), value.size(), SQLITE_STATIC);
  return *this;
}

Stmt& Stmt::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Result<bool> Stmt::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return std::unexpected(db_->error(rc, sqlite3_sql(stmt_)));
}

Result<void> Stmt::run() {
  while (ANYFS_TRY(step())) {
  }
  return {};
}

std::string_view Stmt::column_blob(int col) const {
  const void* data = sqlite3_column_blob(stmt_, col);
  int size = sqlite3_column_bytes(stmt_, col);
  if (data == nullptr) return {};
  return {static_cast<const char*>(data), static_cast<std::size_t>(size)};
}

Result<std::unique_ptr<Db>> Db::open(const std::string& path, const OpenOptions& options) {
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  flags |= options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (options.create && !options.read_only) flags |= SQLITE_OPEN_CREATE;
  std::string vfs = options.vfs;
  if (options.page_checksums) vfs = ANYFS_TRY(page_checksum_vfs(options.vfs));
  std::string name = path;
  if (options.immutable) {
    // A URI: every byte that could end the path or start a parameter is escaped.
    name = "file:";
    for (unsigned char c : path) {
      if (c == '%' || c == '?' || c == '#' || c < 0x20 || c >= 0x7f)
        name += fmt::format("%{:02X}", c);
      else
        name += static_cast<char>(c);
    }
    name += "?immutable=1";
    flags |= SQLITE_OPEN_URI;
  }
  sqlite3* handle = nullptr;
  int rc = sqlite3_open_v2(name.c_str(), &handle, flags, vfs.empty() ? nullptr : vfs.c_str());
  if (rc != SQLITE_OK) {
    Error error = error_from(handle, rc, "open");
    sqlite3_close_v2(handle);
    error.path = path;
    return std::unexpected(error);
  }
  std::unique_ptr<Db> db(new Db(handle, path));
  sqlite3_busy_timeout(handle, options.busy_timeout_ms);
  return db;
}

Db::~Db() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Error Db::error(int rc, std::string_view what) {
  Error e = error_from(db_, rc, what);
  switch (rc & 0xff) {
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_CANTOPEN:
    case SQLITE_NOMEM:
      if (!storage_failure_) storage_failure_ = e;
      break;
    default:
      break;
  }
  return e;
}

Result<void> Db::exec(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    sqlite3_free(message);
    return std::unexpected(error(rc, text.substr(0, 60)));
  }
  return {};
}

Result<Stmt> Db::prepare(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                                nullptr);
    if (rc != SQLITE_OK) return std::unexpected(error(rc, sql.substr(0, 60)));
    it = cache_.emplace(std::string(sql), stmt).first;
  }
  return Stmt(this, it->second);
}

Result<std::optional<std::int64_t>> Db::query_int(std::string_view sql) {
  Stmt stmt = ANYFS_TRY(prepare(sql));
  if (!ANYFS_TRY(stmt.step())) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(stmt.column_int(0));
}

}  // namespace anyfs::sql
