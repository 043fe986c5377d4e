// A damaged chunk row can claim any raw size (a 32-bit field). Decoding must
// see that the stored bytes cannot produce it before allocating it: found by
// chunk_fuzz, where a flipped size made one read allocate 2.4 GB.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "chunk/codec.h"
#include "support/result_matchers.h"

namespace {

// The largest single allocation while `tracking` is set (this test binary
// replaces the global operator new; it forwards to malloc).
std::atomic<bool> tracking{false};
std::atomic<std::size_t> largest{0};

}  // namespace

void* operator new(std::size_t n) {
  if (tracking.load(std::memory_order_relaxed)) {
    std::size_t seen = largest.load();
    while (n > seen && !largest.compare_exchange_weak(seen, n)) {
    }
  }
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
// The nothrow form too: a library that allocates with it (librados does)
// frees through the sized delete below, so both must be malloc's.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return operator new(n);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
// (GCC sees the inlined pair as new/free; it is malloc/free.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace anyfs {
namespace {

TEST(CodecBounds, AClaimedRawSizeTheStoredBytesCannotHoldIsCorruptWithoutAllocatingIt) {
  const std::string raw(100000, 'x');
  for (const char* spec : {"off", "lz4", "zstd"}) {
    Encoded e = encode(*CompressionSpec::parse(spec), raw);
    for (std::size_t claimed : {std::size_t{3'000'000'000u}, raw.size() * 300, raw.size() + 1}) {
      largest = 0;
      tracking = true;
      auto r = decode(e.codec, e.stored, claimed);
      tracking = false;
      EXPECT_ERR(r, Corrupt) << spec << " claiming " << claimed;
      EXPECT_LT(largest.load(), std::size_t{1} << 20) << spec << " claiming " << claimed << " allocated that much";
    }
  }
}

// The bound is not too tight: the most compressible chunks still decode.
TEST(CodecBounds, TheMostCompressibleChunksStillDecode) {
  for (std::size_t n : {std::size_t{1}, std::size_t{4096}, std::size_t{4} << 20}) {
    const std::string zeros(n, '\0');
    for (const char* spec : {"lz4", "zstd", "zstd-19"}) {
      Encoded e = encode(*CompressionSpec::parse(spec), zeros);
      auto back = decode(e.codec, e.stored, zeros.size());
      ASSERT_TRUE(back) << spec << " " << n << ": " << back.error().to_string();
      EXPECT_EQ(*back, zeros);
    }
  }
}

}  // namespace
}  // namespace anyfs
