// A small LRU of decoded chunks, so that reading a chunk piece by piece does not
// decode it once per piece. Bounded by bytes. Thread-safe: reads outside the
// pool lock (pool/reader_pool.h) share it.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#include "chunk/hash.h"
#include "util/mutex.h"

namespace anyfs {

class ChunkCache {
 public:
  explicit ChunkCache(std::uint64_t capacity_bytes) : capacity_(capacity_bytes) {}

  std::shared_ptr<const std::string> get(const ChunkId& id) {
    MutexLock lock(mu_);
    auto it = index_.find(id);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->second;
  }

  void put(const ChunkId& id, std::shared_ptr<const std::string> data) {
    MutexLock lock(mu_);
    if (data->size() > capacity_ / 4 || index_.contains(id)) return;
    order_.emplace_front(id, data);
    index_.emplace(id, order_.begin());
    bytes_ += data->size();
    while (bytes_ > capacity_) {
      bytes_ -= order_.back().second->size();
      index_.erase(order_.back().first);
      order_.pop_back();
    }
  }

  void erase(const ChunkId& id) {
    MutexLock lock(mu_);
    auto it = index_.find(id);
    if (it == index_.end()) return;
    bytes_ -= it->second->second->size();
    order_.erase(it->second);
    index_.erase(it);
  }

  void clear() {
    MutexLock lock(mu_);
    order_.clear();
    index_.clear();
    bytes_ = 0;
  }

 private:
  using Entry = std::pair<ChunkId, std::shared_ptr<const std::string>>;
  const std::uint64_t capacity_;
  Mutex mu_;
  std::uint64_t bytes_ GUARDED_BY(mu_) = 0;
  std::list<Entry> order_ GUARDED_BY(mu_);
  std::unordered_map<ChunkId, std::list<Entry>::iterator, ChunkIdHash> index_ GUARDED_BY(mu_);
};

}  // namespace anyfs
