// Page checksums on pools made before them (docs/FORMAT.md, "Page checksums"):
// such a pool reads as it always did, verify says its pages carry none, and
// compact rewrites it with them — every byte kept, and damage found after.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <random>

#include "anyfs/pool.h"
#include "support/random_tree.h"
#include "support/result_matchers.h"
#include "support/temp_dir.h"

namespace anyfs::testing {
namespace {

// Flips one bit of the file at `offset`.
void flip(const std::string& path, std::uint64_t offset, int bit) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ (1 << bit));
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

std::uint64_t size_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

class PageChecksumTest : public ::testing::Test {
 protected:
  std::string path() const { return dir_.str() + "/old.anyfs"; }
  // A closed pool as made before page checksums, with files and a snapshot.
  void make_old_pool() {
    auto pool = Pool::create(path(), {.page_size = 4096, .page_checksums = false}).value();
    auto fs = pool->dataset().value();
    std::mt19937_64 rng(11);
    ASSERT_OK(fs->mkdir("/d"));
    for (int i = 0; i < 12; ++i) {
      std::string data(2'000 + rng() % 70'000, '\0');
      for (auto& c : data) c = static_cast<char>(rng() % 4 == 0 ? rng() : 'k' + i % 5);
      const std::string p = (i % 2 ? "/d/f" : "/f") + std::to_string(i);
      ASSERT_OK(fs->write_file(p, data));
    }
    ASSERT_TRUE(pool->snapshot("", "before").has_value());
    ASSERT_OK(fs->remove("/f0"));
    ASSERT_OK(pool->close());
    ASSERT_OK(read_back(tree_));
  }
  Result<void> read_back(Tree& out) {
    auto pool = ANYFS_TRY(Pool::open(path(), {.read_only = true}));
    ANYFS_CHECK(read_tree(*ANYFS_TRY(pool->dataset()), "/", out));
    Tree snapshot;
    ANYFS_CHECK(read_tree(*ANYFS_TRY(pool->dataset_at("", AsOf::at_snapshot("before"))), "/", snapshot));
    for (auto& [p, data] : snapshot) out["@before" + p] = data;
    return {};
  }
  TempDir dir_;
  Tree tree_;
};

TEST_F(PageChecksumTest, APoolMadeWithoutThemReadsAsBeforeAndVerifySaysSo) {
  make_old_pool();
  auto pool = Pool::open(path()).value();
  auto report = pool->verify().value();
  EXPECT_TRUE(report.ok()) << report.problems.front();
  EXPECT_FALSE(report.page_checksums);
  EXPECT_EQ(report.pages, 0u);
}

TEST_F(PageChecksumTest, CompactAddsThemToAnOldPoolAndKeepsEveryByte) {
  make_old_pool();
  {
    auto pool = Pool::open(path()).value();
    auto compacted = pool->compact();
    ASSERT_TRUE(compacted.has_value()) << compacted.error().to_string();
    EXPECT_TRUE(compacted->page_checksums_added);
    EXPECT_GT(compacted->bytes_before, 0u);
    EXPECT_GT(compacted->bytes_after, 0u);
    // The pool goes on working in the same process, checked.
    auto report = pool->verify().value();
    EXPECT_TRUE(report.ok()) << report.problems.front();
    EXPECT_TRUE(report.page_checksums);
    ASSERT_OK(pool->dataset().value()->write_file("/later", "written after the rewrite"));
    ASSERT_OK(pool->close());
  }
  Tree now;
  ASSERT_OK(read_back(now));
  ASSERT_EQ(now["/later"], "written after the rewrite");
  now.erase("/later");
  EXPECT_TRUE(now == tree_) << describe(now) << "\n" << describe(tree_);
  {
    auto pool = Pool::open(path()).value();
    auto report = pool->verify().value();
    EXPECT_TRUE(report.ok()) << report.problems.front();
    EXPECT_TRUE(report.page_checksums);
    EXPECT_EQ(report.pages, size_of(path()) / 4096);
    // Done once: compacting again adds nothing.
    EXPECT_FALSE(pool->compact().value().page_checksums_added);
    ASSERT_OK(pool->close());
  }
  // Now damage is found: a bit in the middle of the file...
  const std::uint64_t middle = size_of(path()) / 2;
  flip(path(), middle, 3);
  {
    auto pool = Pool::open(path(), {.read_only = true}).value();
    auto report = pool->verify().value();
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.problems.front().find("page " + std::to_string(middle / 4096 + 1) + " "), std::string::npos)
        << report.problems.front();
  }
  flip(path(), middle, 3);
  // ...and a header that lost the reserved-bytes setting (byte 20) is refused,
  // since compact recorded that the pool has checksums.
  flip(path(), 20, 3);
  auto damaged = Pool::open(path(), {.read_only = true});
  ASSERT_FALSE(damaged.has_value());
  EXPECT_EQ(damaged.error().code, Errc::Corrupt) << damaged.error().to_string();
}

// A page of the memory map is checked on its first use and again on its first
// use in each later second (checking every use would cost ~1 µs a page
// access): bytes that go bad under the map of an open pool are found, not
// trusted for the life of the connection.
TEST_F(PageChecksumTest, DamageUnderTheMemoryMapOfAnOpenPoolIsFoundWithinASecond) {
  std::map<std::string, std::string> files;
  {
    auto pool = Pool::create(path(), {.page_size = 4096, .properties = {{"compression", "off"}}}).value();
    auto fs = pool->dataset().value();
    std::mt19937_64 rng(23);
    for (int i = 0; i < 6; ++i) {
      std::string data(50'000, '\0');
      for (auto& c : data) c = static_cast<char>(rng());
      ASSERT_OK(fs->write_file("/f" + std::to_string(i), data));
      files["/f" + std::to_string(i)] = data;
    }
    ASSERT_OK(pool->close());
  }
  auto pool = Pool::open(path(), {.read_only = true}).value();  // mapped: the default 64 MiB covers it
  auto fs = pool->dataset().value();
  for (const auto& [p, data] : files) ASSERT_TRUE(fs->read_file(p).value() == data) << p;
  // Every fifth page goes bad on disk, under the map.
  const std::uint64_t pages = size_of(path()) / 4096;
  for (std::uint64_t page = 2; page < pages; page += 5) flip(path(), page * 4096 + 100, 2);
  ::usleep(1'100'000);
  int found = 0;
  for (const auto& [p, data] : files) {
    auto got = fs->read_file(p);
    if (!got) {
      EXPECT_NE(got.error().to_string().find("fails its checksum"), std::string::npos) << got.error().to_string();
      found++;
      continue;
    }
    EXPECT_TRUE(*got == data) << p << " came back with other bytes";
  }
  EXPECT_GE(found, 1);
}

}  // namespace
}  // namespace anyfs::testing
