#include "pool/flush_feed.h"

namespace anyfs {

FlushFeed::FlushFeed(std::vector<Run> runs, const Chunker& chunker, std::uint32_t max_size, const CompressionSpec& spec,
                     std::uint64_t batch_bytes, std::size_t depth, ThreadPool& workers, bool ahead)
    : runs_(std::move(runs)),
      chunker_(chunker),
      max_size_(max_size),
      spec_(spec),
      batch_bytes_(batch_bytes),
      depth_(depth),
      workers_(workers),
      kept_at_(runs_.size()) {
  if (ahead) producer_ = workers_.submit([this] { produce(); });
}

FlushFeed::~FlushFeed() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  changed_.notify_all();
  if (producer_.valid()) producer_.wait();
}

std::shared_ptr<FlushFeed::Batch> FlushFeed::cut_batch() {
  std::vector<std::string_view> pieces;
  std::vector<Slice> slices;
  std::uint64_t bytes = 0;
  while (cut_run_ < runs_.size() && bytes < batch_bytes_) {
    const Run& run = runs_[cut_run_];
    Slice slice{cut_run_, {}};
    while (cut_at_ < run.bytes.size() && bytes < batch_bytes_) {
      const std::string_view rest = run.bytes.substr(cut_at_);
      const std::size_t n = chunker_.cut(rest);
      if (n == rest.size() && run.may_keep_tail && n < max_size_) {
        kept_at_[cut_run_] = run.start + cut_at_;
        cut_at_ = run.bytes.size();
        break;
      }
      pieces.push_back(rest.substr(0, n));
      slice.offsets.push_back(run.start + cut_at_);
      cut_at_ += n;
      bytes += n;
    }
    if (!slice.offsets.empty()) slices.push_back(std::move(slice));
    if (cut_at_ >= run.bytes.size()) {
      ++cut_run_;
      cut_at_ = 0;
    }
  }
  if (pieces.empty()) return nullptr;
  return std::make_shared<Batch>(spec_, std::move(pieces), std::move(slices));
}

void FlushFeed::produce() {
  // The other workers, if any, help prepare; this one cuts, then prepares too.
  const bool helpers = workers_.size() > 1;
  for (;;) {
    std::shared_ptr<Batch> batch;
    {
      MutexLock lock(mu_);
      while (!stop_ && ready_.size() >= depth_) changed_.wait(mu_);
      if (stop_) break;
    }
    batch = cut_batch();
    MutexLock lock(mu_);
    if (!batch || stop_) break;
    ready_.push_back(batch);
    changed_.notify_all();
    lock.unlock();
    if (helpers) batch->prepared.start(workers_);
    batch->prepared.help();
  }
  MutexLock lock(mu_);
  produced_all_ = true;
  changed_.notify_all();
}

FlushFeed::Batch* FlushFeed::next() {
  taken_.reset();
  if (!producer_.valid()) {
    taken_ = cut_batch();
    if (!taken_) return nullptr;
    taken_->prepared.start(workers_);
  } else {
    MutexLock lock(mu_);
    while (ready_.empty() && !produced_all_) changed_.wait(mu_);
    if (ready_.empty()) return nullptr;
    taken_ = std::move(ready_.front());
    ready_.pop_front();
    changed_.notify_all();
  }
  taken_->prepared.finish();  // helping with what is not yet taken
  return taken_.get();
}

}  // namespace anyfs
