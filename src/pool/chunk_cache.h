// The decoded-chunk cache: chunks as they were before compression, keyed by
// their content id, so a hot small file is read without SQLite and without
// decoding, and a chunk read piece by piece is decoded once.
//
// Replacement is ZFS's ARC (Megiddo and Modha's adaptive replacement cache),
// weighed in bytes: a chunk seen once sits on the *recent* list, one seen
// again moves to the *frequent* list; each list keeps a *ghost* list of the
// ids it evicted (no data). A ghost hit on the recent side says the recent
// list was too small and grows its target share; on the frequent side, the
// other way. A scan of chunks read once passes through the recent list and
// cannot push out what is read often, which a plain LRU lets it do.
//
// Bounded by bytes (data plus a per-entry allowance for the cache's own
// bookkeeping); the ghost lists are bounded by the same budget, counted in
// the bytes their chunks had, so they cost ~100 bytes per evicted chunk
// remembered. Content ids never change meaning, so an entry is never stale;
// erase() is for chunks freed (their id may come back with other damage).
// Thread-safe: reads outside the pool lock (pool/reader_pool.h) share it.
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
  // What each entry costs beyond its bytes (list and index nodes, the shared
  // string's header), counted against the capacity.
  static constexpr std::uint64_t k_entry_overhead = 128;

  struct Stats {
    std::uint64_t capacity = 0;
    std::uint64_t bytes = 0;           // held: data plus the entries' allowance
    std::uint64_t entries = 0;
    std::uint64_t recent_bytes = 0;    // seen once since they came in
    std::uint64_t frequent_bytes = 0;  // seen at least twice
    std::uint64_t recent_target = 0;   // the share the recent list adapts towards
    std::uint64_t ghost_entries = 0;   // evicted ids remembered
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
  };

  explicit ChunkCache(std::uint64_t capacity_bytes) : capacity_(capacity_bytes) {}

  // The decoded chunk, or null. A hit moves it to the frequent list.
  std::shared_ptr<const std::string> get(const ChunkId& id);
  // Keeps `data` as chunk `id`'s decoded bytes (after a miss). Chunks larger
  // than an eighth of the capacity are not kept.
  void put(const ChunkId& id, std::shared_ptr<const std::string> data);
  void erase(const ChunkId& id);
  void clear();
  // A new capacity; evicts down to it.
  void set_capacity(std::uint64_t capacity_bytes);
  Stats stats() const;

 private:
  enum List : std::uint8_t { Recent, Frequent, RecentGhost, FrequentGhost };
  struct Entry {
    ChunkId id;
    std::uint64_t bytes = 0;
    std::shared_ptr<const std::string> data;  // null on the ghost lists
  };
  struct Slot {
    List list;
    std::list<Entry>::iterator at;
  };

  void move(Slot& slot, List to) REQUIRES(mu_);
  void drop_lru(List list) REQUIRES(mu_);
  // Evicts from the recent or frequent list into its ghost list until
  // `incoming` more bytes fit.
  void make_room(std::uint64_t incoming, bool ghost_hit_frequent) REQUIRES(mu_);
  void bound_ghosts() REQUIRES(mu_);
  std::uint64_t held() const REQUIRES(mu_) { return bytes_[Recent] + bytes_[Frequent]; }

  mutable Mutex mu_;
  std::uint64_t capacity_ GUARDED_BY(mu_);
  std::uint64_t recent_target_ GUARDED_BY(mu_) = 0;
  std::list<Entry> lists_[4] GUARDED_BY(mu_);
  std::uint64_t bytes_[4] GUARDED_BY(mu_) = {};
  std::unordered_map<ChunkId, Slot, ChunkIdHash> index_ GUARDED_BY(mu_);
  std::uint64_t hits_ GUARDED_BY(mu_) = 0;
  std::uint64_t misses_ GUARDED_BY(mu_) = 0;
};

}  // namespace anyfs
