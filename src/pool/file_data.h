// The contents of a dataset's files: the write buffer (bytes written but not
// yet chunked, per node — delayed allocation, so the chunker sees whole runs),
// the flush pipeline that cuts buffered runs into chunks and stores them with
// hashing and compression on the pool's workers, the copy-on-write punch of
// extents, and the read path that merges extents, chunks and buffered bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "anyfs/error.h"
#include "chunk/chunker.h"
#include "pool/node.h"
#include "pool/node_cache.h"
#include "pool/pool_core.h"
#include "pool/properties.h"
#include "util/thread_annotations.h"

namespace anyfs {

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
  // Adds `data` at `offset` to the node's buffer, merging with the ranges it touches.
  void buffer(Node& node, std::string_view data, std::uint64_t offset) REQUIRES(pool_lock);
  // Drops buffered bytes at and past `size`, and the extents there.
  Result<void> cut_at(Node& node, std::uint64_t size, Tid tid) REQUIRES(pool_lock);
  // Drops everything buffered (the node is destroyed).
  void discard(Node& node) REQUIRES(pool_lock);
  // Writes the buffered bytes of `node` as chunks and extents. Unless `all`,
  // the last piece of a run that ends at the end of a file still open stays
  // buffered: more may follow, and the chunker should see it whole.
  Result<void> flush(Node& node, bool all) REQUIRES(pool_lock);
  // Removes [from, to) from the node's extents, keeping the parts of extents
  // that stick out (they still reference their chunk: copy-on-write split).
  Result<void> punch(Node& node, std::uint64_t from, std::uint64_t to, Tid tid) REQUIRES(pool_lock);
  // Bytes the file holds in extents and in the buffer (for st_blocks).
  Result<std::uint64_t> allocated(Node& node) REQUIRES(pool_lock);

 private:
  Result<std::size_t> read_now(Node& node, std::span<char> buf, std::uint64_t offset) REQUIRES(pool_lock);
  // A chunk decoded, through the pool's chunk cache (kept there if `keep`).
  Result<std::shared_ptr<const std::string>> chunk(const ChunkId& id, bool keep) REQUIRES(pool_lock);

  PoolCore& core_;
  NodeCache& nodes_;
  const DatasetId id_;
  const DatasetSettings& settings_;
  Chunker chunker_ GUARDED_BY(pool_lock);
};

}  // namespace anyfs
