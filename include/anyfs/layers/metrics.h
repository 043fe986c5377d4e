// Metrics: counts calls, errors and bytes, and keeps a latency histogram per
// operation, dumpable as JSON and as Prometheus text. One FsMetrics may be shared
// by several layers (their counts add up).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "anyfs/fs.h"
#include "anyfs/layers/op.h"

namespace anyfs {

class FsMetrics {
 public:
  // Upper bounds of the latency buckets in ns (the last bucket is +Inf).
  static constexpr std::array<std::int64_t, 11> k_bucket_bounds_ns = {
      1'000, 4'000, 16'000, 64'000, 256'000, 1'000'000, 4'000'000, 16'000'000, 64'000'000, 256'000'000, 1'000'000'000};

  // `latency_sample_every`: time one call in this many per thread (1 = every
  // call). Counts of calls, errors and bytes are always exact; the latency
  // histogram and sum cover the timed calls (its _count says how many).
  explicit FsMetrics(std::uint32_t latency_sample_every = 64);
  ~FsMetrics();
  FsMetrics(const FsMetrics&) = delete;
  FsMetrics& operator=(const FsMetrics&) = delete;

  // True if the calling thread's next call should be timed. Thread-safe.
  bool sample_next();

  // Records one call; latency_ns < 0 means it was not timed. Thread-safe and
  // wait-free: each thread counts in a shard of its own.
  void record(Op op, bool failed, std::uint64_t bytes_read, std::uint64_t bytes_written, std::int64_t latency_ns);

  std::uint64_t calls(Op op) const;
  std::uint64_t errors(Op op) const;
  std::uint64_t bytes_read() const;
  std::uint64_t bytes_written() const;

  // {"ops":{"stat":{"calls":3,"errors":1,"timed":1,"latency_ns_sum":...,"buckets":[...]}},"bytes_read":..}
  std::string to_json() const;
  // Prometheus text exposition format, metric names starting with `prefix`.
  std::string to_prometheus(std::string_view prefix = "anyfs") const;

  struct Shard;

 private:
  struct Totals;
  Shard& shard();
  [[gnu::noinline]] Shard& shard_slow();
  Totals totals() const;

  const std::uint64_t id_;
  const std::uint32_t sample_every_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Shard>> shards_;  // GUARDED_BY(mu_); one per thread that recorded
};

std::shared_ptr<Fs> make_metrics(std::shared_ptr<Fs> inner, std::shared_ptr<FsMetrics> metrics);

}  // namespace anyfs
