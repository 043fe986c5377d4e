// SQL run against a pool file directly, from outside AnyFS: damage, old formats,
// and counting rows to see what the engine keeps. It goes through the
// page-checksum VFS, as AnyFS does, so that what it changes is damage to
// records, not to pages (a plain sqlite3 writes pages without checksums).
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "util/page_checksum_vfs.h"

namespace anyfs::testing {

inline void raw_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  const std::string vfs = anyfs::sql::page_checksum_vfs("").value();
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs.c_str()), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string message = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

// The single integer `sql` returns (-1 on any failure).
inline std::int64_t raw_sql_int(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  const std::string vfs = anyfs::sql::page_checksum_vfs("").value();
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, vfs.c_str()) != SQLITE_OK) return -1;
  sqlite3_stmt* stmt = nullptr;
  std::int64_t out = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
    out = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

}  // namespace anyfs::testing
