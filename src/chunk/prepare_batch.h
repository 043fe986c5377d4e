// A batch of chunks hashed and compressed in parallel: on a thread pool's
// workers and, once it asks for the results, on the calling thread too.
//
// The flush pipeline (pool/file_data.h) prepares one batch while it stores the
// one before, so the workers keep going while the writer talks to SQLite.
#pragma once

#include <atomic>
#include <cstddef>
#include <future>
#include <string_view>
#include <vector>

#include "chunk/chunk_store.h"
#include "util/mutex.h"
#include "util/thread_pool.h"

namespace anyfs {

class PrepareBatch {
 public:
  // The bytes `pieces` name must stay unchanged until finish() returns (or
  // the batch is destroyed, which waits for its workers).
  PrepareBatch(CompressionSpec spec, std::vector<std::string_view> pieces)
      : spec_(spec), pieces_(std::move(pieces)), prepared_(pieces_.size()) {}
  ~PrepareBatch() {
    for (auto& f : workers_) f.wait();
  }
  PrepareBatch(const PrepareBatch&) = delete;
  PrepareBatch& operator=(const PrepareBatch&) = delete;

  // Hands the batch to every worker of `workers`; each takes the next piece
  // not yet taken until none is left.
  void start(ThreadPool& workers);
  // Takes pieces on this thread until none is left to take (pieces other
  // threads took may still be in progress).
  void help() { work(); }
  // help(), then waits until every piece is prepared, by whichever thread took
  // it. Runs them all here if no other thread took any.
  std::vector<PreparedChunk>& finish();

  std::size_t size() const { return pieces_.size(); }
  std::string_view piece(std::size_t i) const { return pieces_[i]; }

 private:
  void work();

  const CompressionSpec spec_;
  const std::vector<std::string_view> pieces_;
  std::vector<PreparedChunk> prepared_;  // [i] written by whichever thread took piece i
  std::atomic<std::size_t> next_{0};
  std::atomic<std::size_t> done_{0};  // pieces prepared; the last one signals `all_done_`
  Mutex mu_;
  CondVar all_done_;
  std::vector<std::future<void>> workers_;
};

}  // namespace anyfs
