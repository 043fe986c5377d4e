// Concurrency stress (issue 6): eight threads of mixed operations on one
// dataset — each in a directory of its own, plus appends to one shared log and
// renames in one shared directory — while another process opens the pool
// read-only and reads it over and over. Every file carries its own length and
// checksum, so what the reader sees can be checked: a file written to a
// temporary name and renamed into place is whole in every committed state, and
// every whole record of the append-only log is valid. At
// the end: verify, every thread's directory equals its model, and the log
// holds every record exactly once, each thread's in order.
// ANYFS_STRESS_OPS=N sets the operations per thread (default 150).
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "anyfs/pool.h"
#include "support/exec_self.h"
#include "support/must.h"
#include "support/random_tree.h"
#include "support/result_matchers.h"
#include "support/temp_dir.h"

namespace anyfs::testing {
namespace {

constexpr int k_threads = 8;
constexpr std::size_t k_record = 32;  // one log record: "t3 s00000042" padded, then '\n'

std::uint64_t fnv(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// A file that says how long it is and what its bytes hash to.
std::string self_checking(std::string payload) {
  char head[40];
  std::snprintf(head, sizeof head, "%016zx%016llx", payload.size(), static_cast<unsigned long long>(fnv(payload)));
  return std::string(head, 32) + payload;
}

bool whole(const std::string& content) {
  if (content.size() < 32) return false;
  std::string payload = content.substr(32);
  return self_checking(payload) == content;
}

std::string record(int thread, int seq) {
  char buf[k_record + 1];
  std::snprintf(buf, sizeof buf, "t%d s%08d%*s\n", thread, seq, static_cast<int>(k_record - 13 - 1), "");
  return std::string(buf, k_record);
}

// Reads what it can of the tree: each call of a read-only opener sees the
// newest committed state, so a file listed may be gone when it is read (skipped).
Result<void> read_racing(Fs& fs, const std::string& dir, Tree& out) {
  auto entries = fs.read_dir(dir);
  if (!entries) return entries.error().code == Errc::NotFound ? Result<void>{} : std::unexpected(entries.error());
  for (const auto& e : *entries) {
    std::string p = (dir == "/" ? "" : dir) + "/" + e.name;
    if (e.kind == FileKind::Directory) {
      ANYFS_CHECK(read_racing(fs, p, out));
      continue;
    }
    auto content = fs.read_file(p);
    if (!content && content.error().code == Errc::NotFound) continue;
    if (!content) return std::unexpected(content.error());
    out[p] = std::move(*content);
  }
  return {};
}

// What the reading process checks in what it reads; returns problems.
std::vector<std::string> check_state(Fs& fs) {
  std::vector<std::string> problems;
  Tree tree;
  if (auto r = read_racing(fs, "/", tree); !r) return {"read: " + r.error().to_string()};
  for (const auto& [path, content] : tree) {
    if (content == "/" || path == "/log") continue;
    // Written to a temporary name, closed, then renamed: whole in every
    // committed state. A file rewritten in place is not checked: a reader
    // that reads it across commits (several preads, each seeing the newest
    // state) may see parts of two versions, as on any POSIX filesystem.
    bool renamed_into_place = path.starts_with("/shared/") && !path.ends_with(".tmp");
    if (renamed_into_place && !whole(content))
      problems.push_back(path + " is damaged (" + std::to_string(content.size()) + " bytes)");
  }
  if (auto log = tree.find("/log"); log != tree.end()) {
    // Appends still buffered may leave the last record in part; every whole one is valid.
    for (std::size_t at = 0; at + k_record <= log->second.size(); at += k_record) {
      int t = -1, s = -1;
      if (std::sscanf(log->second.c_str() + at, "t%d s%d", &t, &s) != 2 || t < 0 || t >= k_threads || s < 0)
        problems.push_back("/log record at " + std::to_string(at) + " is damaged");
    }
  }
  return problems;
}

// The reading process (exec'd by the test: a fresh program, no inherited locks).
TEST(StressTest, DISABLED_ReaderInAnotherProcess) {
  const char* pool_path = std::getenv("ANYFS_STRESS_POOL");
  if (pool_path == nullptr) GTEST_SKIP() << "run by StressTest.ThreadsAndAReaderProcessKeepEveryInvariant";
  auto pool = must(Pool::open(pool_path, {.read_only = true}));
  auto fs = must(pool->dataset());
  int states = 0;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < until && access((std::string(pool_path) + ".done").c_str(), F_OK) != 0) {
    for (const auto& p : check_state(*fs)) ADD_FAILURE() << "state " << states << ": " << p;
    if (HasFailure()) return;
    states++;
  }
  std::printf("reader went over the tree %d times\n", states);
  EXPECT_GT(states, 3);
}

TEST(StressTest, ThreadsAndAReaderProcessKeepEveryInvariant) {
  TempDir tmp;
  const std::string pool_path = tmp.str() + "/stress.anyfs";
  auto pool = must(Pool::create(pool_path));
  auto fs = must(pool->dataset());
  ASSERT_OK(fs->mkdir("/shared"));
  ASSERT_OK(fs->write_file("/log", ""));
  ASSERT_OK(pool->sync());

  pid_t reader = start_self("pool_tests", "StressTest.DISABLED_ReaderInAnotherProcess", "ANYFS_STRESS_POOL=" + pool_path);

  const int ops = std::getenv("ANYFS_STRESS_OPS") ? std::atoi(std::getenv("ANYFS_STRESS_OPS")) : 150;
  std::vector<Tree> models(k_threads);
  std::vector<int> appended(k_threads, 0), renamed(k_threads, 0);
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(1000 + t);
      const std::string dir = "/t" + std::to_string(t);
      auto fail = [&](const Error& e, const char* what) {
        errors++;
        ADD_FAILURE() << "thread " << t << " " << what << ": " << e.to_string();
      };
      if (auto r = fs->mkdir(dir); !r) return fail(r.error(), "mkdir");
      Tree& model = models[t];
      for (int i = 0; i < ops && errors == 0; ++i) {
        const std::string a = dir + "/f" + std::to_string(rng() % 6), b = dir + "/f" + std::to_string(rng() % 6);
        switch (rng() % 6) {
          case 0:
          case 1: {
            std::string content = self_checking(random_content(rng));
            if (auto r = fs->write_file(a, content); !r) return fail(r.error(), "write");
            model[a] = content;
            break;
          }
          case 2:
            if (!model.contains(a) || a == b) break;
            if (auto r = fs->rename(a, b); !r) return fail(r.error(), "rename");
            model[b] = model[a];
            model.erase(a);
            break;
          case 3:
            if (!model.contains(a)) break;
            if (auto r = fs->remove(a); !r) return fail(r.error(), "remove");
            model.erase(a);
            break;
          case 4:
            if (auto r = fs->append("/log", record(t, appended[t])); !r) return fail(r.error(), "append");
            appended[t]++;
            break;
          default: {
            std::string name = "/shared/t" + std::to_string(t) + "-" + std::to_string(renamed[t]);
            if (auto r = fs->write_file(name + ".tmp", self_checking(name)); !r) return fail(r.error(), "shared write");
            if (auto r = fs->rename(name + ".tmp", name); !r) return fail(r.error(), "shared rename");
            renamed[t]++;
            if (rng() % 8 == 0)
              if (auto r = pool->sync(); !r) return fail(r.error(), "sync");
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_OK(pool->sync());
  { std::FILE* done = std::fopen((pool_path + ".done").c_str(), "w"); if (done) std::fclose(done); }
  EXPECT_TRUE(passed(reader)) << "the reading process failed";
  ASSERT_EQ(errors, 0);

  auto report = must(pool->verify());
  ASSERT_TRUE(report.ok()) << report.problems.front();
  Tree tree;
  ASSERT_OK(read_tree(*fs, "/", tree));
  for (int t = 0; t < k_threads; ++t) {
    Tree mine;
    const std::string dir = "/t" + std::to_string(t);
    for (const auto& [p, c] : tree)
      if (p.starts_with(dir + "/")) mine[p] = c;
    EXPECT_EQ(mine, models[t]) << "thread " << t << "'s directory";
    for (int i = 0; i < renamed[t]; ++i)
      EXPECT_TRUE(tree.contains("/shared/t" + std::to_string(t) + "-" + std::to_string(i))) << t << " " << i;
  }
  for (const auto& [p, c] : tree) EXPECT_FALSE(p.ends_with(".tmp")) << p;
  // The log: every record exactly once, each thread's in the order it wrote them.
  const std::string& log = tree["/log"];
  ASSERT_EQ(log.size() % k_record, 0u);
  std::vector<int> next(k_threads, 0);
  for (std::size_t at = 0; at < log.size(); at += k_record) {
    int t = -1, s = -1;
    ASSERT_EQ(std::sscanf(log.c_str() + at, "t%d s%d", &t, &s), 2) << at;
    ASSERT_TRUE(t >= 0 && t < k_threads);
    EXPECT_EQ(s, next[t]) << "thread " << t << "'s records out of order or lost";
    next[t] = s + 1;
  }
  EXPECT_EQ(next, appended);
  ASSERT_OK(pool->close());
}

}  // namespace
}  // namespace anyfs::testing

namespace anyfs::testing {
namespace {

// A version of file `f`: self-checking, its size between 4 KiB and 1.5 MiB
// (files past 1 MiB keep no cached extents: a read connection reads them).
std::string version_of(int f, int v) {
  std::mt19937_64 rng(static_cast<std::uint64_t>(f) * 1000003 + static_cast<std::uint64_t>(v));
  const std::size_t size = f % 2 == 0 ? 1'200'000 + rng() % 300'000 : 4096 + rng() % 60'000;
  std::string payload(size, '\0');
  for (auto& c : payload) c = static_cast<char>('a' + rng() % 26);
  return self_checking(std::move(payload));
}

// Reads of files whose state is committed run outside the pool lock on read
// connections (pool/reader_pool.h). While a writer rewrites files in place
// and commits — freeing the chunks of old versions, and between commits
// flushing data into the open transaction group when the buffer is full
// (rows a read connection does not see yet) — every single pread sees one
// whole version, or the empty file between the truncation and the write, and
// never an error.
TEST(StressTest, ReadsBesideAWriterThatRewritesAndCommitsSeeWholeVersions) {
  TempDir tmp;
  auto pool = must(Pool::create(tmp.str() + "/p.anyfs"));
  auto fs = must(pool->dataset());
  constexpr int k_files = 12;
  for (int f = 0; f < k_files; ++f) ASSERT_OK(fs->write_file("/f" + std::to_string(f), version_of(f, 0)));
  ASSERT_OK(pool->sync());
  const int rewrites = std::getenv("ANYFS_STRESS_OPS") ? std::atoi(std::getenv("ANYFS_STRESS_OPS")) : 150;
  std::atomic<bool> done = false;
  std::atomic<int> reads = 0;
  std::vector<std::string> problems[2];
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r)
    readers.emplace_back([&, r] {
      std::mt19937 rng(r);
      std::string buf(2 << 20, '\0');
      while (!done) {
        const std::string p = "/f" + std::to_string(rng() % k_files);
        auto h = fs->open(p, OpenFlags::Read);
        if (!h) {
          problems[r].push_back("open " + p + ": " + h.error().to_string());
          return;
        }
        auto n = (*h)->pread(std::span<char>(buf.data(), buf.size()), 0);
        if (!n) {
          problems[r].push_back("read " + p + ": " + n.error().to_string());
          return;
        }
        std::string content = buf.substr(0, *n);
        if (!content.empty() && !whole(content)) {
          problems[r].push_back(p + " read " + std::to_string(*n) + " bytes of no whole version");
          return;
        }
        reads++;
      }
    });
  // The writer's failures are reported after the readers are joined.
  auto write_versions = [&]() -> Result<void> {
    std::mt19937 rng(7);
    for (int i = 1; i <= rewrites; ++i) {
      const int f = static_cast<int>(rng() % k_files);
      auto h = ANYFS_TRY(fs->open("/f" + std::to_string(f), OpenFlags::Write | OpenFlags::Truncate));
      ANYFS_TRY(h->pwrite(version_of(f, i), 0));
      ANYFS_CHECK(h->close());
      if (i % 40 == 0) ANYFS_CHECK(pool->sync());  // about 27 MiB apart: the 32 MiB buffer fills too
    }
    return {};
  };
  const auto written = write_versions();
  done = true;
  for (auto& t : readers) t.join();
  ASSERT_OK(written);
  for (const auto& list : problems) {
    for (const auto& p : list) ADD_FAILURE() << p;
  }
  EXPECT_GT(reads.load(), 0);
  std::printf("%d reads beside %d rewrites\n", reads.load(), rewrites);
  auto report = must(pool->verify());
  EXPECT_TRUE(report.ok()) << report.problems.front();
}

// Data flushed into the open transaction group (the write buffer filled) is
// in rows a read connection cannot see until the commit: reads of that file
// stay on the writer's connection, and see the new version at once.
TEST(StressTest, DataFlushedButNotCommittedIsReadFromTheWriter) {
  TempDir tmp;
  auto pool = must(Pool::create(tmp.str() + "/p.anyfs", {.properties = {{"txg_timeout", "600"}}}));
  auto fs = must(pool->dataset());
  for (int f : {0, 1}) ASSERT_OK(fs->write_file("/f" + std::to_string(f), version_of(f, 0)));
  ASSERT_OK(pool->sync());
  // Both files read once: the small one's extents are cached from the store.
  for (int f : {0, 1}) EXPECT_TRUE(must(fs->read_file("/f" + std::to_string(f))) == version_of(f, 0)) << "file " << f;
  for (int f : {0, 1}) ASSERT_OK(fs->write_file("/f" + std::to_string(f), version_of(f, 1)));
  // 40 MiB more: past the 32 MiB buffer, so the new versions are flushed
  // into the open group, not committed (the timer waits 600 s).
  ASSERT_OK(fs->write_file("/filler", std::string(40 << 20, 'x')));
  for (int f : {0, 1}) EXPECT_TRUE(must(fs->read_file("/f" + std::to_string(f))) == version_of(f, 1)) << "file " << f;
  ASSERT_OK(pool->sync());
  for (int f : {0, 1}) EXPECT_TRUE(must(fs->read_file("/f" + std::to_string(f))) == version_of(f, 1)) << "file " << f;
}

// A flush hashes and compresses without the pool lock (FileData::flush):
// while a sync flushes 24 MiB, reads of committed files go on — and reads of
// the file being flushed see its new bytes whole, from the buffer over the
// extents stored so far. Under the old single hold a reader waited out the
// whole flush: at most a read or two finished during the sync.
TEST(StressTest, ReadsGoOnWhileASyncFlushesAndSeeTheFileBeingFlushedWhole) {
  TempDir tmp;
  auto pool = must(Pool::create(tmp.str() + "/p.anyfs", {.properties = {{"txg_timeout", "600"}}}));
  auto fs = must(pool->dataset());
  ASSERT_OK(fs->write_file("/small", version_of(1, 0)));
  ASSERT_OK(pool->sync());
  std::mt19937_64 rng(3);
  std::string big(24 << 20, '\0');
  for (auto& c : big) c = static_cast<char>('a' + rng() % 26);  // compressible: zstd has work to do
  ASSERT_OK(fs->write_file("/big", big));  // buffered: under the 32 MiB limit
  std::atomic<bool> syncing = false, done = false;
  std::atomic<int> small_reads_during = 0, big_reads_during = 0;
  std::vector<std::string> problems[2];
  std::vector<std::thread> readers;
  readers.emplace_back([&] {
    const std::string expect = version_of(1, 0);
    while (!done) {
      const bool was = syncing;
      auto got = fs->read_file("/small");
      if (!got || *got != expect) {
        problems[0].push_back("/small read wrong");
        return;
      }
      if (was && syncing) small_reads_during++;
    }
  });
  readers.emplace_back([&] {
    std::string buf(1 << 20, '\0');
    std::mt19937_64 r(9);
    while (!done) {
      auto h = fs->open("/big", OpenFlags::Read);
      if (!h) {
        problems[1].push_back("open /big: " + h.error().to_string());
        return;
      }
      const std::uint64_t at = r() % (big.size() - buf.size());
      const bool was = syncing;
      auto n = (*h)->pread(std::span<char>(buf.data(), buf.size()), at);
      if (!n || *n != buf.size() || std::memcmp(buf.data(), big.data() + at, buf.size()) != 0) {
        problems[1].push_back("/big read wrong at " + std::to_string(at));
        return;
      }
      if (was && syncing) big_reads_during++;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  syncing = true;
  auto synced = pool->sync();
  syncing = false;
  done = true;
  for (auto& t : readers) t.join();
  ASSERT_OK(synced);
  for (const auto& list : problems)
    for (const auto& p : list) ADD_FAILURE() << p;
  std::printf("during the sync: %d small reads, %d reads of the file flushed\n", small_reads_during.load(),
              big_reads_during.load());
  EXPECT_GE(small_reads_during.load(), 20);
  EXPECT_GE(big_reads_during.load(), 3);
  EXPECT_TRUE(must(fs->read_file("/big")) == big);
  auto report = must(pool->verify());
  EXPECT_TRUE(report.ok()) << report.problems.front();
}

// Closing a handle counts it down without the pool lock; only the last
// close of a removed file takes the lock to destroy it. Two handles of one
// removed file closed at once by two threads, many times over: each file is
// destroyed exactly once — none left behind (files counts live inodes), and
// verify finds nothing wrong.
TEST(StressTest, HandlesOfARemovedFileClosedAtOnceDestroyItOnce) {
  TempDir tmp;
  auto pool = must(Pool::create(tmp.str() + "/p.anyfs"));
  auto fs = must(pool->dataset());
  const std::uint64_t before = must(pool->stats()).files;
  for (int i = 0; i < 200; ++i) {
    const std::string p = "/f" + std::to_string(i);
    ASSERT_OK(fs->write_file(p, std::string(1000 + i, 'a')));
    auto a = must(fs->open(p, OpenFlags::Read));
    auto b = must(fs->open(p, OpenFlags::Read));
    ASSERT_OK(fs->remove(p));
    std::atomic<bool> go = false;
    Result<void> closed_a, closed_b;
    std::thread ta([&] {
      while (!go) {
      }
      closed_a = a->close();
    });
    std::thread tb([&] {
      while (!go) {
      }
      closed_b = b->close();
    });
    go = true;
    ta.join();
    tb.join();
    ASSERT_OK(closed_a);
    ASSERT_OK(closed_b);
  }
  ASSERT_OK(pool->sync());
  EXPECT_EQ(must(pool->stats()).files, before);
  auto report = must(pool->verify());
  EXPECT_TRUE(report.ok()) << report.problems.front();
}

}  // namespace
}  // namespace anyfs::testing
