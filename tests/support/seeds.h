// Seeds of the randomized tests: 1..N by default (CI sees the same runs every
// time); ANYFS_SEED_BASE=B shifts them to B+1..B+N (scripts/soak passes fresh
// bases). A failure names the seed it used, which replays it.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <ctime>

namespace anyfs::testing {

inline std::uint64_t seed_base() {
  const char* base = std::getenv("ANYFS_SEED_BASE");
  return base ? std::strtoull(base, nullptr, 10) : 0;
}

// ANYFS_DEADLINE=UNIXSECONDS (scripts/soak passes its own): sweeps check this
// between cases and stop there, so a soak ends within a case of its deadline
// instead of after a whole round. Unset: never.
inline bool past_deadline() {
  static const std::int64_t deadline = [] {
    const char* text = std::getenv("ANYFS_DEADLINE");
    return text ? std::strtoll(text, nullptr, 10) : 0;
  }();
  return deadline > 0 && std::time(nullptr) >= deadline;
}

}  // namespace anyfs::testing
