// Tracing: every call (Fs and File) with its arguments, result and latency goes
// to a TraceSink you pass in.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "anyfs/error.h"
#include "anyfs/fs.h"
#include "anyfs/layers/op.h"

namespace anyfs {

struct TraceEvent {
  Op op;
  std::string_view path;   // for File calls, the path the handle was opened with
  std::string_view path2;  // rename/link destination, symlink target, xattr name
  std::uint64_t offset = 0;
  std::uint64_t size = 0;   // bytes asked for
  std::uint64_t bytes = 0;  // bytes moved
  std::optional<Errc> error;
  std::int64_t latency_ns = 0;

  // One line of JSON: {"op":"stat","path":"/a","result":"ok","latency_ns":812,...}
  std::string to_json() const;
};

// Receives events from any thread; an implementation must be thread-safe.
class TraceSink {
 public:
  virtual ~TraceSink() = default;
  virtual void record(const TraceEvent& event) = 0;
};

// A sink that writes each event as one JSON line to `out` (serialised by a mutex).
std::shared_ptr<TraceSink> make_stream_trace_sink(std::ostream& out);

std::shared_ptr<Fs> make_tracing(std::shared_ptr<Fs> inner, std::shared_ptr<TraceSink> sink);

}  // namespace anyfs
