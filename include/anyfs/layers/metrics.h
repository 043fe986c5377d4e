// Metrics: counts calls, errors and bytes, and keeps a latency histogram per
// operation, dumpable as JSON and as Prometheus text. One FsMetrics may be shared
// by several layers (their counts add up).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "anyfs/fs.h"
#include "anyfs/layers/op.h"

namespace anyfs {

class FsMetrics {
 public:
  // Upper bounds of the latency buckets in ns (the last bucket is +Inf).
  static constexpr std::array<std::int64_t, 11> k_bucket_bounds_ns = {
      1'000, 4'000, 16'000, 64'000, 256'000, 1'000'000, 4'000'000, 16'000'000, 64'000'000, 256'000'000,
      1'000'000'000};

  // Records one call. Thread-safe, lock-free.
  void record(Op op, bool failed, std::uint64_t bytes_read, std::uint64_t bytes_written, std::int64_t latency_ns);

  std::uint64_t calls(Op op) const;
  std::uint64_t errors(Op op) const;
  std::uint64_t bytes_read() const { return bytes_read_.load(std::memory_order_relaxed); }
  std::uint64_t bytes_written() const { return bytes_written_.load(std::memory_order_relaxed); }

  // {"ops":{"stat":{"calls":3,"errors":1,"latency_ns_sum":...,"buckets":[...]}},"bytes_read":..}
  std::string to_json() const;
  // Prometheus text exposition format, metric names starting with `prefix`.
  std::string to_prometheus(std::string_view prefix = "anyfs") const;

 private:
  struct PerOp {
    std::atomic<std::uint64_t> calls{0};
    std::atomic<std::uint64_t> errors{0};
    std::atomic<std::int64_t> latency_sum_ns{0};
    std::array<std::atomic<std::uint64_t>, k_bucket_bounds_ns.size() + 1> buckets{};
  };
  std::array<PerOp, k_op_count> ops_;
  std::atomic<std::uint64_t> bytes_read_{0};
  std::atomic<std::uint64_t> bytes_written_{0};
};

std::shared_ptr<Fs> make_metrics(std::shared_ptr<Fs> inner, std::shared_ptr<FsMetrics> metrics);

}  // namespace anyfs
