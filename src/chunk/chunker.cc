#include "chunk/chunker.h"

#include <algorithm>
#include <array>
#include <bit>

namespace anyfs {
namespace {

// The gear table: 256 fixed pseudo-random words (splitmix64 from a fixed seed).
// Part of the on-disk contract: changing it changes every cut, so dedup against
// existing pools would be lost. Version 1.
constexpr std::array<std::uint64_t, 256> make_gear() {
  std::array<std::uint64_t, 256> table{};
  std::uint64_t state = 0x616e7966735f7631ull;  // "anyfs_v1"
  for (auto& word : table) {
    state += 0x9e3779b97f4a7c15ull;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    word = z ^ (z >> 31);
  }
  return table;
}

constexpr std::array<std::uint64_t, 256> k_gear = make_gear();

// The top `bits` bits of a 64-bit word (they depend on the last 64 bytes seen).
constexpr std::uint64_t top_bits(int bits) { return bits <= 0 ? 0 : ~0ull << (64 - bits); }

}  // namespace

Result<void> ChunkerOptions::validate() const {
  if (!std::has_single_bit(avg_size) || avg_size < 256 || avg_size > (64u << 20))
    return fail(Errc::InvalidArgument, "", "chunk avg size must be a power of two from 256 B to 64 MiB");
  if (min_size < 64 || min_size > avg_size || avg_size > max_size)
    return fail(Errc::InvalidArgument, "", "chunk sizes must satisfy 64 <= min <= avg <= max");
  return {};
}

Chunker::Chunker(const ChunkerOptions& options) : options_(options) {
  const int bits = std::countr_zero(options.avg_size);
  mask_hard_ = top_bits(bits + 2);
  mask_easy_ = top_bits(bits - 2);
}

std::size_t Chunker::cut(std::string_view data) const {
  const std::size_t limit = std::min(data.size(), options_.max_size);
  if (options_.fixed) return std::min(limit, options_.avg_size);
  if (limit <= options_.min_size) return limit;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  const std::size_t normal = std::min(limit, options_.avg_size);
  std::uint64_t hash = 0;
  std::size_t i = options_.min_size;
  for (; i < normal; ++i) {
    hash = (hash << 1) + k_gear[bytes[i]];
    if ((hash & mask_hard_) == 0) return i + 1;
  }
  for (; i < limit; ++i) {
    hash = (hash << 1) + k_gear[bytes[i]];
    if ((hash & mask_easy_) == 0) return i + 1;
  }
  return limit;
}

}  // namespace anyfs
