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

std::uint64_t xxh3(std::string_view data) { return XXH3_64bits(data.data(), data.size()); }

}  // namespace anyfs
