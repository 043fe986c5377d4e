// A token bucket: `rate` tokens per second, holding at most `capacity`.
// Thread-safe.
#pragma once

#include <chrono>
#include <mutex>

namespace anyfs {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  TokenBucket(double rate, double capacity);

  // Takes `n` tokens, going into debt if needed; returns how long the caller
  // must wait for the debt to be repaid (zero if there were enough tokens).
  Clock::duration take(double n);

  // Takes `n` tokens if there are enough (or, for n above the capacity, if the
  // bucket is full); returns false and takes nothing otherwise.
  bool try_take(double n);

 private:
  void refill(Clock::time_point now);  // REQUIRES: mu_ held

  const double rate_;
  const double capacity_;
  std::mutex mu_;
  double tokens_;               // GUARDED_BY(mu_); negative while in debt
  Clock::time_point last_;      // GUARDED_BY(mu_)
};

}  // namespace anyfs
