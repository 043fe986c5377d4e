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

#include <atomic>
#include <chrono>
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
//
// A waiter spins up to 20 µs before it sleeps: most holds are a few
// microseconds (a read's plan, a path walk, one small write), and a hand-off
// to a sleeping thread costs a wakeup and a context switch while the lock
// stands idle — with a decoded-chunk cache hit per read, that convoy made two
// reading threads 10x slower than one, and beside a writer's stream of small
// holds 4 µs of spinning still slept often (readers took 3.1x their quiet
// time; 2.3x with 20 µs). Long holds — the flush's hashing and compression —
// no longer happen under the lock (the gate below), so the spin no longer
// takes a core from them. Sleepers wait on a condition variable; an unlock
// wakes them only when some sleep.
//
// The gate: while a flush hashes and compresses chunks with the lock released
// (FileData's flush pipeline), the gate is closed. lock() then waits for it to
// open again — the calls that change the pool (the default) — while
// lock_past_gate() takes the lock at once: the reads that may overlap a flush,
// since they leave its buffered bytes alone.
class PoolMutex {
 public:
  // The analysis cannot see that holding a ticket is taking the role.
  void lock() ACQUIRE(pool_lock) NO_THREAD_SAFETY_ANALYSIS {
    lock_past_gate();
    wait_gate();
  }
  void lock_past_gate() ACQUIRE(pool_lock) NO_THREAD_SAFETY_ANALYSIS {
    wait_turn(next_.fetch_add(1, std::memory_order_relaxed));
    wait_readers();
  }
  // Shared: in its turn like any other, then it hands the turn on at once, so
  // shared holders in a row hold it together; whoever asks for it alone after
  // them waits for them to leave, and shared holders asking later queue
  // behind that one (a stream of reads cannot keep a change out). Passes the
  // gate: only reads of what a flush leaves alone take it shared.
  void lock_shared() ACQUIRE_SHARED(pool_lock) NO_THREAD_SAFETY_ANALYSIS {
    wait_turn(next_.fetch_add(1, std::memory_order_relaxed));
    readers_.fetch_add(1, std::memory_order_seq_cst);
    unlock();
  }
  void unlock_shared() RELEASE_SHARED(pool_lock) NO_THREAD_SAFETY_ANALYSIS {
    // Paired with wait_readers' count of sleepers, as in unlock().
    if (readers_.fetch_sub(1, std::memory_order_seq_cst) == 1 && sleepers_.load(std::memory_order_seq_cst) != 0) {
      { std::lock_guard lock(mu_); }
      turn_.notify_all();
    }
  }
  bool gate_closed() const REQUIRES_SHARED(pool_lock) { return gate_closed_.load(std::memory_order_relaxed); }
  void close_gate() REQUIRES(pool_lock) { gate_closed_.store(true, std::memory_order_relaxed); }
  void open_gate() REQUIRES(pool_lock) {
    gate_closed_.store(false, std::memory_order_relaxed);
    { std::lock_guard lock(mu_); }
    gate_.notify_all();
  }
  // Until the gate is open, gives the lock up and sleeps; holds it again,
  // with the gate open, when it returns.
  void wait_gate() REQUIRES(pool_lock) NO_THREAD_SAFETY_ANALYSIS {
    while (gate_closed_.load(std::memory_order_relaxed)) {
      {
        std::unique_lock lock(mu_);
        serving_.fetch_add(1, std::memory_order_seq_cst);
        turn_.notify_all();
        // open_gate() stores, then takes mu_ before it notifies: the check
        // under mu_ cannot miss it.
        gate_.wait(lock, [&] { return !gate_closed_.load(std::memory_order_relaxed); });
      }
      lock_past_gate();
    }
  }
  void unlock() RELEASE(pool_lock) NO_THREAD_SAFETY_ANALYSIS {
    serving_.fetch_add(1, std::memory_order_seq_cst);
    // Paired with the sleeper's increment then check (both seq_cst): either
    // it sees the new turn or this sees it sleeping.
    if (sleepers_.load(std::memory_order_seq_cst) != 0) {
      { std::lock_guard lock(mu_); }
      turn_.notify_all();
    }
  }
  // Waits on `cv` until `deadline` (or a wakeup), without the lock meanwhile;
  // holds it again, in a new turn, when it returns. Whoever wakes `cv` does it
  // through notify_all() below, which cannot slip in before this waits.
  template <class TimePoint>
  void wait_until(std::condition_variable& cv, TimePoint deadline) REQUIRES(pool_lock) NO_THREAD_SAFETY_ANALYSIS {
    {
      std::unique_lock lock(mu_);
      serving_.fetch_add(1, std::memory_order_seq_cst);
      turn_.notify_all();
      cv.wait_until(lock, deadline);
    }
    lock();
  }
  // Runs `f` without the lock (the caller's scoped lock stays as it was):
  // f must touch nothing the lock guards. Takes it again past the gate, which
  // the caller closed or leaves as it found it.
  template <class F>
  void without(F&& f) REQUIRES(pool_lock) NO_THREAD_SAFETY_ANALYSIS {
    unlock();
    struct Relock {
      PoolMutex& mu;
      ~Relock() { mu.lock_past_gate(); }
    } relock{*this};
    f();
  }
  // Wakes the waiters of wait_until() on `cv`.
  void notify_all(std::condition_variable& cv) {
    { std::lock_guard lock(mu_); }
    cv.notify_all();
  }

 private:
  static void relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  bool my_turn(std::uint64_t mine) const { return serving_.load(std::memory_order_acquire) == mine; }
  void wait_turn(std::uint64_t mine) {
    if (my_turn(mine)) return;
    // Spin while a short hold would end, then sleep.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::microseconds(k_spin_us);
    do {
      for (int i = 0; i < 16; ++i) {
        relax();
        if (my_turn(mine)) return;
      }
    } while (std::chrono::steady_clock::now() < give_up);
    std::unique_lock lock(mu_);
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    while (serving_.load(std::memory_order_seq_cst) != mine) turn_.wait(lock);
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
  }

  // In its turn, an exclusive holder waits for the shared holders before it
  // to leave: spinning, then asleep (unlock_shared wakes it).
  void wait_readers() {
    if (readers_.load(std::memory_order_seq_cst) == 0) return;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::microseconds(k_spin_us);
    do {
      for (int i = 0; i < 16; ++i) {
        relax();
        if (readers_.load(std::memory_order_seq_cst) == 0) return;
      }
    } while (std::chrono::steady_clock::now() < give_up);
    std::unique_lock lock(mu_);
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    while (readers_.load(std::memory_order_seq_cst) != 0) turn_.wait(lock);
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
  }

  static constexpr int k_spin_us = 20;
  std::atomic<std::uint32_t> readers_{0};  // shared holders
  std::atomic<std::uint64_t> next_{0};     // the next ticket handed out
  std::atomic<std::uint64_t> serving_{0};  // the ticket that holds the lock
  std::atomic<std::uint32_t> sleepers_{0};
  std::atomic<bool> gate_closed_{false};  // written only by the lock's holder
  std::mutex mu_;  // for sleepers and wait_until's condition variables
  std::condition_variable turn_;
  std::condition_variable gate_;
};

// Whether a call waits for a flush in progress to end (the default) or may run
// beside one (reads that touch no buffered bytes but read them).
enum class Flushes { Wait, Overlap };

// Holds the pool lock shared for its scope: what it reads no exclusive
// holder changes meanwhile, and other shared holders read beside it.
class SCOPED_CAPABILITY PoolSharedLock {
 public:
  explicit PoolSharedLock(PoolMutex& mu) ACQUIRE_SHARED(pool_lock) : mu_(mu) { mu_.lock_shared(); }
  ~PoolSharedLock() RELEASE() { mu_.unlock_shared(); }
  PoolSharedLock(const PoolSharedLock&) = delete;
  PoolSharedLock& operator=(const PoolSharedLock&) = delete;

 private:
  PoolMutex& mu_;
};

// Holds the pool lock for its scope; unlock()/lock() around a stretch that
// must run without it.
class SCOPED_CAPABILITY PoolLock {
 public:
  explicit PoolLock(PoolMutex& mu, Flushes flushes = Flushes::Wait) ACQUIRE(pool_lock) : mu_(mu) {
    if (flushes == Flushes::Wait)
      mu_.lock();
    else
      mu_.lock_past_gate();
  }
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
