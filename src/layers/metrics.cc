#include "anyfs/layers/metrics.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "layers/hook_fs.h"

namespace anyfs {

// Counters written by one thread only: relaxed load + store (no locked
// instruction) is enough, and readers may sum them at any time.
struct FsMetrics::Shard {
  struct PerOp {
    std::atomic<std::uint64_t> calls{0}, errors{0}, timed{0};
    std::atomic<std::int64_t> latency_sum_ns{0};
    std::array<std::atomic<std::uint64_t>, k_bucket_bounds_ns.size() + 1> buckets{};
  };
  std::array<PerOp, k_op_count> ops;
  std::atomic<std::uint64_t> bytes_read{0}, bytes_written{0};
};

struct FsMetrics::Totals {
  struct PerOp {
    std::uint64_t calls = 0, errors = 0, timed = 0;
    std::int64_t latency_sum_ns = 0;
    std::array<std::uint64_t, k_bucket_bounds_ns.size() + 1> buckets{};
  };
  std::array<PerOp, k_op_count> ops;
  std::uint64_t bytes_read = 0, bytes_written = 0;
};

namespace {

constexpr auto k_relaxed = std::memory_order_relaxed;

template <class T>
void bump(std::atomic<T>& counter, T by) {
  counter.store(counter.load(k_relaxed) + by, k_relaxed);
}

std::atomic<std::uint64_t> g_next_metrics_id{1};

// The calling thread's shard of each FsMetrics it has recorded into, by id (ids
// are never reused, so an entry of a destroyed FsMetrics is never looked up).
thread_local std::vector<std::pair<std::uint64_t, FsMetrics::Shard*>> t_shards;

struct MetricsHooks {
  static constexpr Timing k_timing = Timing::Sampled;
  static constexpr bool k_wrap_handles = true;

  std::shared_ptr<FsMetrics> metrics;

  Result<void> before(const Call&) { return {}; }
  void after(const Call& call, const Error* error, std::uint64_t bytes, std::int64_t latency_ns) {
    const bool read = call.op == Op::FileRead;
    metrics->record(call.op, error != nullptr, read ? bytes : 0, read ? 0 : bytes, latency_ns);
  }
  bool time_call() { return metrics->sample_next(); }
};

}  // namespace

FsMetrics::FsMetrics(std::uint32_t latency_sample_every)
    : id_(g_next_metrics_id.fetch_add(1)), sample_every_(std::max<std::uint32_t>(1, latency_sample_every)) {}

FsMetrics::~FsMetrics() = default;

// The last shard used on this thread: plain thread_locals need no init guard.
thread_local std::uint64_t t_last_id = 0;
thread_local FsMetrics::Shard* t_last_shard = nullptr;

FsMetrics::Shard& FsMetrics::shard() {
  if (t_last_id == id_) [[likely]]
    return *t_last_shard;
  return shard_slow();
}

FsMetrics::Shard& FsMetrics::shard_slow() {
  for (const auto& [id, s] : t_shards) {
    if (id == id_) {
      t_last_id = id;
      t_last_shard = s;
      return *s;
    }
  }
  std::lock_guard lock(mu_);
  shards_.push_back(std::make_unique<Shard>());
  t_shards.emplace_back(id_, shards_.back().get());
  t_last_id = id_;
  t_last_shard = shards_.back().get();
  return *shards_.back();
}

// Calls left until this thread times one (shared by all FsMetrics: sampling is
// about the thread's call rate, and a plain thread_local costs no lookup).
thread_local std::uint32_t t_until_sample = 0;

bool FsMetrics::sample_next() {
  if (t_until_sample >= sample_every_) t_until_sample = sample_every_ - 1;  // left by a sparser FsMetrics
  if (t_until_sample != 0) [[likely]] {
    --t_until_sample;
    return false;
  }
  t_until_sample = sample_every_ - 1;
  return true;
}

void FsMetrics::record(Op op, bool failed, std::uint64_t bytes_read, std::uint64_t bytes_written,
                       std::int64_t latency_ns) {
  Shard& s = shard();
  auto& m = s.ops[static_cast<std::size_t>(op)];
  bump(m.calls, std::uint64_t{1});
  if (failed) bump(m.errors, std::uint64_t{1});
  if (latency_ns >= 0) {
    bump(m.timed, std::uint64_t{1});
    bump(m.latency_sum_ns, latency_ns);
    std::size_t bucket = 0;
    while (bucket < k_bucket_bounds_ns.size() && latency_ns > k_bucket_bounds_ns[bucket]) ++bucket;
    bump(m.buckets[bucket], std::uint64_t{1});
  }
  if (bytes_read) bump(s.bytes_read, bytes_read);
  if (bytes_written) bump(s.bytes_written, bytes_written);
}

FsMetrics::Totals FsMetrics::totals() const {
  Totals t;
  std::lock_guard lock(mu_);
  for (const auto& s : shards_) {
    for (std::size_t i = 0; i < k_op_count; ++i) {
      const auto& m = s->ops[i];
      auto& out = t.ops[i];
      out.calls += m.calls.load(k_relaxed);
      out.errors += m.errors.load(k_relaxed);
      out.timed += m.timed.load(k_relaxed);
      out.latency_sum_ns += m.latency_sum_ns.load(k_relaxed);
      for (std::size_t b = 0; b < out.buckets.size(); ++b) out.buckets[b] += m.buckets[b].load(k_relaxed);
    }
    t.bytes_read += s->bytes_read.load(k_relaxed);
    t.bytes_written += s->bytes_written.load(k_relaxed);
  }
  return t;
}

std::uint64_t FsMetrics::calls(Op op) const { return totals().ops[static_cast<std::size_t>(op)].calls; }
std::uint64_t FsMetrics::errors(Op op) const { return totals().ops[static_cast<std::size_t>(op)].errors; }
std::uint64_t FsMetrics::bytes_read() const { return totals().bytes_read; }
std::uint64_t FsMetrics::bytes_written() const { return totals().bytes_written; }

std::string FsMetrics::to_json() const {
  Totals t = totals();
  nlohmann::json ops = nlohmann::json::object();
  for (std::size_t i = 0; i < k_op_count; ++i) {
    const auto& m = t.ops[i];
    if (m.calls == 0) continue;
    nlohmann::json buckets = nlohmann::json::array();
    for (std::size_t b = 0; b < m.buckets.size(); ++b) {
      nlohmann::json le = b < k_bucket_bounds_ns.size() ? nlohmann::json(k_bucket_bounds_ns[b]) : nlohmann::json("inf");
      buckets.push_back({{"le_ns", le}, {"count", m.buckets[b]}});
    }
    ops[std::string(op_name(static_cast<Op>(i)))] = {{"calls", m.calls},
                                                     {"errors", m.errors},
                                                     {"timed", m.timed},
                                                     {"latency_ns_sum", m.latency_sum_ns},
                                                     {"buckets", buckets}};
  }
  nlohmann::json j = {{"ops", ops}, {"bytes_read", t.bytes_read}, {"bytes_written", t.bytes_written}};
  return j.dump();
}

std::string FsMetrics::to_prometheus(std::string_view prefix) const {
  Totals t = totals();
  std::string out;
  auto each_op = [&](auto&& fn) {
    for (std::size_t i = 0; i < k_op_count; ++i)
      if (t.ops[i].calls) fn(op_name(static_cast<Op>(i)), t.ops[i]);
  };
  out += fmt::format("# HELP {0}_calls_total Calls by operation.\n# TYPE {0}_calls_total counter\n", prefix);
  each_op(
      [&](auto name, const auto& m) { out += fmt::format("{}_calls_total{{op=\"{}\"}} {}\n", prefix, name, m.calls); });
  out += fmt::format("# HELP {0}_errors_total Failed calls by operation.\n# TYPE {0}_errors_total counter\n", prefix);
  each_op([&](auto name, const auto& m) {
    out += fmt::format("{}_errors_total{{op=\"{}\"}} {}\n", prefix, name, m.errors);
  });
  out += fmt::format(
      "# HELP {0}_latency_seconds Latency of the timed (sampled) calls.\n"
      "# TYPE {0}_latency_seconds histogram\n",
      prefix);
  each_op([&](auto name, const auto& m) {
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < m.buckets.size(); ++b) {
      cumulative += m.buckets[b];
      std::string le = b < k_bucket_bounds_ns.size() ? fmt::format("{:g}", k_bucket_bounds_ns[b] / 1e9) : "+Inf";
      out += fmt::format("{}_latency_seconds_bucket{{op=\"{}\",le=\"{}\"}} {}\n", prefix, name, le, cumulative);
    }
    out += fmt::format("{}_latency_seconds_sum{{op=\"{}\"}} {:g}\n", prefix, name, m.latency_sum_ns / 1e9);
    out += fmt::format("{}_latency_seconds_count{{op=\"{}\"}} {}\n", prefix, name, m.timed);
  });
  out += fmt::format("# TYPE {0}_bytes_read_total counter\n{0}_bytes_read_total {1}\n", prefix, t.bytes_read);
  out += fmt::format("# TYPE {0}_bytes_written_total counter\n{0}_bytes_written_total {1}\n", prefix, t.bytes_written);
  return out;
}

std::shared_ptr<Fs> make_metrics(std::shared_ptr<Fs> inner, std::shared_ptr<FsMetrics> metrics) {
  return make_hook_fs(std::move(inner), MetricsHooks{std::move(metrics)});
}

}  // namespace anyfs
