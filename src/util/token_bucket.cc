#include "util/token_bucket.h"

#include <algorithm>

namespace anyfs {

TokenBucket::TokenBucket(double rate, double capacity)
    : rate_(rate), capacity_(capacity), tokens_(capacity), last_(Clock::now()) {}

void TokenBucket::refill(Clock::time_point now) {
  std::chrono::duration<double> elapsed = now - last_;
  tokens_ = std::min(capacity_, tokens_ + elapsed.count() * rate_);
  last_ = now;
}

TokenBucket::Clock::duration TokenBucket::take(double n) {
  std::lock_guard lock(mu_);
  refill(Clock::now());
  tokens_ -= n;
  if (tokens_ >= 0) return Clock::duration::zero();
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(-tokens_ / rate_));
}

bool TokenBucket::try_take(double n) {
  std::lock_guard lock(mu_);
  refill(Clock::now());
  if (tokens_ >= n || (n > capacity_ && tokens_ >= capacity_)) {
    tokens_ -= n;
    return true;
  }
  return false;
}

}  // namespace anyfs
