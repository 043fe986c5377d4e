// Read connections beside the writer's (meta/pool_file.h PoolReader), so that
// file data is read outside the pool lock and reads run in parallel. A lease
// holds one connection with a snapshot of what is committed as it begins, and
// gives it back, snapshot ended, when it goes. Needs no pool lock (and may be
// taken under it: its own lock comes after the pool lock).
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "anyfs/error.h"
#include "meta/pool_file.h"
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

  // The file new connections are opened from, until close().
  void attach(PoolFile* file) {
    MutexLock lock(mu_);
    file_ = file;
  }

  // A connection (reused, or opened from the file) with its snapshot begun.
  // Errors: BadHandle once closed, and those of opening a connection.
  Result<Lease> take() {
    std::unique_ptr<PoolReader> reader;
    {
      MutexLock lock(mu_);
      if (file_ == nullptr) return fail(Errc::BadHandle, "", "the pool is closed");
      if (!idle_.empty()) {
        reader = std::move(idle_.back());
        idle_.pop_back();
      } else {
        reader = ANYFS_TRY(file_->open_reader());  // under the lock: close() cannot take the file meanwhile
      }
    }
    ANYFS_CHECK(reader->begin());
    return Lease(this, std::move(reader));
  }

  // Closes the idle connections and lets go of the file; those leased close
  // when they come back.
  void close() {
    std::vector<std::unique_ptr<PoolReader>> drop;
    MutexLock lock(mu_);
    file_ = nullptr;
    drop.swap(idle_);
  }

 private:
  void give_back(std::unique_ptr<PoolReader> reader) {
    reader->end();
    MutexLock lock(mu_);
    if (file_ != nullptr && idle_.size() < k_keep) idle_.push_back(std::move(reader));
  }

  Mutex mu_;
  PoolFile* file_ GUARDED_BY(mu_) = nullptr;
  std::vector<std::unique_ptr<PoolReader>> idle_ GUARDED_BY(mu_);
};

}  // namespace anyfs
