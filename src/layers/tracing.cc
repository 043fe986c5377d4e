#include "anyfs/layers/tracing.h"

#include <mutex>
#include <nlohmann/json.hpp>
#include <ostream>

#include "layers/hook_fs.h"
#include "util/mutex.h"

namespace anyfs {
namespace {

class StreamTraceSink final : public TraceSink {
 public:
  explicit StreamTraceSink(std::ostream& out) : out_(out) {}
  void record(const TraceEvent& event) override {
    std::string line = event.to_json();
    MutexLock lock(mu_);
    out_ << line << '\n';
  }

 private:
  Mutex mu_;
  std::ostream& out_ GUARDED_BY(mu_);
};

struct TracingHooks {
  static constexpr Timing k_timing = Timing::Always;
  static constexpr bool k_wrap_handles = true;

  std::shared_ptr<TraceSink> sink;

  Result<void> before(const Call&) { return {}; }
  void after(const Call& call, const Error* error, std::uint64_t bytes, std::int64_t latency_ns) {
    TraceEvent event{call.op, call.path, call.path2, call.offset, call.size, bytes, std::nullopt, latency_ns};
    if (error) event.error = error->code;
    sink->record(event);
  }
  bool time_call() { return true; }
};

}  // namespace

std::string TraceEvent::to_json() const {
  nlohmann::json j;
  j["op"] = op_name(op);
  if (!path.empty()) j["path"] = path;
  if (!path2.empty()) j["path2"] = path2;
  if (offset != 0) j["offset"] = offset;
  if (size != 0) j["size"] = size;
  if (bytes != 0) j["bytes"] = bytes;
  j["result"] = error ? std::string(errc_name(*error)) : "ok";
  j["latency_ns"] = latency_ns;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::shared_ptr<TraceSink> make_stream_trace_sink(std::ostream& out) { return std::make_shared<StreamTraceSink>(out); }

std::shared_ptr<Fs> make_tracing(std::shared_ptr<Fs> inner, std::shared_ptr<TraceSink> sink) {
  return make_hook_fs(std::move(inner), TracingHooks{std::move(sink)});
}

}  // namespace anyfs
