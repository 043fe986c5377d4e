// Maintenance of a pool (DESIGN.md §10): verify (fsck), gc, compact and the
// space figures. Each runs under the pool lock with the transaction group
// committed.
#pragma once

#include "anyfs/pool.h"
#include "pool/pool_core.h"
#include "pool/pool_lock.h"

namespace anyfs {

Result<PoolStats> pool_stats(PoolCore& core) REQUIRES(pool_lock);

// Checks: every dirent names a live inode of its kind; nlink and directory sizes
// match the entries; every inode but a root is reachable; extents lie inside
// their file, do not overlap and name stored chunks covering them; reference
// counts equal the extent rows; (read_chunks) every chunk passes both checksums;
// SQLite's own quick_check passes.
Result<VerifyReport> verify_pool(PoolCore& core, const VerifyOptions& options) REQUIRES(pool_lock);

// Removes chunks unreferenced for longer than the grace period, and orphans
// (stored chunks no reference row names). Commits.
Result<GcReport> gc_pool(PoolCore& core, const GcOptions& options) REQUIRES(pool_lock);

// Checkpoints the WAL and vacuums the file.
Result<CompactReport> compact_pool(PoolCore& core) REQUIRES(pool_lock);

}  // namespace anyfs
