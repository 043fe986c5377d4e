// Wall-clock time in nanoseconds since the Unix epoch: file times, txlog times,
// refcount-zero times. One definition for every part that stamps a time.
#pragma once

#include <time.h>

#include <cstdint>

namespace anyfs {

inline std::int64_t wall_clock_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace anyfs
