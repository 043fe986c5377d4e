// A chunk stored as is (no codec) with its checksum, for chunk-store tests.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "chunk/chunk_store.h"
#include "chunk/hash.h"

namespace anyfs::testing {

inline StoredChunk raw_chunk(std::string data) {
  StoredChunk c{Codec::None, static_cast<std::uint32_t>(data.size()), std::move(data), 0};
  c.checksum = xxh3(c.stored);
  return c;
}

}  // namespace anyfs::testing
