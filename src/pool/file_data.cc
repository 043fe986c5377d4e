#include "pool/file_data.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <vector>

#include "chunk/chunk_store.h"
#include "chunk/prepare_batch.h"
#include "pool/flush_feed.h"
#include "util/share_work.h"

namespace anyfs {

Result<std::size_t> FileData::read(Node& node, std::span<char> buf, std::uint64_t offset) {
  if (!core_.read_only) return read_now(node, buf, offset);
  // Another process writes the pool: the extents and the chunks they name
  // are read in one snapshot (PoolCore::begin_snapshot).
  if (ANYFS_TRY(core_.begin_snapshot())) {
    node.stale = true;
    node.extents.reset();
  }
  auto read = read_now(node, buf, offset);
  core_.end_snapshot();
  return read;
}

Result<std::size_t> FileData::read_now(Node& node, std::span<char> buf, std::uint64_t offset) {
  ANYFS_CHECK(nodes_.refresh(node));
  const std::uint64_t size = node.rec.size;
  if (offset >= size || buf.empty()) return std::size_t{0};
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - offset));
  const std::uint64_t end = offset + n;
  ChunkStore* chunks = core_.chunks.get();
  ANYFS_CHECK(fill(ANYFS_TRY(nodes_.extents(node, offset, end)), [chunks] { return Result<ChunkStore*>(chunks); },
                   core_.chunk_cache, fill_options(node.rec.ino, size), buf.first(n), offset));
  // Buffered bytes are newer than any extent.
  auto it = node.data.upper_bound(offset);
  if (it != node.data.begin()) --it;
  for (; it != node.data.end() && it->first < end; ++it) {
    std::uint64_t from = std::max(offset, it->first);
    std::uint64_t to = std::min(end, it->first + it->second.size());
    if (from < to) std::memcpy(buf.data() + (from - offset), it->second.data() + (from - it->first), to - from);
  }
  return n;
}

Result<void> FileData::fill(const std::vector<ExtentRecord>& extents, const std::function<Result<ChunkStore*>()>& source,
                            ChunkCache& cache, const FillOptions& options, std::span<char> buf, std::uint64_t offset) {
  ChunkStore* store = nullptr;  // asked for at the first chunk the cache lacks
  const std::uint64_t end = offset + buf.size();
  std::uint64_t filled = offset;  // bytes before this are written; holes get zeros
  for (const auto& e : extents) {
    if (e.end() <= offset || e.offset >= end) continue;
    const bool whole = e.chunk_offset == 0 && e.offset >= offset && e.end() <= end;
    const std::uint64_t from = std::max(offset, e.offset);
    const std::uint64_t to = std::min(end, e.end());
    if (from > filled) std::memset(buf.data() + (filled - offset), 0, from - filled);
    filled = to;
    std::shared_ptr<const std::string> data = cache.get(e.chunk);
    if (!data && !store) store = ANYFS_TRY(source());
    if (whole && !data && !options.keep_whole) {
      // Decoded straight into the caller's buffer: no allocation, no copy.
      std::span<char> out(buf.data() + (from - offset), to - from);
      if (ANYFS_TRY(load_chunk_into(*store, e.chunk, out, options.verify))) continue;
    }
    if (!data) {
      data = std::make_shared<const std::string>(ANYFS_TRY(load_chunk(*store, e.chunk, options.verify)));
      cache.put(e.chunk, data);
    }
    const std::uint64_t in_chunk = e.chunk_offset + (from - e.offset);
    if (in_chunk + (to - from) > data->size())
      return fail(Errc::Corrupt, "", fmt::format("extent of inode {} runs past chunk {}", options.ino, to_hex(e.chunk)));
    std::memcpy(buf.data() + (from - offset), data->data() + in_chunk, to - from);
  }
  if (end > filled) std::memset(buf.data() + (filled - offset), 0, end - filled);
  return {};
}

// A read-only opener follows another process's commits on its own connection
// (read()); a node with bytes or rows not yet committed is read where they are.
bool FileData::all_committed(const Node& node) const {
  return !core_.read_only && !node.stale && node.data.empty() && node.data_tid <= core_.counters.committed_tid();
}

// Both plans carry a small file's extents over the range (a large file's the
// read connection reads); plan_cached only those the node has cached, since
// loading them is a change to the node.
std::optional<ReadPlan> FileData::plan_cached(const Node& node, std::uint64_t offset, std::size_t length) const {
  if (!all_committed(node) || offset >= node.rec.size || length == 0) return std::nullopt;
  std::optional<std::vector<ExtentRecord>> extents;
  if (node.rec.size <= k_extent_cache_max_size) {
    extents = NodeCache::cached_extents(node, offset, read_end(node, offset, length));
    if (!extents) return std::nullopt;
  }
  return plan_of(node, std::move(extents));
}

Result<std::optional<ReadPlan>> FileData::plan_read(Node& node, std::uint64_t offset, std::size_t length) {
  if (!all_committed(node) || offset >= node.rec.size || length == 0) return std::optional<ReadPlan>();
  std::optional<std::vector<ExtentRecord>> extents;
  if (node.rec.size <= k_extent_cache_max_size)
    extents = ANYFS_TRY(nodes_.extents(node, offset, read_end(node, offset, length)));
  return std::optional<ReadPlan>(plan_of(node, std::move(extents)));
}

std::uint64_t FileData::read_end(const Node& node, std::uint64_t offset, std::size_t length) {
  return offset + std::min<std::uint64_t>(length, node.rec.size - offset);
}

ReadPlan FileData::plan_of(const Node& node, std::optional<std::vector<ExtentRecord>> extents) const {
  return ReadPlan{node.rec.size, nodes_.layer_of(node), std::move(extents), fill_options(node.rec.ino, node.rec.size)};
}

Result<std::size_t> FileData::read_planned(const ReadPlan& plan, ReaderPool& readers, ChunkCache& cache,
                                           ThreadPool& workers, std::span<char> buf, std::uint64_t offset) {
  if (plan.extents) {
    // The extents of the planned state; the chunks they name are immutable,
    // so any found belong to that state (one freed since fails the read).
    // A read connection is taken only for a chunk the cache lacks.
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), plan.size - offset));
    std::optional<ReaderPool::Lease> reader;
    auto source = [&]() -> Result<ChunkStore*> {
      reader.emplace(ANYFS_TRY(readers.take()));
      return &(*reader)->chunks();
    };
    ANYFS_CHECK(fill(*plan.extents, source, cache, plan.fill, buf.first(n), offset));
    return n;
  }
  // Size and extents both from the snapshot, which may be newer than the plan.
  auto reader = ANYFS_TRY(readers.take());
  auto rec = ANYFS_TRY(reader->meta().inode(plan.layer.ds, plan.fill.ino, plan.layer.at));
  if (!rec) return fail(Errc::NotFound, "", "the inode left the committed state");
  if (offset >= rec->size) return std::size_t{0};
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), rec->size - offset));
  const auto extents = ANYFS_TRY(reader->meta().extents(plan.layer.ds, plan.fill.ino, offset, offset + n, plan.layer.at));
  ANYFS_CHECK(fill_shared(extents, *reader, readers, cache, workers, plan.fill, buf.first(n), offset));
  return n;
}

Result<void> FileData::fill_shared(const std::vector<ExtentRecord>& extents, PoolReader& reader, ReaderPool& readers,
                                   ChunkCache& cache, ThreadPool& workers, const FillOptions& options,
                                   std::span<char> buf, std::uint64_t offset) {
  const std::uint64_t end = offset + buf.size();
  // Cuts at the first extent start at or past each equal share's end.
  std::vector<std::uint64_t> cuts{offset};
  const std::size_t shares = buf.size() >= k_shared_read_min ? workers.size() + 1 : 1;
  for (std::size_t k = 1; k < shares; ++k) {
    const std::uint64_t want = offset + buf.size() / shares * k;
    for (const auto& e : extents) {
      if (e.offset >= want && e.offset > cuts.back() && e.offset < end) {
        cuts.push_back(e.offset);
        break;
      }
    }
  }
  cuts.push_back(end);
  const std::size_t parts = cuts.size() - 1;
  std::vector<Result<void>> done(parts);
  auto part = [&](std::size_t i) {
    std::optional<ReaderPool::Lease> own;
    auto source = [&]() -> Result<ChunkStore*> {
      if (i == 0) return &reader.chunks();
      own.emplace(ANYFS_TRY(readers.take()));
      return &(*own)->chunks();
    };
    done[i] = fill(extents, source, cache, options, buf.subspan(cuts[i] - offset, cuts[i + 1] - cuts[i]), cuts[i]);
  };
  if (parts == 1) {
    part(0);
  } else {
    share_work(workers, parts - 1, parts, part);
  }
  for (auto& r : done) ANYFS_CHECK(r);
  return {};
}

FillOptions FileData::fill_options(Ino ino, std::uint64_t size) const {
  return FillOptions{.ino = ino, .verify = settings_.verify_reads, .keep_whole = size <= k_extent_cache_max_size};
}

void FileData::buffer(Node& node, std::string_view data, std::uint64_t offset) {
  std::uint64_t end = offset + data.size();
  auto& ranges = node.data;
  const std::uint64_t before = node.data_bytes;
  auto it = ranges.upper_bound(offset);
  if (it != ranges.begin()) {
    auto prev = std::prev(it);
    std::uint64_t prev_end = prev->first + prev->second.size();
    if (prev_end >= offset) {
      // Common cases in place: an append to the run, or an overwrite inside it.
      bool touches_next = it != ranges.end() && it->first <= end;
      if (!touches_next && end > prev_end) {
        // A run past a megabyte is a stream: it will grow to the dirty limit
        // before a flush, so it takes that room at once instead of doubling
        // (each doubling copies the run; untouched room costs no memory).
        const std::size_t need = static_cast<std::size_t>(end - prev->first);
        if (need > prev->second.capacity() && need > k_stream_run)
          prev->second.reserve(std::max<std::size_t>({need, 2 * prev->second.capacity(), k_stream_room}));
        prev->second.resize(offset - prev->first);
        prev->second.append(data);
        node.data_bytes += end - prev_end;
        core_.counters.buffered(node.data_bytes - before);
        return;
      }
      if (end <= prev_end) {
        std::memcpy(prev->second.data() + (offset - prev->first), data.data(), data.size());
        return;
      }
      it = prev;
    }
  }
  std::uint64_t start = offset;
  std::string merged(data);
  while (it != ranges.end() && it->first <= end) {
    std::uint64_t r_start = it->first;
    std::uint64_t r_end = r_start + it->second.size();
    if (r_start < start) {
      merged.insert(0, it->second, 0, start - r_start);
      start = r_start;
    }
    if (r_end > end) {
      merged.append(it->second, end - r_start, std::string::npos);
      end = r_end;
    }
    node.data_bytes -= it->second.size();
    it = ranges.erase(it);
  }
  node.data_bytes += merged.size();
  ranges.emplace(start, std::move(merged));
  core_.counters.buffered(node.data_bytes - before);
}

Result<void> FileData::cut_at(Node& node, std::uint64_t size, Tid tid) {
  auto it = node.data.lower_bound(size);
  if (it != node.data.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second.size() > size) {
      std::uint64_t keep = size - prev->first;
      node.data_bytes -= prev->second.size() - keep;
      prev->second.resize(keep);
    }
  }
  for (auto drop = it; drop != node.data.end(); ++drop) node.data_bytes -= drop->second.size();
  node.data.erase(it, node.data.end());
  return punch(node, size, k_max_file_size, tid);
}

void FileData::discard(Node& node) {
  core_.counters.unbuffered(node.data_bytes);
  node.data.clear();
  node.data_bytes = 0;
}

Result<void> FileData::flush(Node& node, bool all) { return flush(std::vector<Node*>{&node}, all); }

// The pipeline: the runs are cut and their pieces hashed and compressed with
// the pool lock released (the gate closed, pool/pool_lock.h: calls that change
// the pool wait, reads go on and read the runs where they are), in batches,
// by a worker running ahead (pool/flush_feed.h); this thread stores each
// batch under the lock as it comes. The runs stay in the buffer until every
// batch is stored, so a read between batches sees them over whatever extents
// are stored so far.
Result<void> FileData::flush(const std::vector<Node*>& nodes, bool all) {
  struct Run {
    Node* node;
    std::uint64_t start;
  };
  std::vector<Run> runs;
  std::vector<FlushFeed::Run> feed_runs;
  std::uint64_t total = 0;
  for (Node* node : nodes)
    for (const auto& [start, bytes] : node->data) {
      runs.push_back(Run{node, start});
      feed_runs.push_back(FlushFeed::Run{start, bytes, !all && node->opens > 0 && start + bytes.size() >= node->rec.size});
      total += bytes.size();
    }
  if (runs.empty()) return {};
  const Tid tid = core_.txg_tid();
  // A small flush is over before a reader would gain from the lock.
  const bool unlocked = total >= k_unlocked_flush_min;

  // The feed (and the workers on it) ends before the gate opens or the runs
  // change: declared in that order, destroyed in the reverse.
  struct Gate {
    PoolCore& core;
    bool closed;
    ~Gate() REQUIRES(pool_lock) {
      if (closed) core.open_gate();
    }
  } gate{core_, unlocked};
  if (unlocked) core_.mu.close_gate();
  std::optional<FlushFeed> feed;
  feed.emplace(std::move(feed_runs), chunker_, settings_.chunking.max_size, settings_.compression,
               k_flush_batch_bytes, k_flush_batches_ahead, core_.workers, unlocked);
  for (;;) {
    FlushFeed::Batch* batch = nullptr;
    if (unlocked)
      core_.mu.without([&] { batch = feed->next(); });
    else
      batch = feed->next();
    if (batch == nullptr) break;
    // A reader may have met a storage failure meanwhile (and rolled back).
    ANYFS_CHECK(core_.check_usable());
    std::vector<PreparedChunk>& prepared = batch->prepared.finish();
    std::size_t at = 0;
    for (const FlushFeed::Slice& slice : batch->slices) {
      Node& node = *runs[slice.run].node;
      const std::size_t last = at + slice.offsets.size() - 1;
      ANYFS_CHECK(punch(node, slice.offsets.front(), slice.offsets.back() + batch->prepared.piece(last).size(), tid));
      for (const std::uint64_t offset : slice.offsets) ANYFS_CHECK(store_piece(node, offset, prepared[at++], tid));
    }
    prepared.clear();  // its memory goes now, not when the flush ends
  }
  std::vector<std::optional<std::uint64_t>> kept_at(runs.size());
  for (std::size_t r = 0; r < runs.size(); ++r) kept_at[r] = feed->kept_at(r);
  feed.reset();

  // Every run is stored but for the kept tails: they make the new buffers.
  for (Node* node : nodes) {
    std::map<std::uint64_t, std::string> keep;
    for (std::size_t r = 0; r < runs.size(); ++r) {
      if (runs[r].node != node || !kept_at[r]) continue;
      std::string& bytes = node->data.at(runs[r].start);
      // The tail moves to the front of the run's own buffer: a file written
      // as a stream keeps one allocation, grown once, instead of a new one
      // (and its page faults) per flush.
      const std::size_t from = static_cast<std::size_t>(*kept_at[r] - runs[r].start);
      if (from == 0) {
        keep.emplace(runs[r].start, std::move(bytes));
      } else if (bytes.capacity() <= k_kept_capacity_max) {
        std::memmove(bytes.data(), bytes.data() + from, bytes.size() - from);
        bytes.resize(bytes.size() - from);
        keep.emplace(*kept_at[r], std::move(bytes));
      } else {
        keep.emplace(*kept_at[r], bytes.substr(from));
      }
    }
    std::uint64_t kept = 0;
    for (auto& [start, bytes] : keep) kept += bytes.size();
    core_.counters.unbuffered(node->data_bytes - kept);
    node->data = std::move(keep);
    node->data_bytes = kept;
  }
  return {};
}

Result<void> FileData::store_piece(Node& node, std::uint64_t offset, const PreparedChunk& prepared, Tid tid) {
  ANYFS_TRY(store_prepared(*core_.chunks, prepared, settings_.placement));
  core_.counters.wrote(prepared.chunk.stored.size());
  node.extents.reset();
  node.data_tid = tid;
  ExtentRecord e{node.rec.ino, offset, prepared.chunk.raw_size, prepared.id, 0};
  return core_.meta->put_extent(id_, e, tid);
}

Result<void> FileData::punch(Node& node, std::uint64_t from, std::uint64_t to, Tid tid) {
  node.extents.reset();
  node.data_tid = core_.stamp(tid);
  for (const auto& e : ANYFS_TRY(core_.meta->extents(id_, node.rec.ino, from, to))) {
    ANYFS_CHECK(core_.meta->drop_extent(id_, node.rec.ino, e.offset, tid));
    if (e.offset < from) {
      ExtentRecord left = e;
      left.length = from - e.offset;
      ANYFS_CHECK(core_.meta->put_extent(id_, left, tid));
    }
    if (e.end() > to) {
      ExtentRecord right = e;
      right.offset = to;
      right.length = e.end() - to;
      right.chunk_offset = e.chunk_offset + (to - e.offset);
      ANYFS_CHECK(core_.meta->put_extent(id_, right, tid));
    }
  }
  return {};
}

std::optional<std::uint64_t> FileData::allocated_cached(const Node& node) {
  auto extents = NodeCache::cached_extents(node, 0, k_max_file_size);
  if (!extents) return std::nullopt;
  return allocated_in(node, *extents);
}

Result<std::uint64_t> FileData::allocated(Node& node) {
  return allocated_in(node, ANYFS_TRY(nodes_.extents(node, 0, k_max_file_size)));
}

std::uint64_t FileData::allocated_in(const Node& node, const std::vector<ExtentRecord>& extents) {
  std::uint64_t bytes = node.data_bytes;
  for (const auto& e : extents) bytes += e.length;
  return bytes;
}

}  // namespace anyfs
