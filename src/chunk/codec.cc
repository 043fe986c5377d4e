#include "chunk/codec.h"

#include <cstring>

#include <lz4.h>
#include <zstd.h>

#include <charconv>

namespace anyfs {
namespace {

// One zstd context per thread, reused: ZSTD_compress/ZSTD_decompress make and
// free one per call, which costs more than decoding a small chunk.
struct ZstdContexts {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  ~ZstdContexts() {
    ZSTD_freeCCtx(cctx);
    ZSTD_freeDCtx(dctx);
  }
};
ZstdContexts& zstd_contexts() {
  thread_local ZstdContexts contexts;
  return contexts;
}
ZSTD_CCtx* zstd_cctx() { return zstd_contexts().cctx; }
ZSTD_DCtx* zstd_dctx() { return zstd_contexts().dctx; }

}  // namespace


std::string_view codec_name(Codec codec) {
  switch (codec) {
    case Codec::None: return "off";
    case Codec::Lz4: return "lz4";
    case Codec::Zstd: return "zstd";
  }
  return "unknown";
}

Result<CompressionSpec> CompressionSpec::parse(std::string_view text) {
  if (text == "off" || text == "none") return CompressionSpec{Codec::None, 0};
  if (text == "lz4") return CompressionSpec{Codec::Lz4, 0};
  if (text == "zstd") return CompressionSpec{Codec::Zstd, 3};
  if (text.starts_with("zstd-")) {
    int level = 0;
    auto digits = text.substr(5);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), level);
    if (ec == std::errc() && end == digits.data() + digits.size() && level >= 1 && level <= 19)
      return CompressionSpec{Codec::Zstd, level};
  }
  return fail(Errc::InvalidArgument, std::string(text), "compression must be off, lz4, zstd or zstd-N (N = 1..19)");
}

std::string CompressionSpec::to_string() const {
  if (codec == Codec::Zstd) return "zstd-" + std::to_string(level);
  return std::string(codec_name(codec));
}

namespace {

std::string compress(const CompressionSpec& spec, std::string_view raw) {
  std::string out;
  if (spec.codec == Codec::Lz4) {
    out.resize(static_cast<std::size_t>(LZ4_compressBound(static_cast<int>(raw.size()))));
    int n = LZ4_compress_default(raw.data(), out.data(), static_cast<int>(raw.size()), static_cast<int>(out.size()));
    out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  } else if (spec.codec == Codec::Zstd) {
    out.resize(ZSTD_compressBound(raw.size()));
    std::size_t n = ZSTD_compressCCtx(zstd_cctx(), out.data(), out.size(), raw.data(), raw.size(), spec.level);
    out.resize(ZSTD_isError(n) ? 0 : n);
  }
  return out;
}

}  // namespace

Encoded encode(const CompressionSpec& spec, std::string_view raw) {
  if (spec.codec != Codec::None && !raw.empty()) {
    std::string packed = compress(spec, raw);
    if (!packed.empty() && packed.size() <= raw.size() - raw.size() / 8) return {spec.codec, std::move(packed)};
  }
  return {Codec::None, std::string(raw)};
}

Result<void> decode_into(Codec codec, std::string_view stored, std::span<char> out) {
  switch (codec) {
    case Codec::None:
      if (stored.size() != out.size()) return fail(Errc::Corrupt, "", "raw chunk has the wrong size");
      std::memcpy(out.data(), stored.data(), out.size());
      return {};
    case Codec::Lz4: {
      int n = LZ4_decompress_safe(stored.data(), out.data(), static_cast<int>(stored.size()),
                                  static_cast<int>(out.size()));
      if (n < 0 || static_cast<std::size_t>(n) != out.size()) return fail(Errc::Corrupt, "", "lz4 data does not decode");
      return {};
    }
    case Codec::Zstd: {
      std::size_t n = ZSTD_decompressDCtx(zstd_dctx(), out.data(), out.size(), stored.data(), stored.size());
      if (ZSTD_isError(n) || n != out.size()) return fail(Errc::Corrupt, "", "zstd data does not decode");
      return {};
    }
  }
  return fail(Errc::Corrupt, "", "unknown codec " + std::to_string(static_cast<int>(codec)));
}

namespace {

// Whether `stored` can decode to `raw_size` bytes at all, checked before that
// much is allocated: a damaged row may claim any size up to 4 GiB. Raw bytes
// are their own size; an LZ4 block expands at most 255-fold (a match length
// byte of 255 stands for 255 bytes); a zstd frame records its content size
// (ZSTD_compressCCtx always writes it).
Result<void> check_raw_size(Codec codec, std::string_view stored, std::size_t raw_size) {
  switch (codec) {
    case Codec::None:
      if (stored.size() != raw_size) return fail(Errc::Corrupt, "", "raw chunk has the wrong size");
      return {};
    case Codec::Lz4:
      if (raw_size / 255 > stored.size()) return fail(Errc::Corrupt, "", "lz4 data too short for the chunk's size");
      return {};
    case Codec::Zstd: {
      unsigned long long content = ZSTD_getFrameContentSize(stored.data(), stored.size());
      if (content != raw_size) return fail(Errc::Corrupt, "", "zstd frame does not hold the chunk's size");
      return {};
    }
  }
  return fail(Errc::Corrupt, "", "unknown codec " + std::to_string(static_cast<int>(codec)));
}

}  // namespace

Result<std::string> decode(Codec codec, std::string_view stored, std::size_t raw_size) {
  ANYFS_CHECK(check_raw_size(codec, stored, raw_size));
  std::string out;
  // Returns raw_size, not its argument: libstdc++ 12 passes the grown capacity.
  out.resize_and_overwrite(raw_size, [raw_size](char*, std::size_t) { return raw_size; });
  ANYFS_CHECK(decode_into(codec, stored, out));
  return out;
}

}  // namespace anyfs
