#include "pool/chunk_cache.h"

#include <algorithm>

namespace anyfs {

std::shared_ptr<const std::string> ChunkCache::get(const ChunkId& id) {
  MutexLock lock(mu_);
  auto it = index_.find(id);
  if (it == index_.end() || it->second.list == RecentGhost || it->second.list == FrequentGhost) {
    misses_++;
    return nullptr;
  }
  hits_++;
  move(it->second, Frequent);
  return it->second.at->data;
}

void ChunkCache::put(const ChunkId& id, std::shared_ptr<const std::string> data) {
  MutexLock lock(mu_);
  const std::uint64_t bytes = data->size() + k_entry_overhead;
  if (bytes > capacity_ / 8) return;
  auto it = index_.find(id);
  List to = Recent;
  bool ghost_hit_frequent = false;
  if (it != index_.end()) {
    Slot& slot = it->second;
    if (slot.list == Recent || slot.list == Frequent) return;  // another reader put it first
    // A ghost hit: the list that evicted it was too small. Move the target
    // towards it, by more when the other side's ghosts outweigh it.
    const std::uint64_t mine = std::max<std::uint64_t>(bytes_[slot.list], 1);
    const std::uint64_t other = bytes_[slot.list == RecentGhost ? FrequentGhost : RecentGhost];
    const std::uint64_t step = std::max(bytes, bytes * other / mine);
    if (slot.list == RecentGhost) {
      recent_target_ = std::min(capacity_, recent_target_ + step);
    } else {
      recent_target_ = recent_target_ > step ? recent_target_ - step : 0;
      ghost_hit_frequent = true;
    }
    bytes_[slot.list] -= slot.at->bytes;
    lists_[slot.list].erase(slot.at);
    index_.erase(it);
    to = Frequent;  // seen before: it is frequent now
  }
  make_room(bytes, ghost_hit_frequent);
  lists_[to].push_front(Entry{id, bytes, std::move(data)});
  bytes_[to] += bytes;
  index_.emplace(id, Slot{to, lists_[to].begin()});
  bound_ghosts();
}

void ChunkCache::erase(const ChunkId& id) {
  MutexLock lock(mu_);
  auto it = index_.find(id);
  if (it == index_.end()) return;
  bytes_[it->second.list] -= it->second.at->bytes;
  lists_[it->second.list].erase(it->second.at);
  index_.erase(it);
}

void ChunkCache::clear() {
  MutexLock lock(mu_);
  for (int l = 0; l < 4; ++l) {
    lists_[l].clear();
    bytes_[l] = 0;
  }
  index_.clear();
  recent_target_ = 0;
}

void ChunkCache::set_capacity(std::uint64_t capacity_bytes) {
  MutexLock lock(mu_);
  capacity_ = capacity_bytes;
  recent_target_ = std::min(recent_target_, capacity_);
  make_room(0, false);
  bound_ghosts();
}

ChunkCache::Stats ChunkCache::stats() const {
  MutexLock lock(mu_);
  return Stats{.capacity = capacity_,
               .bytes = held(),
               .entries = lists_[Recent].size() + lists_[Frequent].size(),
               .recent_bytes = bytes_[Recent],
               .frequent_bytes = bytes_[Frequent],
               .recent_target = recent_target_,
               .ghost_entries = lists_[RecentGhost].size() + lists_[FrequentGhost].size(),
               .hits = hits_,
               .misses = misses_};
}

void ChunkCache::move(Slot& slot, List to) {
  bytes_[slot.list] -= slot.at->bytes;
  bytes_[to] += slot.at->bytes;
  lists_[to].splice(lists_[to].begin(), lists_[slot.list], slot.at);
  slot.list = to;
}

void ChunkCache::drop_lru(List list) {
  Entry& last = lists_[list].back();
  bytes_[list] -= last.bytes;
  index_.erase(last.id);
  lists_[list].pop_back();
}

void ChunkCache::make_room(std::uint64_t incoming, bool ghost_hit_frequent) {
  while (held() + incoming > capacity_ && held() > 0) {
    // ARC's REPLACE: evict from the recent list while it is over its target
    // (or at it, when the frequent side just asked for room), else from the
    // frequent list; the evicted id is remembered as a ghost.
    const bool from_recent =
        !lists_[Recent].empty() && (lists_[Frequent].empty() || bytes_[Recent] > recent_target_ ||
                                    (ghost_hit_frequent && bytes_[Recent] >= recent_target_));
    const List from = from_recent ? Recent : Frequent;
    const List ghost = from_recent ? RecentGhost : FrequentGhost;
    auto at = std::prev(lists_[from].end());
    at->data.reset();
    move(index_.find(at->id)->second, ghost);
  }
}

void ChunkCache::bound_ghosts() {
  // As ARC's directory: the recent side (cached and ghosts) holds at most the
  // capacity, and all four lists at most twice it.
  while (!lists_[RecentGhost].empty() && bytes_[Recent] + bytes_[RecentGhost] > capacity_) drop_lru(RecentGhost);
  while (!lists_[FrequentGhost].empty() &&
         held() + bytes_[RecentGhost] + bytes_[FrequentGhost] > 2 * capacity_)
    drop_lru(FrequentGhost);
}

}  // namespace anyfs
