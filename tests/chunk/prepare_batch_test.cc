// PrepareBatch (chunk/prepare_batch.h): pieces hashed and compressed by a
// thread pool's workers and the caller together give what prepare_chunk gives
// each piece alone, in the pieces' order, however the work is shared.
#include "chunk/prepare_batch.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace anyfs {
namespace {

std::vector<std::string> sample_pieces(int count) {
  std::mt19937_64 rng(5);
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    std::string s(1000 + rng() % 70000, '\0');
    // Half compressible text, half noise: both codec outcomes.
    for (auto& c : s) c = static_cast<char>(i % 2 == 0 ? 'a' + rng() % 4 : rng());
    out.push_back(std::move(s));
  }
  return out;
}

void expect_prepared_as_alone(const std::vector<std::string>& data, const std::vector<PreparedChunk>& got,
                              const CompressionSpec& spec) {
  ASSERT_EQ(got.size(), data.size());
  for (std::size_t i = 0; i < data.size(); ++i) {
    const PreparedChunk alone = prepare_chunk(spec, data[i]);
    EXPECT_EQ(got[i].id, alone.id) << "piece " << i;
    EXPECT_EQ(got[i].chunk.codec, alone.chunk.codec) << "piece " << i;
    EXPECT_EQ(got[i].chunk.raw_size, data[i].size()) << "piece " << i;
    EXPECT_EQ(got[i].chunk.stored, alone.chunk.stored) << "piece " << i;
    EXPECT_EQ(got[i].chunk.checksum, alone.chunk.checksum) << "piece " << i;
  }
}

TEST(PrepareBatchTest, WorkersAndTheCallerTogetherPrepareEveryPieceInOrder) {
  const auto data = sample_pieces(64);
  const CompressionSpec spec{Codec::Zstd, 3};
  ThreadPool workers(3);
  PrepareBatch batch(spec, std::vector<std::string_view>(data.begin(), data.end()));
  batch.start(workers);
  expect_prepared_as_alone(data, batch.finish(), spec);
}

TEST(PrepareBatchTest, WithoutWorkersTheCallerPreparesThemAll) {
  const auto data = sample_pieces(9);
  const CompressionSpec spec{Codec::Zstd, 1};
  PrepareBatch batch(spec, std::vector<std::string_view>(data.begin(), data.end()));
  expect_prepared_as_alone(data, batch.finish(), spec);
}

// Two batches in flight on one pool (the flush prepares the next while it
// stores the one before); a batch destroyed unfinished waits for its workers.
TEST(PrepareBatchTest, BatchesOverlapAndOneDroppedUnfinishedWaitsForItsWorkers) {
  const auto data = sample_pieces(40);
  const CompressionSpec spec{Codec::Zstd, 3};
  ThreadPool workers(2);
  std::vector<std::string_view> first(data.begin(), data.begin() + 20), second(data.begin() + 20, data.end());
  PrepareBatch a(spec, first), b(spec, second);
  a.start(workers);
  b.start(workers);
  auto& got_a = a.finish();
  ASSERT_EQ(got_a.size(), 20u);
  EXPECT_EQ(got_a[7].id, prepare_chunk(spec, data[7]).id);
  {
    PrepareBatch dropped(spec, second);
    dropped.start(workers);
  }  // its destructor waited: nothing reads `second` after this
  auto& got_b = b.finish();
  EXPECT_EQ(got_b[19].id, prepare_chunk(spec, data[39]).id);
}

}  // namespace
}  // namespace anyfs
