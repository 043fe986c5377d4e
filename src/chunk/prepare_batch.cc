#include "chunk/prepare_batch.h"

namespace anyfs {

void PrepareBatch::start(ThreadPool& workers) {
  // No more helpers than pieces: a worker that finds nothing left is a wakeup wasted.
  const std::size_t helpers = std::min(workers.size(), pieces_.size());
  for (std::size_t i = 0; i < helpers; ++i) workers_.push_back(workers.submit([this] { work(); }));
}

void PrepareBatch::work() {
  for (;;) {
    const std::size_t i = next_.fetch_add(1, std::memory_order_relaxed);
    if (i >= pieces_.size()) return;
    prepared_[i] = prepare_chunk(spec_, pieces_[i]);
    // The release orders prepared_[i] before the count finish() reads.
    if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == pieces_.size()) {
      MutexLock lock(mu_);
      all_done_.notify_all();
    }
  }
}

std::vector<PreparedChunk>& PrepareBatch::finish() {
  work();
  MutexLock lock(mu_);
  while (done_.load(std::memory_order_acquire) < pieces_.size()) all_done_.wait(mu_);
  return prepared_;
}

}  // namespace anyfs
