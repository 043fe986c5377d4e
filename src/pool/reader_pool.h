// Read connections beside the writer's (meta/pool_file.h PoolReader), so that
// file data is read outside the pool lock and reads run in parallel. A lease
// holds one connection with a snapshot begun while the pool lock was held —
// no commit runs then, so the snapshot is exactly the committed state the
// caches of clean nodes reflect — and gives it back, snapshot ended, when it
// goes. Lock order: the pool lock, then this pool's own.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "anyfs/error.h"
#include "meta/pool_file.h"
#include "pool/pool_lock.h"
#include "util/mutex.h"

namespace anyfs {

class ReaderPool {
 public:
  // Idle connections kept for reuse; more may be leased at once.
  static constexpr std::size_t k_keep = 8;

  class Lease {
   public:
    Lease(ReaderPool* pool, std::unique_ptr<PoolReader> reader) : pool_(pool), reader_(std::move(reader)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&& other) noexcept {
      if (this != &other) {
        if (reader_) pool_->give_back(std::move(reader_));
        pool_ = other.pool_;
        reader_ = std::move(other.reader_);
      }
      return *this;
    }
    ~Lease() {
      if (reader_) pool_->give_back(std::move(reader_));
    }
    PoolReader& operator*() { return *reader_; }
    PoolReader* operator->() { return reader_.get(); }

   private:
    ReaderPool* pool_;
    std::unique_ptr<PoolReader> reader_;
  };

  // A connection (reused or opened from `file`) with its snapshot begun.
  Result<Lease> take(PoolFile& file) REQUIRES(pool_lock) {
    std::unique_ptr<PoolReader> reader;
    {
      MutexLock lock(mu_);
      if (closed_) return fail(Errc::BadHandle, "", "the pool is closed");
      if (!idle_.empty()) {
        reader = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (!reader) reader = ANYFS_TRY(file.open_reader());
    ANYFS_CHECK(reader->begin());
    return Lease(this, std::move(reader));
  }

  // Closes the idle connections; those leased close when they come back.
  void close() {
    std::vector<std::unique_ptr<PoolReader>> drop;
    MutexLock lock(mu_);
    closed_ = true;
    drop.swap(idle_);
  }

 private:
  void give_back(std::unique_ptr<PoolReader> reader) {
    reader->end();
    MutexLock lock(mu_);
    if (!closed_ && idle_.size() < k_keep) idle_.push_back(std::move(reader));
  }

  Mutex mu_;
  std::vector<std::unique_ptr<PoolReader>> idle_ GUARDED_BY(mu_);
  bool closed_ GUARDED_BY(mu_) = false;
};

}  // namespace anyfs
