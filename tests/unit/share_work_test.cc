#include "util/share_work.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace anyfs {
namespace {

TEST(ShareWorkTest, EveryPartRunsOnceAndAnIdleWorkerTakesSome) {
  ThreadPool pool(1);
  std::vector<std::atomic<int>> runs(64);
  std::mutex mu;
  std::set<std::thread::id> threads;
  share_work(pool, 1, runs.size(), [&](std::size_t i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    runs[i].fetch_add(1);
    std::lock_guard lock(mu);
    threads.insert(std::this_thread::get_id());
  });
  for (std::size_t i = 0; i < runs.size(); ++i) EXPECT_EQ(runs[i].load(), 1) << "part " << i;
  EXPECT_EQ(threads.size(), 2u);
}

// With the only worker busy the caller runs every part and returns at once: it
// waits for no worker that has not started.
TEST(ShareWorkTest, ABusyPoolDelaysNothing) {
  ThreadPool pool(1);
  std::promise<void> release;
  auto busy = pool.submit([f = release.get_future()]() mutable { f.wait(); });
  std::atomic<int> parts{0};
  const auto caller = std::this_thread::get_id();
  std::atomic<bool> on_test_thread{false};
  auto done = std::async(std::launch::async, [&] {
    share_work(pool, 1, 8, [&](std::size_t) {
      parts.fetch_add(1);
      if (std::this_thread::get_id() == caller) on_test_thread = true;
    });
  });
  EXPECT_EQ(done.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  EXPECT_EQ(parts.load(), 8);
  EXPECT_FALSE(on_test_thread.load());  // every part ran on the async caller
  release.set_value();
  busy.wait();
}

TEST(ShareWorkTest, NoPartsRunsNothingAndOnePartRunsHere) {
  ThreadPool pool(2);
  int runs = 0;
  share_work(pool, 2, 0, [&](std::size_t) { ++runs; });
  EXPECT_EQ(runs, 0);
  std::thread::id where;
  share_work(pool, 2, 1, [&](std::size_t) {
    ++runs;
    where = std::this_thread::get_id();
  });
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(where, std::this_thread::get_id());
}

}  // namespace
}  // namespace anyfs
