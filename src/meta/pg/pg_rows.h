// Row helpers shared by the PostgreSQL record stores (meta/pg/pg_*_store.cc):
// numbers as bigint parameters, chunk ids as bytea, an inode row as read.
#pragma once

#include <cstdint>

#include "meta/pg/pg_db.h"
#include "meta/record_tables.h"
#include "meta/records.h"

namespace anyfs::pgrows {

using anyfs::k_live;
using pg::Bytes;
using pg::Param;
using pg::Rows;

// An unsigned value as the bigint that stores its bits.
inline std::int64_t i(std::uint64_t v) { return static_cast<std::int64_t>(v); }

inline pg::Bytes id_param(const ChunkId& id) {
  return pg::Bytes{{reinterpret_cast<const char*>(id.data()), id.size()}};
}

// Row `r` of a result whose first columns are k_inode_columns.
inline InodeRecord inode_row(const pg::Rows& rows, int r) {
  InodeRecord out;
  out.ino = rows.u64(r, 0);
  out.kind = static_cast<FileKind>(rows.i64(r, 1));
  out.mode = static_cast<std::uint32_t>(rows.i64(r, 2));
  out.uid = static_cast<std::uint32_t>(rows.i64(r, 3));
  out.gid = static_cast<std::uint32_t>(rows.i64(r, 4));
  out.nlink = rows.u64(r, 5);
  out.size = rows.u64(r, 6);
  out.atime_ns = rows.i64(r, 7);
  out.mtime_ns = rows.i64(r, 8);
  out.ctime_ns = rows.i64(r, 9);
  out.btime_ns = rows.i64(r, 10);
  out.rdev = rows.u64(r, 11);
  out.target = rows.str(r, 12);
  out.project = rows.u64(r, 13);
  out.generation = rows.u64(r, 14);
  out.tid_from = rows.u64(r, 15);
  return out;
}

}  // namespace anyfs::pgrows
