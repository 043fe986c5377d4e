// The TID-versioned record tables as the history operations see them, the same
// in every engine (docs/FORMAT.md): each table's owner and key columns (after
// ds and tid_to in its primary key), the columns after tid_from, and whether
// rows hold a chunk reference. Identifiers are quoted where a word is reserved
// ("offset"), which SQLite and PostgreSQL both accept.
#pragma once

#include <algorithm>
#include <array>
#include <cstring>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "anyfs/error.h"
#include "meta/records.h"

namespace anyfs {

// tid_to of a live row (k_tid_live as the stored signed integer).
inline constexpr std::int64_t k_live = static_cast<std::int64_t>(k_tid_live);

// The columns of an inode row, in the order every engine's row reader takes them.
inline constexpr const char* k_inode_columns =
    "ino, kind, mode, uid, gid, nlink, size, atime, mtime, ctime, btime, rdev, target, project, generation, tid_from";

// A chunk reference as stored (32 bytes). Errors: Corrupt.
inline Result<ChunkId> chunk_id_from(std::string_view bytes) {
  ChunkId id{};
  if (bytes.size() != id.size()) return fail(Errc::Corrupt, "", "a chunk reference is not 32 bytes");
  std::memcpy(id.data(), bytes.data(), id.size());
  return id;
}

struct RecordTable {
  const char* name;
  const char* owner;
  const char* key;  // nullptr: one row per owner (inodes)
  const char* rest;
  bool has_chunk;   // a `chunk` column holding one reference
  bool int_key;     // the key is a number (extents' offset), not bytes
  // The column naming the inode a row is about (dirents: the child).
  const char* inode_column() const { return std::string_view(name) == "dirents" ? "ino" : owner; }
  std::string key_columns() const { return std::string(owner) + (key != nullptr ? std::string(", ") + key : ""); }
  const char* chunk_column() const { return has_chunk ? "chunk" : "NULL"; }
};

inline constexpr std::array<RecordTable, 5> k_record_tables = {{
    {"inodes", "ino", nullptr,
     "kind, mode, uid, gid, nlink, size, atime, mtime, ctime, btime, rdev, target, project, generation", false,
     false},
    {"dirents", "parent", "name", "ino, kind", false, false},
    {"extents", "ino", "\"offset\"", "length, chunk, chunk_offset", true, true},
    {"xattrs", "ino", "name", "value", false, false},
    {"kv", "ino", "key", "value, chunk", true, false},
}};

// A closed row as prune reads it: (tid_to, owner[, key], tid_from, chunk).
struct ClosedRow {
  Tid tid_to = 0;
  std::int64_t owner = 0;
  std::string key;          // a bytes key as is
  std::int64_t int_key = 0;  // a number key
  Tid tid_from = 0;
  std::optional<ChunkId> chunk;
};

// Whether a TID in `pinned` (sorted) sees a row alive in [tid_from, tid_to).
inline bool pinned_sees(const std::vector<Tid>& pinned, Tid tid_from, Tid tid_to) {
  auto it = std::lower_bound(pinned.begin(), pinned.end(), tid_from);
  return it != pinned.end() && *it < tid_to;
}

// What HistoryStore::check_state reports, worded once for every engine.
inline std::string missing_inode_problem(std::string_view name, Ino parent, Ino ino) {
  return "entry '" + std::string(name) + "' in directory " + std::to_string(parent) + " names inode " +
         std::to_string(ino) + ", which that state lacks";
}
inline std::string stray_extent_problem(std::uint64_t offset, Ino ino) {
  return "extent at " + std::to_string(offset) + " of inode " + std::to_string(ino) +
         " is outside any file of that state";
}
inline constexpr const char* k_missing_root_problem = "the root directory is missing";

}  // namespace anyfs
