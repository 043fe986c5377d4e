#include "anyfs/layers/rate_limit.h"

#include <gtest/gtest.h>

#include <chrono>

#include "anyfs/memory_fs.h"
#include "support/result_matchers.h"

namespace anyfs {
namespace {

using OnLimit = RateLimitOptions::OnLimit;

TEST(RateLimit, CallsPastTheBurstFailWithAgainInFailMode) {
  auto fs = make_rate_limit(make_memory_fs(), {10, 0, 1.0, OnLimit::Fail});
  ASSERT_OK(fs);
  int ok = 0;
  for (int i = 0; i < 10; ++i) ok += (*fs)->stat("/").has_value();
  EXPECT_EQ(ok, 10);
  EXPECT_ERR((*fs)->stat("/"), Again);
}

TEST(RateLimit, WaitModeSpacesCallsOutInsteadOfFailing) {
  auto fs = make_rate_limit(make_memory_fs(), {100, 0, 0.05, OnLimit::Wait});
  ASSERT_OK(fs);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 15; ++i) ASSERT_OK((*fs)->stat("/"));
  // 5 calls fit the burst; the other 10 need 10 / 100 per second = 0.1 s.
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(80));
}

TEST(RateLimit, BytesAreCountedOnHandleReadsAndWrites) {
  auto inner = make_memory_fs();
  ASSERT_OK(inner->write_file("/f", std::string(2000, 'x')));
  auto fs = make_rate_limit(inner, {0, 1000, 1.0, OnLimit::Fail});
  ASSERT_OK(fs);
  auto h = (*fs)->open("/f", OpenFlags::ReadWrite);
  ASSERT_OK(h);
  char buf[800];
  EXPECT_OK((*h)->pread(std::span<char>(buf, 800), 0));
  EXPECT_ERR((*h)->pread(std::span<char>(buf, 800), 0), Again);
  EXPECT_ERR((*h)->pwrite(std::string(800, 'y'), 0), Again);
  EXPECT_OK((*fs)->stat("/f"));  // calls without bytes are not limited here
}

TEST(RateLimit, BadOptionsAreRejected) {
  EXPECT_ERR(make_rate_limit(make_memory_fs(), {-1, 0, 1.0, OnLimit::Wait}), InvalidArgument);
  EXPECT_ERR(make_rate_limit(make_memory_fs(), {10, 0, 0, OnLimit::Wait}), InvalidArgument);
}

}  // namespace
}  // namespace anyfs
