// The pool lock (PoolCore::mu) as the thread-safety analysis sees it.
//
// Every open pool has its own mutex, but the parts that work under it — the
// core, each dataset's node cache and file data, the maintenance passes — are
// separate objects, and clang cannot tell that `a.core_.mu` and `b.core_.mu`
// are one lock. So the analysis tracks a role instead: `pool_lock` stands for
// "the lock of the pool this object belongs to". A PoolMutex acquires that
// role, members it guards say GUARDED_BY(pool_lock), and functions that must
// run under it say REQUIRES(pool_lock). What the role cannot catch is using
// one pool's objects under another pool's lock, which no code here does.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "util/thread_annotations.h"

namespace anyfs {

class CAPABILITY("mutex") PoolLockRole {};
// Never read or written: only named in annotations.
inline PoolLockRole pool_lock;

// Granted in the order asked (tickets): a thread that takes the lock again
// and again — a writer streaming small operations — cannot keep readers out
// between its turns, as a plain mutex lets it.
class PoolMutex {
 public:
  // The analysis cannot see that holding a ticket is taking the role.
  void lock() ACQUIRE(pool_lock) NO_THREAD_SAFETY_ANALYSIS {
    std::unique_lock lock(mu_);
    wait_turn(lock);
  }
  void unlock() RELEASE(pool_lock) NO_THREAD_SAFETY_ANALYSIS {
    {
      std::lock_guard lock(mu_);
      ++serving_;
    }
    turn_.notify_all();
  }
  // Waits on `cv` until `deadline` (or a wakeup), without the lock meanwhile;
  // holds it again, in its turn, when it returns. Whoever notifies `cv` holds
  // the pool lock, so cannot do it before this waits.
  template <class TimePoint>
  void wait_until(std::condition_variable& cv, TimePoint deadline) REQUIRES(pool_lock) {
    std::unique_lock lock(mu_);
    ++serving_;
    turn_.notify_all();
    cv.wait_until(lock, deadline);
    wait_turn(lock);
  }

 private:
  void wait_turn(std::unique_lock<std::mutex>& lock) {
    const std::uint64_t mine = next_++;
    while (serving_ != mine) turn_.wait(lock);
  }

  std::mutex mu_;  // guards the tickets
  std::condition_variable turn_;
  std::uint64_t next_ = 0;     // the next ticket handed out
  std::uint64_t serving_ = 0;  // the ticket that holds the lock
};

// Holds the pool lock for its scope; unlock()/lock() around a stretch that
// must run without it.
class SCOPED_CAPABILITY PoolLock {
 public:
  explicit PoolLock(PoolMutex& mu) ACQUIRE(pool_lock) : mu_(mu) { mu_.lock(); }
  ~PoolLock() RELEASE() {
    if (held_) mu_.unlock();
  }
  PoolLock(const PoolLock&) = delete;
  PoolLock& operator=(const PoolLock&) = delete;
  void unlock() RELEASE() {
    mu_.unlock();
    held_ = false;
  }
  void lock() ACQUIRE() {
    mu_.lock();
    held_ = true;
  }

 private:
  PoolMutex& mu_;
  bool held_ = true;
};

}  // namespace anyfs
