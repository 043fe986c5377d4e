// The metadata records of DESIGN.md §3, as the pool sees them. Every record is
// keyed by dataset id first and lives from tid_from (the transaction that made
// it) until tid_to (the one that closed it; k_tid_live while live).
#pragma once

#include <cstdint>
#include <string>

#include "anyfs/inode_fs.h"
#include "anyfs/types.h"
#include "chunk/hash.h"

namespace anyfs {

using Tid = std::uint64_t;
using Ino = std::uint64_t;
using DatasetId = std::uint64_t;

// tid_to of a live row: the largest value SQLite's INTEGER holds.
inline constexpr Tid k_tid_live = 0x7fff'ffff'ffff'ffffull;

// The root directory of every dataset is k_root_ino (anyfs/inode_fs.h).

struct InodeRecord {
  Ino ino = 0;
  FileKind kind = FileKind::Regular;
  std::uint32_t mode = 0;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint64_t nlink = 0;
  std::uint64_t size = 0;  // bytes (Regular), target length (Symlink), entries (Directory)
  std::int64_t atime_ns = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  std::int64_t btime_ns = 0;
  std::uint64_t rdev = 0;
  std::string target;  // Symlink
  std::uint64_t project = 0;
  std::uint64_t generation = 0;
  Tid tid_from = 0;
};

struct DirentRecord {
  Ino parent = 0;
  std::string name;
  Ino ino = 0;
  FileKind kind = FileKind::Regular;
};

// [offset, offset + length) of a file holds chunk bytes [chunk_offset, chunk_offset + length).
struct ExtentRecord {
  Ino ino = 0;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  ChunkId chunk{};
  std::uint64_t chunk_offset = 0;
  std::uint64_t end() const { return offset + length; }
};

}  // namespace anyfs
