// RateLimit: token buckets for operations per second and bytes per second
// (bytes are those asked for by reads and writes through handles). A call that
// finds a bucket empty either waits until it refills or fails with Errc::Again.
#pragma once

#include <memory>

#include "anyfs/fs.h"

namespace anyfs {

struct RateLimitOptions {
  double ops_per_second = 0;    // 0: no limit on calls
  double bytes_per_second = 0;  // 0: no limit on bytes
  double burst_seconds = 1.0;   // bucket size, in seconds of the rate
  enum class OnLimit { Wait, Fail } on_limit = OnLimit::Wait;
};

// Errors: InvalidArgument (a negative rate, or a burst that is not positive).
Result<std::shared_ptr<Fs>> make_rate_limit(std::shared_ptr<Fs> inner, RateLimitOptions options);

}  // namespace anyfs
