// What a pool holds, as its database counts it (PoolFile::usage).
#pragma once

#include <cstdint>

namespace anyfs {

// What the pool holds, counted by the database (info, `anyfs info`).
struct PoolUsage {
  std::uint64_t files = 0;             // live inodes
  std::uint64_t logical_bytes = 0;     // sizes of live regular files
  std::uint64_t referenced_bytes = 0;  // bytes of live extents
  std::uint64_t history_bytes = 0;     // bytes of extents only history or snapshots see
  std::uint64_t snapshots = 0;
  std::uint64_t chunks = 0;            // chunks something references
  std::uint64_t chunk_raw_bytes = 0;   // their content
  std::uint64_t chunk_stored_bytes = 0;  // as stored (compressed)
  std::uint64_t unreferenced_chunks = 0;  // waiting to be freed
};

}  // namespace anyfs
