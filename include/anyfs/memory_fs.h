// MemoryFs: a complete Fs held in memory, for tests, scratch trees and as the
// fastest reference implementation. Safe to call from many threads; reads run
// in parallel, writes one at a time. Times are the wall clock; atime is not
// updated by reads (noatime).
#pragma once

#include <cstdint>
#include <memory>

#include "anyfs/fs.h"

namespace anyfs {

struct MemoryFsOptions {
  // Bytes of file data the tree may hold; writes past it fail with NoSpace.
  // 0 means no limit (statfs then reports the host's free memory).
  std::uint64_t capacity_bytes = 0;
};

std::shared_ptr<Fs> make_memory_fs(MemoryFsOptions options = {});

}  // namespace anyfs
