// Seeds of the randomized tests: 1..N by default (CI sees the same runs every
// time); ANYFS_SEED_BASE=B shifts them to B+1..B+N (scripts/soak passes fresh
// bases). A failure names the seed it used, which replays it.
#pragma once

#include <cstdint>
#include <cstdlib>

namespace anyfs::testing {

inline std::uint64_t seed_base() {
  const char* base = std::getenv("ANYFS_SEED_BASE");
  return base ? std::strtoull(base, nullptr, 10) : 0;
}

}  // namespace anyfs::testing
