// Where to cut a stream of file data into chunks.
//
// Content-defined chunking (FastCDC style): a gear rolling hash over the bytes;
// a cut falls where the hash's top bits are all zero, so an insertion moves only
// the cuts near it and the rest of the file still dedups. Normalised chunking
// makes cuts harder to reach before the average size and easier after it, which
// narrows the spread of sizes. Fixed chunking cuts every `avg` bytes, for files
// written in place (databases, images).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "anyfs/error.h"

namespace anyfs {

struct ChunkerOptions {
  std::size_t min_size = 16 * 1024;
  std::size_t avg_size = 64 * 1024;  // a power of two
  std::size_t max_size = 256 * 1024;
  bool fixed = false;  // cut every avg_size bytes instead

  // min <= avg <= max, avg a power of two between 256 B and 64 MiB, min >= 64.
  // Errors: InvalidArgument.
  Result<void> validate() const;
};

class Chunker {
 public:
  // REQUIRES: options.validate() succeeded.
  explicit Chunker(const ChunkerOptions& options);

  // The length of the chunk that starts at data[0]. At most max_size; if no cut
  // falls inside `data` the whole of it (or max_size) is returned, and a caller
  // that has more data to come should wait for it unless the result is max_size.
  std::size_t cut(std::string_view data) const;

 private:
  ChunkerOptions options_;
  std::uint64_t mask_hard_;  // before avg_size: more bits must be zero
  std::uint64_t mask_easy_;  // after avg_size: fewer bits must be zero
};

}  // namespace anyfs
