// FlushFeed (pool/flush_feed.h): the runs of a flush cut into the same pieces
// as the chunker gives run by run, batched in order, every piece prepared,
// with a short last piece of an open file's run kept — whether a worker cuts
// ahead or the caller cuts.
#include "pool/flush_feed.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/random_bytes.h"

namespace anyfs {
namespace {

using testing::random_bytes;

struct Cut {
  std::uint64_t offset;
  std::size_t size;
};

// What the chunker alone gives over one run.
std::vector<Cut> cuts_of(const Chunker& chunker, std::uint64_t start, std::string_view bytes) {
  std::vector<Cut> out;
  for (std::size_t at = 0; at < bytes.size();) {
    const std::size_t n = chunker.cut(bytes.substr(at));
    out.push_back({start + at, n});
    at += n;
  }
  return out;
}

class FlushFeedTest : public ::testing::TestWithParam<bool> {};

TEST_P(FlushFeedTest, CutsEveryRunAsTheChunkerDoesInBatchesInOrder) {
  const bool ahead = GetParam();
  ChunkerOptions options;
  const Chunker chunker(options);
  const std::string a = random_bytes(3 << 20, 1), b = random_bytes(700'000, 2), c = random_bytes(5000, 3);
  std::vector<FlushFeed::Run> runs = {{0, a, false}, {10 << 20, b, true}, {20 << 20, c, true}};
  ThreadPool workers(1);
  FlushFeed feed(runs, chunker, static_cast<std::uint32_t>(options.max_size), CompressionSpec{Codec::Zstd, 1},
                 512 << 10, 2, workers, ahead);
  std::vector<std::vector<Cut>> got(runs.size());
  std::size_t batches = 0;
  while (FlushFeed::Batch* batch = feed.next()) {
    ++batches;
    auto& prepared = batch->prepared.finish();
    std::size_t at = 0;
    std::uint64_t bytes = 0;
    for (const auto& slice : batch->slices)
      for (const std::uint64_t offset : slice.offsets) {
        const std::string_view piece = batch->prepared.piece(at);
        EXPECT_EQ(prepared[at].id, sha256(piece));
        EXPECT_EQ(prepared[at].chunk.raw_size, piece.size());
        got[slice.run].push_back({offset, piece.size()});
        bytes += piece.size();
        ++at;
      }
    EXPECT_EQ(at, prepared.size());
    EXPECT_LT(bytes, (512u << 10) + options.max_size);  // a batch ends at the first piece past its size
  }
  EXPECT_GE(batches, 6u);  // 3.7 MiB in batches of 512 KiB and a piece
  // Run 0 whole; run 1 (an open file's end) without its short last piece;
  // run 2 is one short piece, kept whole.
  auto want0 = cuts_of(chunker, 0, a), want1 = cuts_of(chunker, 10 << 20, b);
  ASSERT_LT(want1.back().size, options.max_size);
  const Cut kept1 = want1.back();
  want1.pop_back();
  ASSERT_EQ(got[0].size(), want0.size());
  for (std::size_t i = 0; i < want0.size(); ++i) {
    EXPECT_EQ(got[0][i].offset, want0[i].offset);
    EXPECT_EQ(got[0][i].size, want0[i].size);
  }
  ASSERT_EQ(got[1].size(), want1.size());
  for (std::size_t i = 0; i < want1.size(); ++i) EXPECT_EQ(got[1][i].offset, want1[i].offset);
  EXPECT_TRUE(got[2].empty());
  EXPECT_FALSE(feed.kept_at(0));
  EXPECT_EQ(feed.kept_at(1), kept1.offset);
  EXPECT_EQ(feed.kept_at(2), 20u << 20);
}

// A flush that stops early (a store failed) drops the feed with batches
// still to cut: the worker stops and the destructor waits for it.
TEST_P(FlushFeedTest, DroppedAfterOneBatchStopsTheWorker) {
  ChunkerOptions options;
  const std::string a = random_bytes(8 << 20, 4);
  ThreadPool workers(1);
  {
    FlushFeed feed({{0, a, false}}, Chunker(options), static_cast<std::uint32_t>(options.max_size),
                   CompressionSpec{Codec::None, 0}, 256 << 10, 1, workers, GetParam());
    ASSERT_NE(feed.next(), nullptr);
  }
  // The pool is free again: a job submitted now runs.
  EXPECT_EQ(workers.submit([] { return 7; }).get(), 7);
}

INSTANTIATE_TEST_SUITE_P(Cutting, FlushFeedTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "AheadOnAWorker" : "ByTheCaller"; });

}  // namespace
}  // namespace anyfs
