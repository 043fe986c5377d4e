#include "chunk/chunker.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "support/random_bytes.h"
#include "support/result_matchers.h"

namespace anyfs {
namespace {

using testing::random_bytes;

std::vector<std::string> chunks_of(const Chunker& chunker, std::string_view data) {
  std::vector<std::string> out;
  while (!data.empty()) {
    std::size_t n = chunker.cut(data);
    out.emplace_back(data.substr(0, n));
    data.remove_prefix(n);
  }
  return out;
}

TEST(Chunker, OptionsAreValidated) {
  EXPECT_OK((ChunkerOptions{}.validate()));
  EXPECT_ERR((ChunkerOptions{16 << 10, 60000, 256 << 10}.validate()), InvalidArgument);
  EXPECT_ERR((ChunkerOptions{128 << 10, 64 << 10, 256 << 10}.validate()), InvalidArgument);
  EXPECT_ERR((ChunkerOptions{16 << 10, 64 << 10, 32 << 10}.validate()), InvalidArgument);
}

TEST(Chunker, ChunksRespectMinMaxAndAverageNearTheTarget) {
  Chunker chunker({});
  std::string data = random_bytes(32 << 20, 1);
  auto chunks = chunks_of(chunker, data);
  std::size_t total = 0;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    total += chunks[i].size();
    EXPECT_LE(chunks[i].size(), 256u << 10);
    if (i + 1 < chunks.size()) {
      EXPECT_GE(chunks[i].size(), 16u << 10);
    }
  }
  EXPECT_EQ(total, data.size());
  double mean = static_cast<double>(data.size()) / static_cast<double>(chunks.size());
  EXPECT_GT(mean, 40e3);
  EXPECT_LT(mean, 110e3);
}

TEST(Chunker, CutsAreDeterministic) {
  std::string data = random_bytes(4 << 20, 2);
  EXPECT_EQ(chunks_of(Chunker({}), data), chunks_of(Chunker({}), data));
}

// The point of content-defined chunking: an insertion early in a file leaves the
// later chunks as they were, so they dedup.
TEST(Chunker, AnInsertionOnlyMovesNearbyCuts) {
  Chunker chunker({});
  std::string data = random_bytes(8 << 20, 3);
  std::string edited = data;
  edited.insert(100000, "a few inserted bytes");
  auto before = chunks_of(chunker, data), after = chunks_of(chunker, edited);
  std::set<std::string> old_chunks(before.begin(), before.end());
  std::size_t shared = 0;
  for (const auto& c : after) shared += old_chunks.count(c) ? c.size() : 0;
  EXPECT_GT(static_cast<double>(shared), 0.9 * static_cast<double>(data.size()));
}

TEST(Chunker, FixedChunkingCutsEveryAverageSize) {
  Chunker chunker({4096, 4096, 4096, true});
  auto chunks = chunks_of(chunker, random_bytes(10000, 4));
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].size(), 4096u);
  EXPECT_EQ(chunks[2].size(), 10000u - 8192u);
}

TEST(Chunker, ShortOrUniformDataStillEnds) {
  Chunker chunker({});
  EXPECT_EQ(chunker.cut("tiny"), 4u);
  std::string zeros(1 << 20, '\0');
  EXPECT_EQ(chunker.cut(zeros), 256u << 10);  // no content cut: the max
}

}  // namespace
}  // namespace anyfs
