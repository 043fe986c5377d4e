// The pool lock (pool/pool_lock.h): a ticket lock that spins briefly, then
// sleeps. Mutual exclusion under contention (more threads than cores, so
// waiters sleep as well as spin), order of grant, and the commit timer's
// wait that must never miss a wakeup; the gate a flush closes while it
// works without the lock, which changes wait for and reads pass.
#include "pool/pool_lock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace anyfs::testing {
namespace {

TEST(PoolLockTest, ThreadsPastTheCoresNeverHoldItTogether) {
  PoolMutex mu;
  std::uint64_t counter = 0;  // not atomic: the lock is all that protects it
  int inside = 0;
  bool overlap = false;
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        PoolLock lock(mu);
        if (++inside != 1) overlap = true;
        counter++;
        if (i % 1000 == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));  // a long hold: others sleep
        --inside;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_FALSE(overlap);
  EXPECT_EQ(counter, 6u * 20000u);
}

TEST(PoolLockTest, WaitersAreServedInTheOrderTheyAsked) {
  PoolMutex mu;
  std::vector<int> order;
  std::vector<std::thread> threads;
  {
    PoolLock held(mu);
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        PoolLock lock(mu);
        order.push_back(t);
      });
      // The next thread asks only after this one has its ticket and sleeps.
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
    }
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
}

TEST(PoolLockTest, AWaitUntilIsWokenByNotifyAndHoldsTheLockAgain) {
  PoolMutex mu;
  std::condition_variable cv;
  bool stop = false;
  bool started = false;
  int wakes = 0;
  std::thread timer([&] {
    PoolLock lock(mu);
    started = true;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!stop && std::chrono::steady_clock::now() < give_up) {
      mu.wait_until(cv, give_up);
      wakes++;
    }
  });
  // Many take-and-notify rounds: a notify that slipped in before the wait
  // would leave the timer asleep until its deadline.
  const auto start = std::chrono::steady_clock::now();
  for (bool up = false; !up;) {  // the timer holds the lock until it waits
    PoolLock lock(mu);
    up = started;
  }
  for (int i = 0; i < 200; ++i) {
    PoolLock lock(mu);
    mu.notify_all(cv);
  }
  {
    PoolLock lock(mu);
    stop = true;
    mu.notify_all(cv);
  }
  timer.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_GE(wakes, 1);
}

// A flush closes the gate and works without the lock: a read takes the lock
// past the gate at once; a change asks for it too but holds it only once the
// gate is open again — then sees everything the flush did.
TEST(PoolLockTest, AClosedGateLetsReadsInAndHoldsChangesUntilItOpens) {
  PoolMutex mu;
  std::atomic<bool> flush_over = false;
  std::atomic<int> reads_during = 0;
  std::atomic<bool> change_saw_flush_over = false;
  std::thread change;
  {
    PoolLock lock(mu);
    mu.close_gate();
    mu.without([&] {
      std::thread reader([&] {
        for (int i = 0; i < 100; ++i) {
          PoolLock r(mu, Flushes::Overlap);
          if (!flush_over) reads_during++;
        }
      });
      reader.join();
      change = std::thread([&] {
        PoolLock w(mu);
        change_saw_flush_over = flush_over.load();
      });
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the lock is free all along
      flush_over = true;
    });
    EXPECT_TRUE(mu.gate_closed());
    mu.open_gate();
  }
  change.join();
  EXPECT_EQ(reads_during.load(), 100);
  EXPECT_TRUE(change_saw_flush_over.load());
}

// wait_gate() inside a call that passed the gate (a close that must destroy
// a removed file) gives the lock up until the gate opens.
TEST(PoolLockTest, WaitGateGivesTheLockUpUntilTheGateOpens) {
  PoolMutex mu;
  std::atomic<bool> opened = false;
  bool waiter_saw_open = false;
  {
    PoolLock lock(mu);
    mu.close_gate();
  }
  std::thread waiter([&] {
    PoolLock r(mu, Flushes::Overlap);
    mu.wait_gate();
    waiter_saw_open = opened && !mu.gate_closed();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  {
    PoolLock lock(mu, Flushes::Overlap);  // the waiter does not hold it while it waits
    opened = true;
    mu.open_gate();
  }
  waiter.join();
  EXPECT_TRUE(waiter_saw_open);
}

// Shared holders hold the lock together: each waits inside for the other.
TEST(PoolLockTest, SharedHoldersHoldItTogether) {
  PoolMutex mu;
  std::atomic<int> inside = 0;
  std::atomic<bool> both = false;
  auto reader = [&] {
    PoolSharedLock lock(mu);
    inside++;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (inside.load() < 2 && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
    if (inside.load() == 2) both = true;
  };
  std::thread a(reader), b(reader);
  a.join();
  b.join();
  EXPECT_TRUE(both.load());
}

// An exclusive holder waits for the shared holders before it, and shared
// requests made after it wait for it: a stream of reads cannot keep a change
// out.
TEST(PoolLockTest, AChangeWaitsForEarlierReadersAndLaterReadersWaitForIt) {
  PoolMutex mu;
  std::vector<std::string> order;
  std::mutex order_mu;
  auto note = [&](std::string what) {
    std::lock_guard l(order_mu);
    order.push_back(std::move(what));
  };
  std::thread change, later;
  {
    PoolSharedLock first(mu);
    change = std::thread([&] {
      PoolLock lock(mu);
      note("change");
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the change has its ticket and waits
    later = std::thread([&] {
      PoolSharedLock lock(mu);
      note("later read");
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    note("first read ends");
  }
  change.join();
  later.join();
  EXPECT_EQ(order, (std::vector<std::string>{"first read ends", "change", "later read"}));
}

// Changes under the lock alone and reads under it shared, past the cores:
// a reader never sees a change half made.
TEST(PoolLockTest, ReadersHeldSharedNeverSeeAChangeHalfMade) {
  PoolMutex mu;
  std::uint64_t a = 0, b = 0;  // not atomic: the lock is all that protects them
  std::atomic<bool> torn = false;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) {
        PoolLock lock(mu);
        a++;
        if (i % 500 == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
        b++;
      }
    });
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) {
        PoolSharedLock lock(mu);
        if (a != b) torn = true;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_FALSE(torn.load());
  EXPECT_EQ(a, 10000u);
  EXPECT_EQ(b, 10000u);
}

}  // namespace
}  // namespace anyfs::testing
