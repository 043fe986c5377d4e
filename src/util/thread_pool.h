// A fixed set of worker threads running submitted jobs in order of submission.
// The pool uses it to hash and compress chunks on the other cores while its own
// thread talks to SQLite (DESIGN.md §5).
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "util/mutex.h"

namespace anyfs {

class ThreadPool {
 public:
  // `threads` workers (at least one).
  explicit ThreadPool(std::size_t threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Runs `job` on a worker; the future holds its result.
  template <class F>
  auto submit(F&& job) -> std::future<decltype(job())> {
    using R = decltype(job());
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(job));
    auto future = task->get_future();
    {
      MutexLock lock(mu_);
      queue_.emplace_back([task] { (*task)(); });
    }
    cv_.notify_one();
    return future;
  }

  std::size_t size() const { return workers_.size(); }

 private:
  void run();

  Mutex mu_;
  CondVar cv_;
  std::deque<std::function<void()>> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace anyfs
