// Bad pool files: not a pool, a newer format, truncated, bit-flipped, a lost WAL,
// a stray chunk. Each gives a clear error (or a verify report) and never a crash,
// and a failed open leaves the file as it was.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <fstream>
#include <random>

#include "anyfs/pool.h"
#include "fs/path.h"
#include "meta/schema.h"
#include "support/raw_sql.h"
#include "support/seeds.h"
#include "support/result_matchers.h"
#include "support/temp_dir.h"

namespace anyfs::testing {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void spit(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

PoolOpenOptions read_only() {
  PoolOpenOptions o;
  o.read_only = true;
  return o;
}

// Reads every file of a pool; returns how many reads failed (cleanly).
int read_everything(Fs& fs, const std::string& dir = "/") {
  int failures = 0;
  auto entries = fs.read_dir(dir);
  if (!entries) return 1;
  for (const auto& e : *entries) {
    std::string p = path::child(dir, e.name);
    if (e.kind == FileKind::Directory)
      failures += read_everything(fs, p);
    else if (e.kind == FileKind::Regular && !fs.read_file(p))
      failures++;
  }
  return failures;
}

class BadInputTest : public ::testing::Test {
 protected:
  std::string path() const { return dir_.str() + "/p.anyfs"; }
  // A closed pool with a few directories and files of several sizes.
  void make_pool() {
    auto pool = Pool::create(path(), {.page_size = 4096}).value();
    auto fs = pool->dataset().value();
    std::mt19937_64 rng(5);
    for (int d = 0; d < 4; ++d) {
      ASSERT_OK(fs->mkdir("/d" + std::to_string(d)));
      for (int f = 0; f < 10; ++f) {
        std::string data(1000 + rng() % 90'000, '\0');
        for (auto& c : data) c = static_cast<char>(rng() % 7 == 0 ? rng() : 'a' + d);
        ASSERT_OK(fs->write_file("/d" + std::to_string(d) + "/f" + std::to_string(f), data));
      }
    }
    ASSERT_OK(pool->close());
  }
  TempDir dir_;
};

TEST_F(BadInputTest, AFileThatIsNotAPoolIsRefusedAndUntouched) {
  for (const std::string& content : {std::string("just some text\n"), std::string(), std::string(8192, '\0')}) {
    spit(path(), content);
    for (bool ro : {false, true}) {
      PoolOpenOptions o;
      o.read_only = ro;
      auto pool = Pool::open(path(), o);
      ASSERT_FALSE(pool.has_value());
      EXPECT_EQ(pool.error().code, Errc::Corrupt) << pool.error().to_string();
      EXPECT_NE(pool.error().message.find("not an AnyFS pool"), std::string::npos) << pool.error().to_string();
      EXPECT_EQ(slurp(path()), content);
    }
  }
}

TEST_F(BadInputTest, APlainSqliteDatabaseIsNotAPool) {
  raw_sql(path(), "CREATE TABLE t(x); INSERT INTO t VALUES(1)");
  auto pool = Pool::open(path());
  ASSERT_ERR(pool, Corrupt);
  EXPECT_NE(pool.error().message.find("not an AnyFS pool"), std::string::npos);
}

TEST_F(BadInputTest, ANewerFormatIsUnsupportedNamingBothVersions) {
  make_pool();
  raw_sql(path(), "PRAGMA user_version = 9");
  std::string before = slurp(path());
  auto pool = Pool::open(path());
  ASSERT_ERR(pool, Unsupported);
  EXPECT_NE(pool.error().message.find(fmt::format("format 9 is newer than this anyfs supports ({})", k_format_version)), std::string::npos)
      << pool.error().to_string();
  EXPECT_ERR(Pool::open(path(), read_only()), Unsupported);
  EXPECT_EQ(slurp(path()), before);
}

TEST_F(BadInputTest, ATruncatedPoolIsCorruptAndUntouched) {
  make_pool();
  std::string full = slurp(path());
  for (double keep : {0.9, 0.5, 0.1}) {
    std::string cut = full.substr(0, static_cast<std::size_t>(full.size() * keep));
    spit(path(), cut);
    for (bool ro : {false, true}) {
      PoolOpenOptions o;
      o.read_only = ro;
      auto pool = Pool::open(path(), o);
      ASSERT_FALSE(pool.has_value()) << "kept " << keep;
      EXPECT_EQ(pool.error().code, Errc::Corrupt) << pool.error().to_string();
      EXPECT_NE(pool.error().message.find("truncated"), std::string::npos) << pool.error().to_string();
      EXPECT_EQ(slurp(path()), cut);
    }
  }
}

TEST_F(BadInputTest, FlippedBytesAnywhereGiveCleanErrorsOrAVerifyReportNeverACrash) {
  make_pool();
  std::string good = slurp(path());
  int refused = 0, reported = 0, failed_reads = 0;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    std::mt19937_64 rng(seed);
    std::string bad = good;
    for (int i = 0; i < 8; ++i) bad[100 + rng() % (bad.size() - 100)] ^= static_cast<char>(1 + rng() % 255);
    spit(path(), bad);
    auto pool = Pool::open(path(), read_only());
    if (!pool) {
      refused++;
      EXPECT_TRUE(pool.error().code == Errc::Corrupt || pool.error().code == Errc::Io) << pool.error().to_string();
      continue;
    }
    auto report = (*pool)->verify();
    if (!report || !report->ok()) reported++;
    auto fs = (*pool)->dataset();
    if (fs) failed_reads += read_everything(**fs);
  }
  // Most flips land in chunk bytes (the bulk of the file): verify must see them.
  EXPECT_GT(refused + reported, 30) << refused << " refused, " << reported << " reported";
  std::cout << "40 damaged copies: " << refused << " refused at open, " << reported << " reported by verify, "
            << failed_reads << " reads failed cleanly\n";
}

// Bit rot: one bit flipped anywhere in a closed pool file — in chunk data,
// chunk rows, metadata pages or the header. Every page ends in its checksum
// (util/page_checksum_vfs.h), so verify must find every flip, and every read
// must return the right bytes or Corrupt — never other bytes. Both ways SQLite
// reads pages: through the memory map and with read(). ANYFS_BITROT_FLIPS=N
// sets the flips per way (default 40); ANYFS_SEED_BASE shifts the seeds.
TEST_F(BadInputTest, EveryFlippedBitIsFoundByVerifyAndNoReadReturnsWrongBytes) {
  make_pool();
  std::map<std::string, std::string> model;
  {
    auto pool = Pool::open(path(), read_only()).value();
    auto fs = pool->dataset().value();
    for (int d = 0; d < 4; ++d)
      for (int f = 0; f < 10; ++f) {
        std::string p = "/d" + std::to_string(d) + "/f" + std::to_string(f);
        model[p] = fs->read_file(p).value();
      }
    auto report = pool->verify().value();
    ASSERT_TRUE(report.ok());
    ASSERT_GT(report.pages, 100u);
  }
  const std::string good = slurp(path());
  const char* env = std::getenv("ANYFS_BITROT_FLIPS");
  const int flips = env ? std::atoi(env) : 40;
  int refused = 0, found = 0, failed_reads = 0, right_reads = 0;
  for (std::uint64_t mmap_bytes : {std::uint64_t{64} << 20, std::uint64_t{0}}) {
    for (int i = 1; i <= flips && !past_deadline(); ++i) {
      const std::uint64_t seed = seed_base() + static_cast<std::uint64_t>(i);
      std::mt19937_64 rng(seed);
      const std::size_t offset = rng() % good.size();
      const int bit = static_cast<int>(rng() % 8);
      const std::string where = fmt::format("seed {} (mmap {}): bit {} of byte {} (page {})", seed, mmap_bytes, bit,
                                            offset, offset / 4096 + 1);
      std::string bad = good;
      bad[offset] = static_cast<char>(bad[offset] ^ (1 << bit));
      spit(path(), bad);
      PoolOpenOptions options = read_only();
      options.mmap_bytes = mmap_bytes;
      auto pool = Pool::open(path(), options);
      if (!pool) {
        refused++;
        EXPECT_EQ(pool.error().code, Errc::Corrupt) << where << ": " << pool.error().to_string();
        continue;
      }
      // verify reads every page itself: it reports the damaged page by number
      // rather than stopping at it.
      auto report = (*pool)->verify();
      ASSERT_TRUE(report.has_value()) << where << ": " << report.error().to_string();
      EXPECT_FALSE(report->ok()) << where << ": verify found nothing";
      std::string problems;
      for (const auto& p : report->problems) problems += p + "\n";
      EXPECT_NE(problems.find(fmt::format("page {} ", offset / 4096 + 1)), std::string::npos)
          << where << ": verify does not name the page:\n" << problems;
      found += !report->ok();
      auto fs = (*pool)->dataset();
      if (!fs) {
        EXPECT_EQ(fs.error().code, Errc::Corrupt) << where << ": " << fs.error().to_string();
        continue;
      }
      for (const auto& [p, content] : model) {
        auto r = (*fs)->read_file(p);
        if (r) {
          ASSERT_EQ(r->size(), content.size()) << where << ": " << p << " came back with another size";
          ASSERT_TRUE(*r == content) << where << ": " << p << " came back with other bytes";
          right_reads++;
        } else {
          failed_reads++;
          EXPECT_EQ(r.error().code, Errc::Corrupt) << where << ": " << p << ": " << r.error().to_string();
        }
      }
    }
  }
  std::cout << 2 * flips << " single-bit flips: " << refused << " refused at open, " << found
            << " found by verify; reads: " << right_reads << " right, " << failed_reads << " Corrupt, 0 wrong\n";
}

// Found by the pool-file fuzzer: a read open moves the access time, and the
// change failing on a damaged table dropped the node being opened from the
// cache, which the open then could not find (std::terminate). Now the open
// gives a handle; the failed write stopped the pool, so reads through it say
// so, and the pool opened again read-only reads the file.
TEST_F(BadInputTest, AnOpenWhoseAccessTimeCannotBeWrittenGivesAHandleNotACrash) {
  {
    auto pool = Pool::create(path(), {.page_size = 4096}).value();
    ASSERT_OK(pool->dataset().value()->write_file("/f", "the bytes"));
    ASSERT_OK(pool->close());
  }
  // Damage that makes every new txlog row fail, as a broken page does.
  raw_sql(path(), "CREATE TRIGGER damaged BEFORE INSERT ON txlog BEGIN SELECT RAISE(ABORT, 'damaged page'); END;");
  {
    auto pool = Pool::open(path()).value();
    auto handle = pool->dataset().value()->open("/f", OpenFlags::Read);
    ASSERT_OK(handle);
    std::string buf(64, '\0');
    auto n = (*handle)->pread(buf, 0);
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error().code, Errc::Io);
    EXPECT_THAT(n.error().message, ::testing::HasSubstr("damaged page"));
  }
  auto pool = Pool::open(path(), read_only()).value();
  EXPECT_EQ(pool->dataset().value()->read_file("/f").value(), "the bytes");
}

TEST_F(BadInputTest, ALostWalAfterACrashIsReportedNotIgnored) {
  make_pool();
  pid_t child = fork();
  if (child == 0) {
    auto pool = Pool::open(path());
    if (!pool) _exit(1);
    (void)(*pool)->dataset().value()->write_file("/after-checkpoint", "in the WAL only");
    (void)(*pool)->sync();
    _exit(0);  // a crash: no close, no checkpoint
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_TRUE(std::filesystem::exists(path() + "-wal"));
  std::filesystem::remove(path() + "-wal");
  std::filesystem::remove(path() + "-shm");
  std::string before = slurp(path());
  auto pool = Pool::open(path());
  ASSERT_ERR(pool, Corrupt);
  EXPECT_NE(pool.error().message.find("write-ahead log"), std::string::npos) << pool.error().to_string();
  EXPECT_EQ(slurp(path()), before);
  // Read-only, the state as of the last checkpoint is there to rescue.
  auto rescue = Pool::open(path(), read_only());
  ASSERT_TRUE(rescue.has_value()) << rescue.error().to_string();
  auto fs = (*rescue)->dataset().value();
  EXPECT_TRUE(fs->read_file("/d0/f0").has_value());
}

TEST_F(BadInputTest, GcSweepsAChunkNothingKnows) {
  make_pool();
  raw_sql(path(), "INSERT INTO chunks(hash, codec, raw_size, checksum, data) VALUES(zeroblob(32), 0, 3, 0, x'616263')");
  auto pool = Pool::open(path()).value();
  auto report = pool->gc({.grace_seconds = 3600});
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->orphans_removed, 1u);
  EXPECT_TRUE(pool->verify()->ok());
  EXPECT_EQ(read_everything(*pool->dataset().value()), 0);
}

}  // namespace
}  // namespace anyfs::testing
