// The writer thread of one volume file (DESIGN.md §6: a connection and a
// writer thread per volume): chunks put on a pool of volumes are queued here
// by the thread that flushes and stored by this one, so that volumes are
// written in parallel; make_durable asks each for a commit and waits for all
// (rule 1 holds: the records commit only after every volume's commit
// returned). A chunk queued and not stored yet is read from the queue.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <thread>
#include <unordered_map>

#include "anyfs/error.h"
#include "chunk/chunk_store.h"
#include "meta/volume_file.h"
#include "util/mutex.h"

namespace anyfs {

class VolumeWriter {
 public:
  // Bytes queued at most: put() waits beyond it, so a flush cannot run far
  // ahead of the disks.
  static constexpr std::uint64_t k_queue_bytes = 32ull << 20;

  explicit VolumeWriter(VolumeFile& file);
  // Stops the thread; what is queued and not stored is dropped (its records
  // never commit: the pool is closing or poisoned).
  ~VolumeWriter();
  VolumeWriter(const VolumeWriter&) = delete;
  VolumeWriter& operator=(const VolumeWriter&) = delete;

  // Queues `chunk` to be stored under `id` in the volume's open transaction.
  void put(const ChunkId& id, std::shared_ptr<const StoredChunk> chunk);
  // The chunk queued under `id` and not stored yet; null if none.
  std::shared_ptr<const StoredChunk> queued(const ChunkId& id);
  // Asks for the volume's transaction to commit after what is queued;
  // finish_commit waits for that commit and returns the first failure since
  // the last one (a put or the commit: the transaction is rolled back then).
  void start_commit();
  Result<void> finish_commit();

 private:
  struct Item {
    ChunkId id;
    std::shared_ptr<const StoredChunk> chunk;  // null: a commit
  };
  void run();

  VolumeFile& file_;
  Mutex mu_;
  CondVar changed_;
  std::deque<Item> queue_ GUARDED_BY(mu_);
  std::unordered_map<ChunkId, std::shared_ptr<const StoredChunk>, ChunkIdHash> pending_ GUARDED_BY(mu_);
  std::uint64_t queued_bytes_ GUARDED_BY(mu_) = 0;
  std::uint64_t commits_asked_ GUARDED_BY(mu_) = 0;
  std::uint64_t commits_done_ GUARDED_BY(mu_) = 0;
  std::optional<Error> failure_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace anyfs
