// The contents of a dataset's files: the write buffer (bytes written but not
// yet chunked, per node — delayed allocation, so the chunker sees whole runs),
// the flush pipeline that cuts buffered runs into chunks and stores them with
// hashing and compression on the pool's workers, the copy-on-write punch of
// extents, and the read path that merges extents, chunks and buffered bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "anyfs/error.h"
#include "chunk/chunker.h"
#include "pool/node.h"
#include "pool/node_cache.h"
#include "pool/pool_core.h"
#include "pool/properties.h"
#include "pool/reader_pool.h"
#include "util/thread_annotations.h"

namespace anyfs {

// How FileData::fill() treats chunks.
struct FillOptions {
  Ino ino = 0;              // named in errors
  bool verify = false;      // check each chunk loaded against its id
  // Keep chunks read whole in the cache too (a small file: read whole
  // again and again). A large file's chunks read whole are a stream and go
  // straight into the caller's buffer; pieces of chunks are always kept.
  bool keep_whole = false;
};

// A read of a clean file, planned under the pool lock and run outside it on a
// read connection (FileData::plan_read).
struct ReadPlan {
  std::uint64_t size = 0;
  DatasetLayer layer;
  // The extents over the range, when the node had them cached (small files);
  // otherwise the read connection reads them.
  std::optional<std::vector<ExtentRecord>> extents;
  FillOptions fill;
};

class FileData {
 public:
  // `settings` is the dataset's, read at each call (properties change).
  FileData(PoolCore& core, NodeCache& nodes, DatasetId id, const DatasetSettings& settings)
      : core_(core), nodes_(nodes), id_(id), settings_(settings), chunker_(settings.chunking) {}

  // The dataset's chunking changed.
  void set_chunking(const ChunkerOptions& options) REQUIRES(pool_lock) { chunker_ = Chunker(options); }

  // Reads [offset, offset + buf.size()) of `node` (holes and bytes past
  // buffered data read as zeros); returns the bytes read (short at the end).
  // Errors: Corrupt (an extent past its chunk, a chunk failing its checksum).
  Result<std::size_t> read(Node& node, std::span<char> buf, std::uint64_t offset) REQUIRES(pool_lock);
  // A read of [offset, offset + length) to run outside the pool lock, when
  // everything the node holds is committed (no buffered bytes, no change to
  // its extents since the last commit) — else nullopt: read() under the lock.
  Result<std::optional<ReadPlan>> plan_read(Node& node, std::uint64_t offset, std::size_t length) REQUIRES(pool_lock);
  // The same plan under the lock held shared, from what the node has cached
  // (nullopt: plan_read it under the lock). Changes nothing.
  std::optional<ReadPlan> plan_cached(const Node& node, std::uint64_t offset, std::size_t length) const
      REQUIRES_SHARED(pool_lock);
  // Runs a planned read on a read connection of `readers`, whose snapshot is
  // what is committed when it begins; needs no lock. A commit between the plan
  // and the snapshot may have freed a chunk the plan names: any error means
  // "read it under the lock" (read() reports the real ones).
  // A large file's read of k_shared_read_min bytes or more is split at
  // extent starts among this thread and idle `workers`, each part on its own
  // read connection (util/share_work.h).
  static Result<std::size_t> read_planned(const ReadPlan& plan, ReaderPool& readers, ChunkCache& cache,
                                          ThreadPool& workers, std::span<char> buf, std::uint64_t offset);
  // Adds `data` at `offset` to the node's buffer, merging with the ranges it touches.
  void buffer(Node& node, std::string_view data, std::uint64_t offset) REQUIRES(pool_lock);
  // Drops buffered bytes at and past `size`, and the extents there.
  Result<void> cut_at(Node& node, std::uint64_t size, Tid tid) REQUIRES(pool_lock);
  // Drops everything buffered (the node is destroyed).
  void discard(Node& node) REQUIRES(pool_lock);
  // Writes the buffered bytes of `nodes` as chunks and extents. Unless `all`,
  // the last piece of a run that ends at the end of a file still open stays
  // buffered: more may follow, and the chunker should see it whole. A flush
  // of k_unlocked_flush_min bytes or more releases the pool lock while it
  // cuts, hashes and compresses (the gate closed, pool/pool_lock.h): a read
  // goes on meanwhile, a change waits.
  Result<void> flush(const std::vector<Node*>& nodes, bool all) REQUIRES(pool_lock);
  Result<void> flush(Node& node, bool all) REQUIRES(pool_lock);
  // Removes [from, to) from the node's extents, keeping the parts of extents
  // that stick out (they still reference their chunk: copy-on-write split).
  Result<void> punch(Node& node, std::uint64_t from, std::uint64_t to, Tid tid) REQUIRES(pool_lock);
  // Bytes the file holds in extents and in the buffer (for st_blocks).
  Result<std::uint64_t> allocated(Node& node) REQUIRES(pool_lock);
  // The same from the node's cached extents (nullopt: not cached).
  static std::optional<std::uint64_t> allocated_cached(const Node& node);

 private:
  Result<std::size_t> read_now(Node& node, std::span<char> buf, std::uint64_t offset) REQUIRES(pool_lock);
  FillOptions fill_options(Ino ino, std::uint64_t size) const;
  // The end of a read of `length` at `offset` (< the file's size), clipped to it.
  static std::uint64_t read_end(const Node& node, std::uint64_t offset, std::size_t length);
  ReadPlan plan_of(const Node& node, std::optional<std::vector<ExtentRecord>> extents) const REQUIRES_SHARED(pool_lock);
  static std::uint64_t allocated_in(const Node& node, const std::vector<ExtentRecord>& extents);
  // Whether everything `node` holds is committed (a read connection sees it all).
  bool all_committed(const Node& node) const REQUIRES_SHARED(pool_lock);
  // Stores one prepared piece of `node` at `offset` and its extent.
  Result<void> store_piece(Node& node, std::uint64_t offset, const PreparedChunk& prepared, Tid tid) REQUIRES(pool_lock);
  // Flushes this large or larger run without the pool lock.
  static constexpr std::uint64_t k_unlocked_flush_min = 256 << 10;
  // Bytes of pieces prepared per batch: a worker cuts and prepares the next
  // batches while this thread stores one (pool/flush_feed.h).
  static constexpr std::uint64_t k_flush_batch_bytes = 8 << 20;
  // Batches prepared ahead of the one being stored, at most.
  static constexpr std::size_t k_flush_batches_ahead = 2;
  // A run grown by appends past this is a stream (FileData::buffer).
  static constexpr std::size_t k_stream_run = 1 << 20;
  // The room a stream's run takes: the dirty limit, the write that crosses
  // it and the tail a flush leaves.
  static constexpr std::size_t k_stream_room = PoolCore::k_dirty_limit + 8 * k_stream_run;
  // A run's buffer up to this capacity is reused for its tail after a flush.
  static constexpr std::size_t k_kept_capacity_max = 64ull << 20;
  // Fills buf (covering [offset, end)) from `extents` with chunks from
  // `cache`, loading those it lacks from the store `source` gives, asked for
  // at the first such chunk (a read served by the cache opens nothing);
  // holes read as zeros.
  static Result<void> fill(const std::vector<ExtentRecord>& extents, const std::function<Result<ChunkStore*>()>& source,
                           ChunkCache& cache, const FillOptions& options, std::span<char> buf, std::uint64_t offset);

  // fill() of a large read by this thread and idle workers together: parts
  // cut at extent starts, part 0 on `reader` (the plan's snapshot), each
  // other on a connection of its own.
  static Result<void> fill_shared(const std::vector<ExtentRecord>& extents, PoolReader& reader, ReaderPool& readers,
                                  ChunkCache& cache, ThreadPool& workers, const FillOptions& options,
                                  std::span<char> buf, std::uint64_t offset);
  static constexpr std::size_t k_shared_read_min = 256 << 10;

  PoolCore& core_;
  NodeCache& nodes_;
  const DatasetId id_;
  const DatasetSettings& settings_;
  Chunker chunker_ GUARDED_BY(pool_lock);
};

}  // namespace anyfs
