#include "util/share_work.h"

#include <algorithm>

namespace anyfs {
namespace {

// Kept alive by every worker job, so a job that starts after the caller
// returned touches only this (it finds no part left and ends).
struct Shared {
  explicit Shared(std::size_t n, const std::function<void(std::size_t)>& p) : parts(n), part(&p) {}
  const std::size_t parts;
  // Valid while the caller waits; read only by a thread that claimed a part,
  // and every part is claimed before the caller returns.
  const std::function<void(std::size_t)>* part;
  std::atomic<std::size_t> next{0};
  Mutex mu;
  CondVar cv;
  std::size_t done GUARDED_BY(mu) = 0;

  void work() {
    for (;;) {
      const std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= parts) return;
      (*part)(i);
      MutexLock lock(mu);
      if (++done == parts) cv.notify_all();
    }
  }
};

}  // namespace

void share_work(ThreadPool& pool, std::size_t helpers, std::size_t parts, const std::function<void(std::size_t)>& part) {
  if (parts == 0) return;
  auto shared = std::make_shared<Shared>(parts, part);
  helpers = std::min({helpers, pool.size(), parts - 1});
  for (std::size_t h = 0; h < helpers; ++h) (void)pool.submit([shared] { shared->work(); });
  shared->work();
  MutexLock lock(shared->mu);
  while (shared->done < parts) shared->cv.wait(shared->mu);
}

}  // namespace anyfs
