#include "anyfs/layers/metrics.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "anyfs/memory_fs.h"
#include "support/result_matchers.h"

namespace anyfs {
namespace {

TEST(Metrics, CountsCallsErrorsAndBytes) {
  auto metrics = std::make_shared<FsMetrics>();
  auto fs = make_metrics(make_memory_fs(), metrics);
  ASSERT_OK(fs->write_file("/f", "12345"));
  ASSERT_OK(fs->read_file("/f"));
  EXPECT_ERR(fs->stat("/none"), NotFound);
  ASSERT_OK(fs->stat("/f"));
  EXPECT_EQ(metrics->calls(Op::Stat), 2u);
  EXPECT_EQ(metrics->errors(Op::Stat), 1u);
  EXPECT_EQ(metrics->calls(Op::Open), 2u);
  EXPECT_EQ(metrics->bytes_written(), 5u);
  EXPECT_EQ(metrics->bytes_read(), 5u);
}

TEST(Metrics, JsonDumpHasOpsBucketsAndBytes) {
  auto metrics = std::make_shared<FsMetrics>(1);  // time every call
  auto fs = make_metrics(make_memory_fs(), metrics);
  ASSERT_OK(fs->mkdir("/d"));
  auto j = nlohmann::json::parse(metrics->to_json());
  EXPECT_EQ(j["ops"]["mkdir"]["calls"], 1);
  EXPECT_EQ(j["ops"]["mkdir"]["errors"], 0);
  std::uint64_t in_buckets = 0;
  for (const auto& b : j["ops"]["mkdir"]["buckets"]) in_buckets += b["count"].get<std::uint64_t>();
  EXPECT_EQ(in_buckets, 1u);
  EXPECT_FALSE(j["ops"].contains("stat"));
}

TEST(Metrics, PrometheusDumpIsCumulativeAndComplete) {
  auto metrics = std::make_shared<FsMetrics>();
  metrics->record(Op::Stat, false, 0, 0, 500);
  metrics->record(Op::Stat, true, 0, 0, 2'000'000);
  metrics->record(Op::FileRead, false, 4096, 0, 3'000);
  std::string text = metrics->to_prometheus();
  EXPECT_NE(text.find("anyfs_calls_total{op=\"stat\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("anyfs_errors_total{op=\"stat\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("anyfs_latency_seconds_bucket{op=\"stat\",le=\"1e-06\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("anyfs_latency_seconds_bucket{op=\"stat\",le=\"+Inf\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("anyfs_latency_seconds_count{op=\"stat\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("anyfs_bytes_read_total 4096\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE anyfs_latency_seconds histogram"), std::string::npos);
}

TEST(Metrics, LatencyIsSampledButCountsAreExact) {
  auto metrics = std::make_shared<FsMetrics>(8);
  auto fs = make_metrics(make_memory_fs(), metrics);
  for (int i = 0; i < 80; ++i) ASSERT_OK(fs->stat("/"));
  auto j = nlohmann::json::parse(metrics->to_json());
  EXPECT_EQ(j["ops"]["stat"]["calls"], 80);
  EXPECT_GE(j["ops"]["stat"]["timed"].get<int>(), 9);
  EXPECT_LE(j["ops"]["stat"]["timed"].get<int>(), 11);
}

TEST(Metrics, OneRegistryCanServeSeveralLayers) {
  auto metrics = std::make_shared<FsMetrics>();
  auto a = make_metrics(make_memory_fs(), metrics);
  auto b = make_metrics(make_memory_fs(), metrics);
  ASSERT_OK(a->stat("/"));
  ASSERT_OK(b->stat("/"));
  EXPECT_EQ(metrics->calls(Op::Stat), 2u);
}

}  // namespace
}  // namespace anyfs
