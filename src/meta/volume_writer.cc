#include "meta/volume_writer.h"

namespace anyfs {

VolumeWriter::VolumeWriter(VolumeFile& file) : file_(file) { thread_ = std::thread([this] { run(); }); }

VolumeWriter::~VolumeWriter() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void VolumeWriter::put(const ChunkId& id, std::shared_ptr<const StoredChunk> chunk) {
  MutexLock lock(mu_);
  while (queued_bytes_ > k_queue_bytes && !stopping_) changed_.wait(mu_);
  queued_bytes_ += chunk->stored.size();
  pending_[id] = chunk;
  queue_.push_back(Item{id, std::move(chunk)});
  changed_.notify_all();
}

std::shared_ptr<const StoredChunk> VolumeWriter::queued(const ChunkId& id) {
  MutexLock lock(mu_);
  auto it = pending_.find(id);
  return it == pending_.end() ? nullptr : it->second;
}

void VolumeWriter::start_commit() {
  MutexLock lock(mu_);
  commits_asked_++;
  queue_.push_back(Item{ChunkId{}, nullptr});
  changed_.notify_all();
}

Result<void> VolumeWriter::finish_commit() {
  MutexLock lock(mu_);
  while (commits_done_ < commits_asked_) changed_.wait(mu_);
  if (failure_) {
    Error e = *failure_;
    failure_.reset();
    return std::unexpected(e);
  }
  return {};
}

void VolumeWriter::run() {
  MutexLock lock(mu_);
  while (true) {
    while (queue_.empty() && !stopping_) changed_.wait(mu_);
    if (stopping_) return;
    Item item = std::move(queue_.front());
    queue_.pop_front();
    const bool failed = failure_.has_value();
    lock.unlock();
    // The file has a lock of its own: the pool's threads may read it meanwhile.
    Result<void> done;
    if (!item.chunk) {
      done = failed ? file_.rollback_if_open() : file_.commit_if_open();
    } else if (!failed) {
      done = file_.put_in_transaction(item.id, *item.chunk);
    }
    lock.lock();
    if (!done && !failure_) failure_ = done.error();
    if (!item.chunk) {
      commits_done_++;
    } else {
      queued_bytes_ -= item.chunk->stored.size();
      if (auto it = pending_.find(item.id); it != pending_.end() && it->second == item.chunk) pending_.erase(it);
    }
    changed_.notify_all();
  }
}

}  // namespace anyfs
