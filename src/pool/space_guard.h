// Keeps a pool from filling the file system it lives on, as ZFS keeps its
// slop space: file data is admitted only while what it will take leaves a
// reserve free, so that the transactions that free space — removing files,
// destroying snapshots — and the checkpoints that follow them can always
// commit. What file data takes: its frames in the write-ahead log (bounded:
// transaction groups are cut by size and the log is checkpointed and trimmed
// after each) and its pages in the pool file, less the free pages inside the
// file that it can reuse. docs/SEMANTICS.md, "Space".
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>

#include "anyfs/error.h"

namespace anyfs {

// What the guard needs to know of the pool at the moment it decides.
struct PoolSpace {
  std::uint64_t pending_bytes = 0;  // file data buffered or in the open group, not yet in the file
  std::uint64_t free_bytes = 0;     // free pages inside the pool file
  std::uint64_t wal_bytes = 0;      // the write-ahead log's size now
};

class SpaceGuard {
 public:
  // Sizes the reserve and the transaction groups for the file system holding
  // `path` (a pool file). A file system statvfs cannot read leaves the guard
  // open (nothing refused) with the default limits.
  void attach(const std::string& path);

  // Admits `bytes` more bytes of file data. Errors: NoSpace (nothing is
  // written; the pool stays usable), naming what is free and the reserve.
  // `fresh`: read the file system's figures now rather than from the last look.
  Result<void> admit(std::uint64_t bytes, const PoolSpace& pool, bool fresh = false);

  // Chunk bytes one transaction group writes before it commits by size.
  std::uint64_t txg_limit() const { return txg_limit_; }
  std::uint64_t reserve() const { return reserve_; }
  // The most the write-ahead log grows to: two groups' worth, and the pages
  // of metadata that come with them.
  std::uint64_t wal_limit() const { return 2 * txg_limit_ + log_slack_; }

 private:
  std::uint64_t available(bool fresh);  // bytes free to this process on the file system, refreshed now and then

  std::string path_;
  bool attached_ = false;
  std::uint64_t reserve_ = 0;
  std::uint64_t txg_limit_ = 128ull << 20;
  std::uint64_t log_slack_ = 8ull << 20;  // the metadata pages beside a group's data
  std::uint64_t available_ = 0;
  std::uint64_t admitted_since_ = 0;  // bytes admitted since available_ was read
  std::chrono::steady_clock::time_point read_at_{};
};

}  // namespace anyfs
