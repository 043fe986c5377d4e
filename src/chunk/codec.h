// How a chunk's bytes are stored: raw, lz4 or zstd at a level. Compression with
// early abort: a chunk is kept raw unless compressing saves at least 1/8 of it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "anyfs/error.h"

namespace anyfs {

// The stored codec of one chunk (part of the chunk encoding; values are on disk).
enum class Codec : std::uint8_t { None = 0, Lz4 = 1, Zstd = 2 };

std::string_view codec_name(Codec codec);

// A compression setting: "off", "lz4", "zstd" (level 3) or "zstd-N" (N in 1..19).
struct CompressionSpec {
  Codec codec = Codec::None;
  int level = 0;

  // Errors: InvalidArgument naming the accepted forms.
  static Result<CompressionSpec> parse(std::string_view text);
  std::string to_string() const;
};

struct Encoded {
  Codec codec;         // what was used (None when compression did not pay)
  std::string stored;  // the bytes to store
};

// Compresses `raw` per `spec`, keeping it raw unless that saves >= 1/8.
Encoded encode(const CompressionSpec& spec, std::string_view raw);

// Restores the raw bytes. Errors: Corrupt (undecodable, or not raw_size bytes).
Result<std::string> decode(Codec codec, std::string_view stored, std::size_t raw_size);

// Restores the raw bytes into `out`, which must be exactly the raw size.
// Errors: Corrupt.
Result<void> decode_into(Codec codec, std::string_view stored, std::span<char> out);

}  // namespace anyfs
