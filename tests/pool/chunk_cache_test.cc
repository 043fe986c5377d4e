// The decoded-chunk cache (pool/chunk_cache.h): ARC's lists and ghosts, its
// byte bound, and the reason it is an ARC — a scan of chunks read once does
// not push out a hot set, where a plain LRU of the same size loses it.
#include "pool/chunk_cache.h"

#include <gtest/gtest.h>

#include <list>
#include <thread>
#include <unordered_map>
#include <vector>

namespace anyfs::testing {
namespace {

constexpr std::uint64_t k_chunk = 1000;
constexpr std::uint64_t k_entry = k_chunk + ChunkCache::k_entry_overhead;

ChunkId id_of(std::uint32_t n) {
  ChunkId id{};
  // The cache hashes the first 8 bytes: spread n over them.
  const std::uint64_t mixed = n * 0x9E3779B97F4A7C15ull;
  std::memcpy(id.data(), &mixed, sizeof mixed);
  std::memcpy(id.data() + 8, &n, sizeof n);
  return id;
}

std::shared_ptr<const std::string> data_of(std::uint32_t n) {
  return std::make_shared<const std::string>(k_chunk, static_cast<char>('a' + n % 26));
}

// The reference: a plain LRU of the same byte budget.
class Lru {
 public:
  explicit Lru(std::uint64_t capacity) : capacity_(capacity) {}
  bool get(std::uint32_t n) {
    auto it = index_.find(n);
    if (it == index_.end()) return false;
    order_.splice(order_.begin(), order_, it->second);
    return true;
  }
  void put(std::uint32_t n) {
    order_.push_front(n);
    index_[n] = order_.begin();
    while (order_.size() * k_entry > capacity_) {
      index_.erase(order_.back());
      order_.pop_back();
    }
  }

 private:
  std::uint64_t capacity_;
  std::list<std::uint32_t> order_;
  std::unordered_map<std::uint32_t, std::list<std::uint32_t>::iterator> index_;
};

// Reads chunk n through the cache as the read path does: a miss loads it and
// puts it. Returns whether it hit.
bool read(ChunkCache& cache, std::uint32_t n) {
  if (auto data = cache.get(id_of(n))) {
    EXPECT_EQ(*data, *data_of(n));
    return true;
  }
  cache.put(id_of(n), data_of(n));
  return false;
}

TEST(ChunkCacheTest, AScanDoesNotPushOutTheHotSetAsItDoesFromAnLru) {
  // Room for 100 chunks; a hot set of 50 read twice (a file opened again and
  // again), then rounds of a scan of 300 chunks never read again (a backup,
  // a grep over everything) and the hot set once more.
  const std::uint64_t capacity = 100 * k_entry;
  ChunkCache arc(capacity);
  Lru lru(capacity);
  for (int warm = 0; warm < 2; ++warm)
    for (std::uint32_t h = 0; h < 50; ++h) {
      read(arc, h);
      if (!lru.get(h)) lru.put(h);
    }
  const std::uint64_t warm_hits = arc.stats().hits;
  std::uint32_t next_scan = 1'000'000;
  int arc_hot_hits = 0, lru_hot_hits = 0, hot_reads = 0;
  for (int round = 0; round < 20; ++round) {
    for (int s = 0; s < 300; ++s, ++next_scan) {
      EXPECT_FALSE(read(arc, next_scan));
      if (!lru.get(next_scan)) lru.put(next_scan);
    }
    for (std::uint32_t h = 0; h < 50; ++h) {
      hot_reads++;
      arc_hot_hits += read(arc, h);
      if (lru.get(h)) lru_hot_hits++;
      else lru.put(h);
    }
    ASSERT_LE(arc.stats().bytes, capacity);
  }
  // The LRU loses the whole hot set to every scan; the ARC keeps it on the
  // frequent list, and the scan cycles through the recent list.
  EXPECT_EQ(lru_hot_hits, 0);
  EXPECT_EQ(arc_hot_hits, hot_reads);
  const auto s = arc.stats();
  EXPECT_GE(s.frequent_bytes, 50 * k_entry);
  EXPECT_EQ(s.hits - warm_hits, static_cast<std::uint64_t>(arc_hot_hits));
}

TEST(ChunkCacheTest, WithoutAScanItHoldsAsMuchAsAnLru) {
  // A working set that fits: everything hits after the first pass.
  ChunkCache arc(100 * k_entry);
  int hits = 0;
  for (int round = 0; round < 5; ++round)
    for (std::uint32_t n = 0; n < 100; ++n) hits += read(arc, n);
  EXPECT_EQ(hits, 4 * 100);
  EXPECT_EQ(arc.stats().entries, 100u);
}

TEST(ChunkCacheTest, ASecondReadMovesAChunkToTheFrequentList) {
  ChunkCache cache(100 * k_entry);
  read(cache, 1);
  EXPECT_EQ(cache.stats().recent_bytes, k_entry);
  EXPECT_EQ(cache.stats().frequent_bytes, 0u);
  EXPECT_TRUE(read(cache, 1));
  EXPECT_EQ(cache.stats().recent_bytes, 0u);
  EXPECT_EQ(cache.stats().frequent_bytes, k_entry);
}

TEST(ChunkCacheTest, AGhostHitOnTheRecentSideGrowsItsShare) {
  ChunkCache cache(10 * k_entry);
  // Fill with 10 read twice (frequent), then 6 read once: the recent list
  // cycles, its evicted ids become ghosts.
  for (std::uint32_t n = 0; n < 10; ++n) read(cache, n), read(cache, n);
  for (std::uint32_t n = 100; n < 106; ++n) read(cache, n);
  auto before = cache.stats();
  EXPECT_GT(before.ghost_entries, 0u);
  EXPECT_EQ(before.recent_target, 0u);
  // Chunk 100 was evicted from the recent list: reading it again is a ghost
  // hit that raises the recent target and brings it in as frequent.
  EXPECT_FALSE(read(cache, 100));
  auto after = cache.stats();
  EXPECT_GT(after.recent_target, 0u);
  EXPECT_TRUE(read(cache, 100));
  EXPECT_LE(after.bytes, 10 * k_entry);
}

TEST(ChunkCacheTest, AGhostHitOnTheFrequentSideShrinksTheRecentShare) {
  ChunkCache cache(10 * k_entry);
  for (std::uint32_t n = 0; n < 10; ++n) read(cache, n), read(cache, n);  // all frequent
  read(cache, 100);  // no recent list to evict from: chunk 0 becomes a frequent ghost
  read(cache, 101);  // the recent list is over its target (0): chunk 100 becomes a recent ghost
  EXPECT_FALSE(read(cache, 100));
  const std::uint64_t grown = cache.stats().recent_target;
  ASSERT_EQ(grown, k_entry);
  EXPECT_FALSE(read(cache, 0));  // a frequent ghost: the frequent side needed the room
  EXPECT_LT(cache.stats().recent_target, grown);
  EXPECT_TRUE(read(cache, 0));
}

TEST(ChunkCacheTest, ItNeverHoldsMoreThanItsCapacityAndKeepsGhostsBounded) {
  ChunkCache cache(50 * k_entry);
  for (std::uint32_t n = 0; n < 5000; ++n) {
    read(cache, n % 700);
    if (n % 3 == 0) read(cache, n % 40);
    auto s = cache.stats();
    ASSERT_LE(s.bytes, 50 * k_entry);
    ASSERT_LE((s.entries + s.ghost_entries) * k_entry, 100 * k_entry);
  }
}

TEST(ChunkCacheTest, LargeChunksAreNotKept) {
  ChunkCache cache(8 * k_entry);
  cache.put(id_of(1), std::make_shared<const std::string>(2 * k_chunk, 'x'));
  EXPECT_EQ(cache.get(id_of(1)), nullptr);
  cache.put(id_of(2), data_of(2));
  EXPECT_NE(cache.get(id_of(2)), nullptr);
}

TEST(ChunkCacheTest, EraseClearAndAShrinkingCapacity) {
  ChunkCache cache(100 * k_entry);
  for (std::uint32_t n = 0; n < 100; ++n) read(cache, n);
  cache.erase(id_of(5));
  EXPECT_EQ(cache.get(id_of(5)), nullptr);
  EXPECT_EQ(cache.stats().entries, 99u);
  cache.set_capacity(10 * k_entry);
  EXPECT_LE(cache.stats().bytes, 10 * k_entry);
  EXPECT_NE(cache.get(id_of(99)), nullptr);  // the most recent stay
  cache.clear();
  EXPECT_EQ(cache.stats().bytes, 0u);
  EXPECT_EQ(cache.get(id_of(99)), nullptr);
  ChunkCache off(0);
  off.put(id_of(1), data_of(1));
  EXPECT_EQ(off.get(id_of(1)), nullptr);
}

TEST(ChunkCacheTest, ThreadsShareIt) {
  ChunkCache cache(64 * k_entry);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (std::uint32_t n = 0; n < 20000; ++n) {
        read(cache, (n * (t + 1)) % 200);
        if (n % 97 == 0) cache.erase(id_of(n % 200));
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_LE(cache.stats().bytes, 64 * k_entry);
}

}  // namespace
}  // namespace anyfs::testing
