// A token bucket (`rate` tokens per second, holding at most `capacity`), kept as
// one atomic "theoretical arrival time" (the GCRA form): taking n tokens moves it
// n / rate seconds on; the bucket is empty while it runs more than capacity /
// rate seconds ahead of now. Lock-free; time comes from the coarse monotonic
// clock (a few ns to read, millisecond resolution, ample for rate limits).
#pragma once

#include <atomic>
#include <cstdint>

namespace anyfs {

class TokenBucket {
 public:
  TokenBucket(double rate, double capacity);

  // Takes `n` tokens, going into debt if needed; returns how many ns the caller
  // must wait for the debt to be repaid (0 if there were enough tokens).
  std::int64_t take(double n);

  // Takes `n` tokens if there are enough (or, for n above the capacity, if the
  // bucket is full); returns false and takes nothing otherwise.
  bool try_take(double n);

  static std::int64_t now_ns();  // the coarse monotonic clock

 private:
  std::int64_t cost_ns(double n) const { return static_cast<std::int64_t>(n * ns_per_token_); }

  const double ns_per_token_;
  const std::int64_t burst_ns_;    // capacity expressed as time
  std::atomic<std::int64_t> tat_;  // when the bucket would be full again
};

}  // namespace anyfs
