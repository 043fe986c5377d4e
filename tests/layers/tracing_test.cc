#include "anyfs/layers/tracing.h"

#include <gtest/gtest.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "anyfs/memory_fs.h"
#include "support/result_matchers.h"

namespace anyfs {
namespace {

struct Recorded {
  Op op;
  std::string path, path2;
  std::uint64_t bytes;
  std::optional<Errc> error;
  std::int64_t latency_ns;
};

class VectorSink final : public TraceSink {
 public:
  void record(const TraceEvent& e) override {
    std::lock_guard lock(mu);
    events.push_back({e.op, std::string(e.path), std::string(e.path2), e.bytes, e.error, e.latency_ns});
  }
  std::mutex mu;
  std::vector<Recorded> events;
};

TEST(Tracing, RecordsEveryCallWithArgumentsResultAndLatency) {
  auto sink = std::make_shared<VectorSink>();
  auto fs = make_tracing(make_memory_fs(), sink);
  ASSERT_OK(fs->mkdir("/d"));
  EXPECT_ERR(fs->stat("/missing"), NotFound);
  ASSERT_OK(fs->rename("/d", "/e"));
  auto h = fs->open("/e/f", OpenFlags::ReadWrite | OpenFlags::Create);
  ASSERT_OK(h);
  ASSERT_OK((*h)->pwrite("hello", 0));
  ASSERT_OK((*h)->close());

  ASSERT_EQ(sink->events.size(), 6u);
  EXPECT_EQ(sink->events[0].op, Op::Mkdir);
  EXPECT_EQ(sink->events[0].path, "/d");
  EXPECT_FALSE(sink->events[0].error);
  EXPECT_EQ(sink->events[1].error, Errc::NotFound);
  EXPECT_EQ(sink->events[2].path2, "/e");
  EXPECT_EQ(sink->events[3].op, Op::Open);
  EXPECT_EQ(sink->events[4].op, Op::FileWrite);
  EXPECT_EQ(sink->events[4].path, "/e/f");
  EXPECT_EQ(sink->events[4].bytes, 5u);
  EXPECT_EQ(sink->events[5].op, Op::FileClose);
  for (const auto& e : sink->events) EXPECT_GE(e.latency_ns, 0);
}

TEST(Tracing, StreamSinkWritesOneJsonLinePerCall) {
  std::ostringstream out;
  auto fs = make_tracing(make_memory_fs(), make_stream_trace_sink(out));
  ASSERT_OK(fs->write_file("/a", "xyz"));
  (void)fs->read_file("/nope");
  std::istringstream lines(out.str());
  std::vector<nlohmann::json> events;
  for (std::string line; std::getline(lines, line);) events.push_back(nlohmann::json::parse(line));
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.front()["op"], "open");
  EXPECT_EQ(events.front()["path"], "/a");
  EXPECT_EQ(events.back()["result"], "NotFound");
  EXPECT_TRUE(events.back().contains("latency_ns"));
}

}  // namespace
}  // namespace anyfs
