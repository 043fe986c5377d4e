#include "anyfs/layers/rate_limit.h"

#include <chrono>
#include <memory>
#include <thread>

#include "layers/hook_fs.h"
#include "util/token_bucket.h"

namespace anyfs {
namespace {

bool moves_bytes(Op op) { return op == Op::FileRead || op == Op::FileWrite || op == Op::FileAppend; }

struct RateLimitHooks {
  static constexpr Timing k_timing = Timing::Never;
  static constexpr bool k_wrap_handles = true;

  bool wait = true;
  std::shared_ptr<TokenBucket> ops;    // null: no limit on calls
  std::shared_ptr<TokenBucket> bytes;  // null: no limit on bytes

  Result<void> before(const Call& call) {
    ANYFS_CHECK(admit(ops.get(), 1, call));
    if (moves_bytes(call.op) && call.size > 0) ANYFS_CHECK(admit(bytes.get(), static_cast<double>(call.size), call));
    return {};
  }
  void after(const Call&, const Error*, std::uint64_t, std::int64_t) {}
  bool time_call() { return false; }

  Result<void> admit(TokenBucket* bucket, double n, const Call& call) {
    if (bucket == nullptr) return {};
    if (wait) {
      std::int64_t delay = bucket->take(n);
      if (delay > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(delay));
      return {};
    }
    if (!bucket->try_take(n)) return fail(Errc::Again, std::string(call.path), "rate limit reached");
    return {};
  }
};

std::shared_ptr<TokenBucket> bucket(double rate, double burst_seconds) {
  if (rate <= 0) return nullptr;
  return std::make_shared<TokenBucket>(rate, std::max(1.0, rate * burst_seconds));
}

}  // namespace

Result<std::shared_ptr<Fs>> make_rate_limit(std::shared_ptr<Fs> inner, RateLimitOptions options) {
  if (options.ops_per_second < 0 || options.bytes_per_second < 0 || !(options.burst_seconds > 0))
    return fail(Errc::InvalidArgument, "", "rates must be >= 0 and the burst > 0");
  RateLimitHooks hooks{options.on_limit == RateLimitOptions::OnLimit::Wait,
                       bucket(options.ops_per_second, options.burst_seconds),
                       bucket(options.bytes_per_second, options.burst_seconds)};
  return make_hook_fs(std::move(inner), std::move(hooks));
}

}  // namespace anyfs
