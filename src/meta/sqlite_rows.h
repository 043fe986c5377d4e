// Row helpers shared by the SQLite record stores (meta/sqlite_*.cc).
#pragma once

#include <cstring>
#include <string_view>

#include "anyfs/error.h"
#include "meta/record_tables.h"
#include "meta/records.h"
#include "util/sqlite.h"

namespace anyfs::sqlrows {

inline std::string_view id_bytes(const ChunkId& id) { return {reinterpret_cast<const char*>(id.data()), id.size()}; }

inline Result<ChunkId> id_from(std::string_view bytes) { return chunk_id_from(bytes); }

using anyfs::k_live;

using anyfs::k_inode_columns;

inline InodeRecord inode_row(const sql::Stmt& stmt) {
  InodeRecord r;
  r.ino = stmt.column_u64(0);
  r.kind = static_cast<FileKind>(stmt.column_int(1));
  r.mode = static_cast<std::uint32_t>(stmt.column_int(2));
  r.uid = static_cast<std::uint32_t>(stmt.column_int(3));
  r.gid = static_cast<std::uint32_t>(stmt.column_int(4));
  r.nlink = stmt.column_u64(5);
  r.size = stmt.column_u64(6);
  r.atime_ns = stmt.column_int(7);
  r.mtime_ns = stmt.column_int(8);
  r.ctime_ns = stmt.column_int(9);
  r.btime_ns = stmt.column_int(10);
  r.rdev = stmt.column_u64(11);
  r.target = stmt.column_string(12);
  r.project = stmt.column_u64(13);
  r.generation = stmt.column_u64(14);
  r.tid_from = stmt.column_u64(15);
  return r;
}

}  // namespace anyfs::sqlrows
