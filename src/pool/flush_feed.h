// The front of the flush pipeline (pool/file_data.h FileData::flush): a
// flush's runs cut into pieces and the pieces hashed and compressed in
// batches, by a worker, ahead of the flushing thread, which takes the batches
// in order and only stores them. At most `depth` batches wait ready (the
// memory of prepared chunks stays bounded); the flushing thread helps prepare
// a batch it has to wait for. On a pool of one worker the worker cuts and
// prepares, the flushing thread talks to SQLite: the two cores each do one.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "chunk/chunker.h"
#include "chunk/prepare_batch.h"
#include "util/mutex.h"
#include "util/thread_pool.h"

namespace anyfs {

class FlushFeed {
 public:
  // A buffered run to flush: its bytes stay unchanged until the feed is gone.
  struct Run {
    std::uint64_t start = 0;
    std::string_view bytes;
    // The run ends a file still open: a last piece shorter than the largest
    // chunk stays buffered (more may follow, and the chunker should see it whole).
    bool may_keep_tail = false;
  };
  // Pieces of one run in one batch, in order.
  struct Slice {
    std::size_t run = 0;
    std::vector<std::uint64_t> offsets;  // of each piece in the file
  };
  struct Batch {
    Batch(const CompressionSpec& spec, std::vector<std::string_view> pieces, std::vector<Slice> slices)
        : prepared(spec, std::move(pieces)), slices(std::move(slices)) {}
    PrepareBatch prepared;  // the pieces of every slice, in order
    std::vector<Slice> slices;
  };

  // With `ahead`, a worker of `workers` cuts and prepares (its other workers
  // help prepare); without, next() cuts on the calling thread and the
  // workers help it prepare.
  FlushFeed(std::vector<Run> runs, const Chunker& chunker, std::uint32_t max_size, const CompressionSpec& spec,
            std::uint64_t batch_bytes, std::size_t depth, ThreadPool& workers, bool ahead);
  // Stops the cutting and waits for the worker.
  ~FlushFeed();
  FlushFeed(const FlushFeed&) = delete;
  FlushFeed& operator=(const FlushFeed&) = delete;

  // The next batch, every piece prepared; nullptr when all are taken. The
  // batch is the caller's until the next call.
  Batch* next();
  // Where the tail kept buffered of run `r` starts (once next() gave nullptr).
  std::optional<std::uint64_t> kept_at(std::size_t r) const { return kept_at_[r]; }

 private:
  // Cuts every run into batches, publishing each and preparing it (on a worker).
  void produce();
  // Cuts the next batch; nullptr at the end.
  std::shared_ptr<Batch> cut_batch();

  const std::vector<Run> runs_;
  const Chunker chunker_;
  const std::uint32_t max_size_;
  const CompressionSpec spec_;
  const std::uint64_t batch_bytes_;
  const std::size_t depth_;
  ThreadPool& workers_;
  // Where cutting stands: run `cut_run_`, at `cut_at_` bytes into it.
  std::size_t cut_run_ = 0;
  std::size_t cut_at_ = 0;
  std::vector<std::optional<std::uint64_t>> kept_at_;

  Mutex mu_;
  CondVar changed_;
  // Shared: the producer may still be leaving a batch's help() when the
  // caller, having it all prepared, drops it.
  std::deque<std::shared_ptr<Batch>> ready_ GUARDED_BY(mu_);  // published, not yet taken
  bool produced_all_ GUARDED_BY(mu_) = false;
  bool stop_ GUARDED_BY(mu_) = false;
  std::shared_ptr<Batch> taken_;  // the caller's current batch
  std::future<void> producer_;    // valid when cutting ahead on a worker
};

}  // namespace anyfs
