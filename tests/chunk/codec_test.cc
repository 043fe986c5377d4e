#include "chunk/codec.h"

#include <gtest/gtest.h>

#include <random>

#include "support/random_bytes.h"
#include "support/result_matchers.h"

namespace anyfs {
namespace {

std::string text_like(std::size_t n) {
  std::string out;
  while (out.size() < n) out += "the quick brown fox jumps over the lazy dog " + std::to_string(out.size() % 97);
  out.resize(n);
  return out;
}

using testing::random_bytes;

TEST(Codec, SpecsParseAndPrint) {
  EXPECT_EQ(CompressionSpec::parse("off")->codec, Codec::None);
  EXPECT_EQ(CompressionSpec::parse("lz4")->codec, Codec::Lz4);
  EXPECT_EQ(CompressionSpec::parse("zstd")->level, 3);
  EXPECT_EQ(CompressionSpec::parse("zstd-19")->level, 19);
  EXPECT_EQ(CompressionSpec::parse("zstd-7")->to_string(), "zstd-7");
  for (auto bad : {"zstd-0", "zstd-20", "zstd-", "zstd-3x", "gzip", ""})
    EXPECT_ERR(CompressionSpec::parse(bad), InvalidArgument) << bad;
}

TEST(Codec, CompressibleDataRoundTripsInEveryCodec) {
  std::string raw = text_like(64 << 10);
  for (auto spec : {"lz4", "zstd-1", "zstd-19"}) {
    Encoded e = encode(*CompressionSpec::parse(spec), raw);
    EXPECT_NE(e.codec, Codec::None) << spec;
    EXPECT_LT(e.stored.size(), raw.size() / 2) << spec;
    auto back = decode(e.codec, e.stored, raw.size());
    ASSERT_OK(back);
    EXPECT_EQ(*back, raw);
  }
}

TEST(Codec, IncompressibleDataIsKeptRaw) {
  std::string raw = random_bytes(64 << 10);
  Encoded e = encode(*CompressionSpec::parse("zstd"), raw);
  EXPECT_EQ(e.codec, Codec::None);
  EXPECT_EQ(e.stored, raw);
}

TEST(Codec, SavingLessThanAnEighthIsNotWorthIt) {
  // Half random, half compressible: saves about half — kept compressed. Mostly
  // random with a little text: saves under 1/8 — kept raw.
  std::string half = random_bytes(32 << 10) + text_like(32 << 10);
  EXPECT_NE(encode(*CompressionSpec::parse("zstd"), half).codec, Codec::None);
  std::string little = random_bytes(60 << 10) + text_like(4 << 10);
  EXPECT_EQ(encode(*CompressionSpec::parse("zstd"), little).codec, Codec::None);
}

TEST(Codec, DamagedDataIsCorruptNotWrong) {
  std::string raw = text_like(64 << 10);
  for (auto spec : {"lz4", "zstd"}) {
    Encoded e = encode(*CompressionSpec::parse(spec), raw);
    std::string cut = e.stored.substr(0, e.stored.size() / 2);
    EXPECT_ERR(decode(e.codec, cut, raw.size()), Corrupt) << spec;
    EXPECT_ERR(decode(e.codec, e.stored, raw.size() + 1), Corrupt) << spec;
  }
  EXPECT_ERR(decode(Codec::None, "abc", 4), Corrupt);
  EXPECT_ERR(decode(static_cast<Codec>(9), "abc", 3), Corrupt);
}

}  // namespace
}  // namespace anyfs

namespace anyfs {
namespace {

// Every small size round-trips to exactly its length: libstdc++ 12's
// resize_and_overwrite hands the callback a grown capacity, not the size asked
// for, and a 17-byte chunk once came back as 30 bytes.
TEST(Codec, SmallSizesAcrossTheShortStringBoundaryRoundTrip) {
  for (std::size_t n = 0; n <= 100; ++n) {
    std::string raw(n, 'a');
    for (std::size_t i = 0; i < n; i += 7) raw[i] = static_cast<char>('a' + i % 26);
    for (auto spec : {"off", "lz4", "zstd"}) {
      Encoded e = encode(*CompressionSpec::parse(spec), raw);
      auto back = decode(e.codec, e.stored, n);
      ASSERT_TRUE(back.has_value()) << spec << " " << n;
      EXPECT_EQ(*back, raw) << spec << " " << n;
    }
  }
}

}  // namespace
}  // namespace anyfs
