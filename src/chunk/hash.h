// The two checksums of a chunk (DESIGN.md §4): SHA-256 of the plaintext is its
// id (OpenSSL, which uses the CPU's SHA extensions); XXH3-64 of the stored bytes
// is checked on every read.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <optional>
#include <string_view>

namespace anyfs {

using ChunkId = std::array<std::uint8_t, 32>;

ChunkId sha256(std::string_view data);
std::string to_hex(const ChunkId& id);
// The id whose to_hex is `hex` (64 lower-case hex digits); nullopt otherwise.
std::optional<ChunkId> chunk_id_from_hex(std::string_view hex);

std::uint64_t xxh3(std::string_view data);

// Hashes a ChunkId for unordered containers: its first 8 bytes (SHA-256 output is
// uniform already).
struct ChunkIdHash {
  std::size_t operator()(const ChunkId& id) const {
    std::size_t h;
    std::memcpy(&h, id.data(), sizeof h);
    return h;
  }
};

}  // namespace anyfs
