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
  }
}

void PrepareBatch::wait_workers() {
  // Their futures' get() orders their writes to prepared_ before our reads.
  for (auto& f : workers_) f.get();
  workers_.clear();
}

std::vector<PreparedChunk>& PrepareBatch::finish() {
  work();
  wait_workers();
  return prepared_;
}

}  // namespace anyfs
