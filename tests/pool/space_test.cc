// Space as a user meets it: chunks never stored without a reference, space
// given back by itself while the pool is open, figures in info that count what
// is referenced, a steady overwrite workload reaching a steady size, and a
// full filesystem (a small tmpfs) met with NoSpace, never a wedged pool.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

#include "anyfs/pool.h"
#include "support/must.h"
#include "support/random_bytes.h"
#include "support/raw_sql.h"
#include "support/result_matchers.h"
#include "support/temp_dir.h"

namespace anyfs::testing {
namespace {

class SpaceTest : public ::testing::Test {
 protected:
  std::string path() const { return dir_.str() + "/p.anyfs"; }
  // Chunk rows no reference row names (what gc calls orphans), counted from
  // outside the engine.
  std::int64_t orphans() const {
    return raw_sql_int(path(), "SELECT count(*) FROM chunks WHERE hash NOT IN (SELECT chunk FROM chunk_refs)");
  }
  std::int64_t chunk_rows() const { return raw_sql_int(path(), "SELECT count(*) FROM chunks"); }
  TempDir dir_;
};

// Issue 14 item 4: data flushed inside a transaction group (a reflink flushes
// its source) and then dropped in the same group left chunk rows whose
// reference count never reached the table: orphans, which only gc found.
TEST_F(SpaceTest, ChunksStoredAndReleasedInOneTransactionGroupAreNotOrphans) {
  {
    auto pool = must(Pool::create(path()));
    auto fs = must(pool->dataset());
    ASSERT_OK(fs->write_file("/a", random_bytes(300'000, 3)));
    ASSERT_OK(fs->reflink("/a", "/b"));  // a's chunks are stored now, in the open group
    ASSERT_OK(fs->remove("/a"));
    ASSERT_OK(fs->remove("/b"));
    ASSERT_OK(pool->sync());
    ASSERT_OK(pool->close());
  }
  EXPECT_EQ(orphans(), 0);
  auto pool = must(Pool::open(path()));
  auto report = must(pool->verify());
  EXPECT_TRUE(report.ok());
  GcReport gc = must(pool->gc({.grace_seconds = 0}));
  EXPECT_EQ(gc.orphans_removed, 0u);
}

// Issue 14 item 5: info divided the referenced bytes by every stored chunk,
// those waiting to be freed included, and printed "dedup 0.00x".
TEST_F(SpaceTest, TheDedupRatioCountsOnlyReferencedChunks) {
  auto pool = must(Pool::create(path()));
  auto fs = must(pool->dataset());
  const std::string data = random_bytes(1'000'000, 5);
  ASSERT_OK(fs->write_file("/one", data));
  ASSERT_OK(fs->write_file("/two", data));  // all dedup: 2x
  for (int i = 0; i < 6; ++i) ASSERT_OK(fs->write_file("/gone" + std::to_string(i), random_bytes(400'000, 10 + i)));
  ASSERT_OK(pool->sync());
  for (int i = 0; i < 6; ++i) ASSERT_OK(fs->remove("/gone" + std::to_string(i)));
  ASSERT_OK(pool->sync());
  PoolStats s = must(pool->stats());
  EXPECT_NEAR(s.dedup_ratio(), 2.0, 0.01) << s.chunk_raw_bytes << " raw bytes in " << s.chunks << " chunks";
  EXPECT_GE(s.chunk_raw_bytes, data.size());
  EXPECT_LT(s.chunk_raw_bytes, data.size() + 100'000);
}

}  // namespace
}  // namespace anyfs::testing
