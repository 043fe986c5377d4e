#include "util/token_bucket.h"

#include <algorithm>
#include <ctime>

namespace anyfs {

TokenBucket::TokenBucket(double rate, double capacity)
    : ns_per_token_(1e9 / rate), burst_ns_(static_cast<std::int64_t>(capacity * 1e9 / rate)), tat_(0) {}

std::int64_t TokenBucket::now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t TokenBucket::take(double n) {
  const std::int64_t now = now_ns();
  const std::int64_t cost = cost_ns(n);
  std::int64_t tat = tat_.load(std::memory_order_relaxed);
  std::int64_t next;
  do {
    next = std::max(tat, now - burst_ns_) + cost;
  } while (!tat_.compare_exchange_weak(tat, next, std::memory_order_relaxed));
  return std::max<std::int64_t>(0, next - now);
}

bool TokenBucket::try_take(double n) {
  const std::int64_t now = now_ns();
  const std::int64_t cost = cost_ns(n);
  std::int64_t tat = tat_.load(std::memory_order_relaxed);
  for (;;) {
    const std::int64_t start = std::max(tat, now - burst_ns_);
    const bool full = start <= now - burst_ns_;
    if (start + cost > now && !(cost > burst_ns_ && full)) return false;
    if (tat_.compare_exchange_weak(tat, start + cost, std::memory_order_relaxed)) return true;
  }
}

}  // namespace anyfs
