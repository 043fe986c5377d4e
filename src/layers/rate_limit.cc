#include "anyfs/layers/rate_limit.h"

#include <chrono>
#include <optional>
#include <thread>

#include "layers/hook_fs.h"
#include "util/token_bucket.h"

namespace anyfs {
namespace {

bool moves_bytes(Op op) { return op == Op::FileRead || op == Op::FileWrite || op == Op::FileAppend; }

class RateLimitFs final : public HookFs {
 public:
  RateLimitFs(std::shared_ptr<Fs> inner, const RateLimitOptions& options)
      : HookFs(std::move(inner), Timing::Never), wait_(options.on_limit == RateLimitOptions::OnLimit::Wait) {
    if (options.ops_per_second > 0)
      ops_.emplace(options.ops_per_second, std::max(1.0, options.ops_per_second * options.burst_seconds));
    if (options.bytes_per_second > 0)
      bytes_.emplace(options.bytes_per_second, std::max(1.0, options.bytes_per_second * options.burst_seconds));
  }

 protected:
  Result<void> before(const Call& call) override {
    ANYFS_CHECK(admit(ops_, 1, call));
    if (moves_bytes(call.op) && call.size > 0) ANYFS_CHECK(admit(bytes_, static_cast<double>(call.size), call));
    return {};
  }

 private:
  Result<void> admit(std::optional<TokenBucket>& bucket, double n, const Call& call) {
    if (!bucket) return {};
    if (wait_) {
      std::int64_t delay = bucket->take(n);
      if (delay > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(delay));
      return {};
    }
    if (!bucket->try_take(n)) return fail(Errc::Again, std::string(call.path), "rate limit reached");
    return {};
  }

  const bool wait_;
  std::optional<TokenBucket> ops_;
  std::optional<TokenBucket> bytes_;
};

}  // namespace

Result<std::shared_ptr<Fs>> make_rate_limit(std::shared_ptr<Fs> inner, RateLimitOptions options) {
  if (options.ops_per_second < 0 || options.bytes_per_second < 0 || !(options.burst_seconds > 0))
    return fail(Errc::InvalidArgument, "", "rates must be >= 0 and the burst > 0");
  return std::shared_ptr<Fs>(std::make_shared<RateLimitFs>(std::move(inner), options));
}

}  // namespace anyfs
