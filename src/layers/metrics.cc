#include "anyfs/layers/metrics.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "layers/hook_fs.h"

namespace anyfs {
namespace {

constexpr auto k_relaxed = std::memory_order_relaxed;

class MetricsFs final : public HookFs {
 public:
  MetricsFs(std::shared_ptr<Fs> inner, std::shared_ptr<FsMetrics> metrics)
      : HookFs(std::move(inner), true), metrics_(std::move(metrics)) {}

 protected:
  void after(const Call& call, const Error* error, std::uint64_t bytes, std::int64_t latency_ns) override {
    const bool read = call.op == Op::FileRead;
    metrics_->record(call.op, error != nullptr, read ? bytes : 0, read ? 0 : bytes, latency_ns);
  }

 private:
  const std::shared_ptr<FsMetrics> metrics_;
};

}  // namespace

void FsMetrics::record(Op op, bool failed, std::uint64_t bytes_read, std::uint64_t bytes_written,
                       std::int64_t latency_ns) {
  PerOp& m = ops_[static_cast<std::size_t>(op)];
  m.calls.fetch_add(1, k_relaxed);
  if (failed) m.errors.fetch_add(1, k_relaxed);
  m.latency_sum_ns.fetch_add(latency_ns, k_relaxed);
  std::size_t bucket = 0;
  while (bucket < k_bucket_bounds_ns.size() && latency_ns > k_bucket_bounds_ns[bucket]) ++bucket;
  m.buckets[bucket].fetch_add(1, k_relaxed);
  if (bytes_read) bytes_read_.fetch_add(bytes_read, k_relaxed);
  if (bytes_written) bytes_written_.fetch_add(bytes_written, k_relaxed);
}

std::uint64_t FsMetrics::calls(Op op) const { return ops_[static_cast<std::size_t>(op)].calls.load(k_relaxed); }
std::uint64_t FsMetrics::errors(Op op) const { return ops_[static_cast<std::size_t>(op)].errors.load(k_relaxed); }

std::string FsMetrics::to_json() const {
  nlohmann::json ops = nlohmann::json::object();
  for (std::size_t i = 0; i < k_op_count; ++i) {
    const PerOp& m = ops_[i];
    if (m.calls.load(k_relaxed) == 0) continue;
    nlohmann::json buckets = nlohmann::json::array();
    for (std::size_t b = 0; b < m.buckets.size(); ++b) {
      nlohmann::json le = b < k_bucket_bounds_ns.size() ? nlohmann::json(k_bucket_bounds_ns[b]) : nlohmann::json("inf");
      buckets.push_back({{"le_ns", le}, {"count", m.buckets[b].load(k_relaxed)}});
    }
    ops[std::string(op_name(static_cast<Op>(i)))] = {{"calls", m.calls.load(k_relaxed)},
                                                     {"errors", m.errors.load(k_relaxed)},
                                                     {"latency_ns_sum", m.latency_sum_ns.load(k_relaxed)},
                                                     {"buckets", buckets}};
  }
  nlohmann::json j = {{"ops", ops}, {"bytes_read", bytes_read()}, {"bytes_written", bytes_written()}};
  return j.dump();
}

std::string FsMetrics::to_prometheus(std::string_view prefix) const {
  std::string out;
  out += fmt::format("# HELP {0}_calls_total Calls by operation.\n# TYPE {0}_calls_total counter\n", prefix);
  for (std::size_t i = 0; i < k_op_count; ++i)
    if (auto n = ops_[i].calls.load(k_relaxed))
      out += fmt::format("{}_calls_total{{op=\"{}\"}} {}\n", prefix, op_name(static_cast<Op>(i)), n);
  out += fmt::format("# HELP {0}_errors_total Failed calls by operation.\n# TYPE {0}_errors_total counter\n", prefix);
  for (std::size_t i = 0; i < k_op_count; ++i)
    if (ops_[i].calls.load(k_relaxed))
      out += fmt::format("{}_errors_total{{op=\"{}\"}} {}\n", prefix, op_name(static_cast<Op>(i)),
                         ops_[i].errors.load(k_relaxed));
  out += fmt::format("# HELP {0}_latency_seconds Call latency.\n# TYPE {0}_latency_seconds histogram\n", prefix);
  for (std::size_t i = 0; i < k_op_count; ++i) {
    const PerOp& m = ops_[i];
    if (m.calls.load(k_relaxed) == 0) continue;
    std::string_view name = op_name(static_cast<Op>(i));
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < m.buckets.size(); ++b) {
      cumulative += m.buckets[b].load(k_relaxed);
      std::string le = b < k_bucket_bounds_ns.size() ? fmt::format("{:g}", k_bucket_bounds_ns[b] / 1e9) : "+Inf";
      out += fmt::format("{}_latency_seconds_bucket{{op=\"{}\",le=\"{}\"}} {}\n", prefix, name, le, cumulative);
    }
    out += fmt::format("{}_latency_seconds_sum{{op=\"{}\"}} {:g}\n", prefix, name, m.latency_sum_ns.load(k_relaxed) / 1e9);
    out += fmt::format("{}_latency_seconds_count{{op=\"{}\"}} {}\n", prefix, name, m.calls.load(k_relaxed));
  }
  out += fmt::format("# TYPE {0}_bytes_read_total counter\n{0}_bytes_read_total {1}\n", prefix, bytes_read());
  out += fmt::format("# TYPE {0}_bytes_written_total counter\n{0}_bytes_written_total {1}\n", prefix, bytes_written());
  return out;
}

std::shared_ptr<Fs> make_metrics(std::shared_ptr<Fs> inner, std::shared_ptr<FsMetrics> metrics) {
  return std::make_shared<MetricsFs>(std::move(inner), std::move(metrics));
}

}  // namespace anyfs
