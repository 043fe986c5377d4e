// What reads learn about a pool's volumes, shared by the writer's chunk store
// and its readers' (each reading thread has a store of its own over its own
// connection): errors counted per volume, and the bad copies a read found
// with the good bytes it found elsewhere. A reader cannot write; the writer
// takes both at its next commit — rewriting each bad copy from the good one
// and adding the counts to the volume rows (meta/volume_chunk_store.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "chunk/chunk_store.h"
#include "util/mutex.h"

namespace anyfs {

// Errors met on one volume (and copies repaired there).
struct VolumeCounts {
  std::uint64_t read_errors = 0;      // a copy could not be read (I/O, missing row)
  std::uint64_t checksum_errors = 0;  // a copy read but failed a checksum
  std::uint64_t write_errors = 0;     // a chunk could not be written there
  std::uint64_t repaired = 0;         // bad copies rewritten from a good one
  VolumeCounts& operator+=(const VolumeCounts& o) {
    read_errors += o.read_errors;
    checksum_errors += o.checksum_errors;
    write_errors += o.write_errors;
    repaired += o.repaired;
    return *this;
  }
  bool any() const { return read_errors || checksum_errors || write_errors || repaired; }
};

class VolumeHealth {
 public:
  // A bad copy of `id` on `volume`, and the good chunk to rewrite it from.
  struct Repair {
    ChunkId id;
    std::int64_t volume;
    StoredChunk good;
  };
  // Repairs held for the writer at most, by their bytes: past it a read
  // still reads around the bad copy and counts it, and scrub repairs it.
  static constexpr std::size_t k_repair_bytes = 64u << 20;

  void count(std::int64_t volume, const VolumeCounts& delta) {
    MutexLock lock(mu_);
    counts_[volume] += delta;
  }
  void want_repair(const ChunkId& id, std::int64_t volume, const StoredChunk& good) {
    MutexLock lock(mu_);
    if (repair_bytes_ + good.stored.size() > k_repair_bytes) return;
    for (const Repair& r : repairs_)
      if (r.id == id && r.volume == volume) return;
    repair_bytes_ += good.stored.size();
    repairs_.push_back({id, volume, good});
  }
  // Whether the writer has anything to take.
  bool pending() {
    MutexLock lock(mu_);
    return !counts_.empty() || !repairs_.empty();
  }
  std::vector<Repair> take_repairs() {
    MutexLock lock(mu_);
    repair_bytes_ = 0;
    return std::exchange(repairs_, {});
  }
  std::map<std::int64_t, VolumeCounts> take_counts() {
    MutexLock lock(mu_);
    return std::exchange(counts_, {});
  }
  // Counts not yet taken (so that a report in this process is current).
  VolumeCounts untaken(std::int64_t volume) {
    MutexLock lock(mu_);
    auto it = counts_.find(volume);
    return it == counts_.end() ? VolumeCounts{} : it->second;
  }

 private:
  Mutex mu_;
  std::map<std::int64_t, VolumeCounts> counts_ GUARDED_BY(mu_);
  std::vector<Repair> repairs_ GUARDED_BY(mu_);
  std::size_t repair_bytes_ GUARDED_BY(mu_) = 0;
};

}  // namespace anyfs
