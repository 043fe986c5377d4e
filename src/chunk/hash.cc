#include "chunk/hash.h"

#include <openssl/evp.h>
#include <xxhash.h>

namespace anyfs {

ChunkId sha256(std::string_view data) {
  ChunkId id{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), id.data(), &len, EVP_sha256(), nullptr);
  return id;
}

std::string to_hex(const ChunkId& id) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(id.size() * 2);
  for (auto byte : id) {
    out += k_digits[byte >> 4];
    out += k_digits[byte & 15];
  }
  return out;
}

std::optional<ChunkId> chunk_id_from_hex(std::string_view hex) {
  ChunkId id{};
  if (hex.size() != id.size() * 2) return std::nullopt;
  for (std::size_t i = 0; i < id.size(); ++i) {
    unsigned v = 0;
    for (int k = 0; k < 2; ++k) {
      const char c = hex[2 * i + k];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<unsigned>(c - 'a' + 10);
      else return std::nullopt;
    }
    id[i] = static_cast<std::uint8_t>(v);
  }
  return id;
}

std::uint64_t xxh3(std::string_view data) { return XXH3_64bits(data.data(), data.size()); }

}  // namespace anyfs
