// Pools as a user meets them through the C++ API: what survives a reopen, the
// writer lock, read-only openers, dedup, compression, reflinks, gc, verify,
// properties. verify in pool_verify_test.cc; damage and bad files in
// bad_input_test.cc.
#include "anyfs/pool.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "chunk/hash.h"
#include "support/exec_self.h"
#include "support/must.h"
#include "support/random_bytes.h"
#include "support/raw_sql.h"
#include "support/result_matchers.h"
#include "support/temp_dir.h"
#include "pool/pool_fixture.h"

namespace anyfs::testing {
namespace {

TEST_F(PoolTest, EverythingSurvivesCloseAndReopen) {
  std::string big = random_bytes(700'000, 1);
  {
    auto pool = create();
    auto fs = must(pool->dataset());
    ASSERT_OK(fs->mkdirs("/a/b"));
    ASSERT_OK(fs->write_file("/a/b/small", "hello"));
    ASSERT_OK(fs->write_file("/a/big", big));
    ASSERT_OK(fs->symlink("b/small", "/a/link"));
    ASSERT_OK(fs->link("/a/b/small", "/a/hard"));
    ASSERT_OK(fs->set_xattr("/a/big", "user.k", "v"));
    ASSERT_OK(fs->chmod("/a/b", 0700));
    ASSERT_OK(fs->utimens("/a/big", TimeSpec::at(1'000'000'000), TimeSpec::at(2'000'000'000)));
    ASSERT_OK(pool->close());
  }
  auto pool = open();
  auto fs = must(pool->dataset());
  EXPECT_EQ(must(fs->read_file("/a/b/small")), "hello");
  EXPECT_EQ(must(fs->read_file("/a/big")), big);
  EXPECT_EQ(must(fs->read_file("/a/link")), "hello");
  EXPECT_EQ(must(fs->stat("/a/hard")).nlink, 2u);
  EXPECT_EQ(must(fs->get_xattr("/a/big", "user.k")), "v");
  EXPECT_EQ(must(fs->stat("/a/b")).mode, 0700u);
  EXPECT_EQ(must(fs->stat("/a/big")).mtime_ns, 2'000'000'000);
  auto report = must(pool->verify());
  EXPECT_TRUE(report.ok()) << report.problems.front();
  EXPECT_EQ(report.inodes, 6u);  // root, a, b, small(=hard), big, link
}

// The times a stat shows are the ones stored: a write whose tail stays
// buffered past a commit, then a change of attributes, then close and reopen
// (the FUSE mount's writeback cache does exactly this on an append).
TEST_F(PoolTest, TimesAfterAnAppendAreTheOnesStored) {
  Stat seen;
  {
    auto pool = create();
    auto fs = must(pool->dataset());
    ASSERT_OK(fs->write_file("/f", std::string(100000, 'x')));
    ASSERT_OK(fs->sync());
    const std::uint64_t ino = must(fs->stat("/f")).ino;
    AttrChange times;
    times.mtime = TimeSpec::at(1'000'000'000);
    times.ctime = TimeSpec::at(1'000'000'000);
    ASSERT_OK(fs->setattr(ino, times));
    auto h = must(fs->open(ino, OpenFlags::ReadWrite));
    ASSERT_OK(h->pwrite(std::string(1780, 'y'), 100000));
    ASSERT_OK(h->close());
    seen = must(fs->stat("/f"));
    EXPECT_GT(seen.mtime_ns, 1'000'000'000);
    ASSERT_OK(pool->close());
  }
  auto pool = open();
  auto fs = must(pool->dataset());
  auto after = must(fs->stat("/f"));
  EXPECT_EQ(after.mtime_ns, seen.mtime_ns);
  EXPECT_EQ(after.ctime_ns, seen.ctime_ns);
  EXPECT_EQ(after.size, 101780u);
}

// Issue 15: reading moves atime as relatime does (the atime property), and
// never in a read-only pool.
TEST_F(PoolTest, ReadingMovesAtimeAsTheAtimePropertySays) {
  constexpr std::int64_t k_old = 1'000'000'000;
  {
    auto pool = create();
    auto fs = must(pool->dataset());
    ASSERT_OK(fs->write_file("/f", "bytes"));
    ASSERT_OK(fs->utimens("/f", TimeSpec::at(k_old), TimeSpec::at(2 * k_old)));
    auto h = must(fs->open("/f", OpenFlags::Read | OpenFlags::NoAtime));
    char buf[8];
    ASSERT_OK(h->pread(buf, 0));
    EXPECT_EQ(must(fs->stat("/f")).atime_ns, k_old) << "NoAtime";
    ASSERT_OK(h->close());
    EXPECT_EQ(must(fs->read_file("/f")), "bytes");
    const std::int64_t moved = must(fs->stat("/f")).atime_ns;
    EXPECT_GT(moved, k_old);
    EXPECT_EQ(must(fs->read_file("/f")), "bytes");
    EXPECT_EQ(must(fs->stat("/f")).atime_ns, moved) << "relatime: newer than the last change stays";
    ASSERT_OK(pool->set_property("", "atime", "off"));
    ASSERT_OK(fs->utimens("/f", TimeSpec::at(k_old), TimeSpec::omit()));
    EXPECT_EQ(must(fs->read_file("/f")), "bytes");
    EXPECT_EQ(must(fs->stat("/f")).atime_ns, k_old) << "atime=off";
    ASSERT_OK(pool->inherit_property("", "atime"));
    ASSERT_OK(pool->close());
  }
  auto pool = open(true);
  auto fs = must(pool->dataset());
  EXPECT_EQ(must(fs->read_file("/f")), "bytes");
  EXPECT_EQ(must(fs->stat("/f")).atime_ns, k_old) << "a read-only pool changes nothing";
}

TEST_F(PoolTest, TidsKeepIncreasingAcrossReopens) {
  std::uint64_t first = 0;
  {
    auto pool = create();
    ASSERT_OK(must(pool->dataset())->write_file("/f", "x"));
    first = must(pool->stats()).last_tid;
  }
  auto pool = open();
  ASSERT_OK(must(pool->dataset())->write_file("/g", "y"));
  EXPECT_GT(must(pool->stats()).last_tid, first);
}

TEST_F(PoolTest, InodeNumbersAreNeverReusedAfterReopen) {
  std::uint64_t ino = 0;
  {
    auto pool = create();
    auto fs = must(pool->dataset());
    ASSERT_OK(fs->write_file("/f", "x"));
    ino = must(fs->stat("/f")).ino;
    ASSERT_OK(fs->remove("/f"));
  }
  auto pool = open();
  auto fs = must(pool->dataset());
  ASSERT_OK(fs->write_file("/g", "y"));
  EXPECT_GT(must(fs->stat("/g")).ino, ino);
}

TEST_F(PoolTest, ASecondWriterIsBusyAndToldWhoHoldsThePool) {
  auto pool = create();
  auto second = Pool::open(path());
  ASSERT_ERR(second, Busy);
  EXPECT_NE(second.error().message.find("pid " + std::to_string(::getpid())), std::string::npos)
      << second.error().message;
  // After the writer closes, the pool can be opened for writing again.
  ASSERT_OK(pool->close());
  EXPECT_OK(Pool::open(path()));
}

// The other process of AWriterInAnotherProcessIsBusyToo (run only from there).
TEST_F(PoolTest, DISABLED_OpenerInAnotherProcess) {
  const char* other = std::getenv("ANYFS_TEST_POOL");
  if (other == nullptr) GTEST_SKIP() << "run by AWriterInAnotherProcessIsBusyToo";
  auto r = Pool::open(other);
  ASSERT_ERR(r, Busy);
  EXPECT_NE(r.error().message.find("pid "), std::string::npos) << r.error().to_string();
}

TEST_F(PoolTest, AWriterInAnotherProcessIsBusyToo) {
  auto pool = create();
  ASSERT_OK(pool->sync());
  pid_t child = start_self("pool_tests", "PoolTest.DISABLED_OpenerInAnotherProcess", "ANYFS_TEST_POOL=" + path());
  EXPECT_TRUE(passed(child));
}

TEST_F(PoolTest, ReadOnlyOpenersSeeCommittedStatesOnly) {
  auto writer = create();
  auto fs = must(writer->dataset());
  ASSERT_OK(fs->write_file("/committed", "1"));
  ASSERT_OK(writer->sync());
  auto reader = open(/*read_only=*/true);
  auto view = must(reader->dataset());
  EXPECT_EQ(must(view->read_file("/committed")), "1");
  ASSERT_OK(fs->write_file("/pending", "2"));
  EXPECT_ERR(view->stat("/pending"), NotFound);  // not committed yet
  ASSERT_OK(writer->sync());
  EXPECT_EQ(must(view->read_file("/pending")), "2");
  // An overwrite is seen too: cached records are dropped when the pool changes.
  ASSERT_OK(fs->write_file("/committed", "one"));
  ASSERT_OK(writer->sync());
  EXPECT_EQ(must(view->read_file("/committed")), "one");
  EXPECT_ERR(view->write_file("/x", "no"), ReadOnly);
  EXPECT_ERR(view->mkdir("/d"), ReadOnly);
}

TEST_F(PoolTest, IdenticalContentIsStoredOnce) {
  auto pool = create();
  auto fs = must(pool->dataset());
  std::string data = random_bytes(1 << 20, 7);
  ASSERT_OK(fs->write_file("/one", data));
  ASSERT_OK(pool->sync());
  auto before = must(pool->stats());
  ASSERT_OK(fs->write_file("/two", data));
  auto after = must(pool->stats());
  EXPECT_EQ(after.chunks, before.chunks);
  EXPECT_EQ(after.chunk_stored_bytes, before.chunk_stored_bytes);
  EXPECT_NEAR(after.dedup_ratio(), 2.0, 0.01);
  EXPECT_TRUE(must(pool->verify()).ok());
}

TEST_F(PoolTest, CompressibleDataIsStoredSmaller) {
  auto pool = create({.properties = {{"compression", "zstd"}}});
  auto fs = must(pool->dataset());
  std::string text;
  while (text.size() < (1 << 20)) text += "the quick brown fox jumps over the lazy dog " + std::to_string(text.size());
  ASSERT_OK(fs->write_file("/text", text));
  auto st = must(pool->stats());
  EXPECT_GT(st.compression_ratio(), 3.0);
  EXPECT_EQ(must(fs->read_file("/text")), text);
}

// The decoded-chunk cache (pool/chunk_cache.h) as the read path uses it.
TEST_F(PoolTest, ASmallFileReadAgainComesFromTheCacheAndARewriteIsSeen) {
  create()->close();
  PoolOpenOptions o;
  o.cache_bytes = 64ull << 20;
  auto pool = must(Pool::open(path(), o));
  auto fs = must(pool->dataset());
  std::string text;
  while (text.size() < 10000) text += "small text file line " + std::to_string(text.size()) + "\n";
  ASSERT_OK(fs->write_file("/a", text));
  ASSERT_OK(pool->sync());
  const auto before = must(pool->stats());
  EXPECT_EQ(before.cache_capacity, 64ull << 20);
  EXPECT_EQ(must(fs->read_file("/a")), text);
  const auto first = must(pool->stats());
  EXPECT_EQ(first.cache_hits, before.cache_hits);
  EXPECT_GT(first.cache_bytes, text.size());
  EXPECT_EQ(must(fs->read_file("/a")), text);
  EXPECT_GT(must(pool->stats()).cache_hits, first.cache_hits);
  // New content has a new id: the cached chunk of the old one is not read for it.
  std::string changed = text;
  changed[5000] = '#';
  ASSERT_OK(fs->write_file("/a", changed));
  EXPECT_EQ(must(fs->read_file("/a")), changed);
  ASSERT_OK(pool->sync());
  EXPECT_EQ(must(fs->read_file("/a")), changed);
  EXPECT_EQ(must(fs->read_file("/a")), changed);
}

TEST_F(PoolTest, AStreamedLargeFileDoesNotFillTheCacheAndZeroTurnsItOff) {
  create()->close();
  {
    auto pool = open();
    auto fs = must(pool->dataset());
    const std::string big = random_bytes(4 << 20, 3);
    ASSERT_OK(fs->write_file("/big", big));
    ASSERT_OK(pool->sync());
    EXPECT_EQ(must(fs->read_file("/big")), big);
    EXPECT_EQ(must(pool->stats()).cache_bytes, 0u);  // whole chunks of a large file go straight to the caller
    ASSERT_OK(fs->write_file("/small", "hello"));
    ASSERT_OK(pool->close());
  }
  PoolOpenOptions o;
  o.cache_bytes = 0;
  auto pool = must(Pool::open(path(), o));
  auto fs = must(pool->dataset());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(must(fs->read_file("/small")), "hello");
  const auto s = must(pool->stats());
  EXPECT_EQ(s.cache_capacity, 0u);
  EXPECT_EQ(s.cache_hits, 0u);
  EXPECT_EQ(s.cache_bytes, 0u);
}

// A stream past the dirty limit is flushed while the file is open, each time
// leaving its last piece buffered in the run's reused buffer (FileData::flush):
// every byte must come back, from the buffer, the extents, or both at once.
TEST_F(PoolTest, AStreamFlushedManyTimesWhileOpenReadsBackWhole) {
  auto pool = create({.properties = {{"compression", "off"}}});
  auto fs = must(pool->dataset());
  const std::string data = random_bytes(100 << 20, 11);
  auto f = must(fs->open("/stream", OpenFlags::Write | OpenFlags::Read | OpenFlags::Create));
  std::uint64_t at = 0;
  std::size_t step = 1 << 20;
  std::string back(3 << 20, '\0');
  for (int i = 0; at < data.size(); ++i) {
    const std::size_t n = std::min<std::size_t>(step + (i % 7) * 4099, data.size() - at);
    ASSERT_EQ(must(f->pwrite(std::string_view(data).substr(at, n), at)), n);
    at += n;
    if (i % 9 == 0 && at > back.size()) {
      // Across the boundary of what is flushed and what is still buffered.
      const std::uint64_t from = at - back.size() + 12345;
      const std::size_t got = must(f->pread(back, from));
      ASSERT_EQ(got, at - from);
      ASSERT_TRUE(std::string_view(back).substr(0, got) == std::string_view(data).substr(from, got)) << "at " << at;
    }
  }
  ASSERT_OK(f->close());
  ASSERT_OK(pool->sync());
  EXPECT_TRUE(must(fs->read_file("/stream")) == data);
  EXPECT_TRUE(must(pool->verify()).ok());
}

// A large read of committed data is split at extent starts between the reading
// thread and a worker, each part on its own read connection
// (FileData::fill_shared): reads at odd offsets and lengths, over a hole and
// over chunks cut anywhere, must still return exactly the file's bytes.
TEST_F(PoolTest, LargeReadsSplitAmongThreadsReadBackExactly) {
  for (const char* compression : {"off", "zstd"}) {
    SCOPED_TRACE(compression);
    std::filesystem::remove(path());
    create({.properties = {{"compression", compression}}})->close();
    std::string expect = random_bytes(3 << 20, 21);
    std::fill(expect.begin() + (1 << 20) + 333, expect.begin() + (2 << 20) - 77, '\0');  // the hole
    {
      auto pool = open();
      auto fs = must(pool->dataset());
      auto f = must(fs->open("/big", OpenFlags::Write | OpenFlags::Create));
      ASSERT_OK(f->pwrite(std::string_view(expect).substr(0, (1 << 20) + 333), 0));
      const std::uint64_t tail = (2 << 20) - 77;
      ASSERT_OK(f->pwrite(std::string_view(expect).substr(tail), tail));
      ASSERT_OK(f->close());
      ASSERT_OK(pool->close());
    }
    auto pool = open();
    auto fs = must(pool->dataset());
    auto f = must(fs->open("/big", OpenFlags::Read));
    const std::pair<std::uint64_t, std::size_t> reads[] = {
        {0, 1 << 20}, {12345, 700'001}, {999'999, 2'500'000}, {(1 << 20) + 100, 300'000}, {0, 4 << 20}};
    for (const auto& [offset, length] : reads) {
      std::string back(length, 'x');
      const std::size_t got = must(f->pread(back, offset));
      ASSERT_EQ(got, std::min<std::uint64_t>(length, expect.size() - offset));
      EXPECT_TRUE(std::string_view(back).substr(0, got) == std::string_view(expect).substr(offset, got))
          << "read of " << length << " at " << offset;
    }
    ASSERT_OK(pool->close());
  }
}

TEST_F(PoolTest, TheDefaultCacheIsASixteenthOfMemoryWithinItsBounds) {
  create()->close();
  auto pool = open();
  const std::uint64_t capacity = must(pool->stats()).cache_capacity;
  const std::uint64_t memory = static_cast<std::uint64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGE_SIZE);
  EXPECT_GE(capacity, 32ull << 20);
  EXPECT_LE(capacity, std::max<std::uint64_t>(memory / 16, 32ull << 20));
  EXPECT_LE(capacity, 4ull << 30);
}

TEST_F(PoolTest, ReflinkSharesChunksAndDivergesSafely) {
  auto pool = create();
  auto fs = must(pool->dataset());
  std::string data = random_bytes(500'000, 3);
  ASSERT_OK(fs->write_file("/orig", data));
  ASSERT_OK(pool->sync());
  auto before = must(pool->stats());
  ASSERT_OK(fs->reflink("/orig", "/copy"));
  EXPECT_EQ(must(pool->stats()).chunk_stored_bytes, before.chunk_stored_bytes);
  auto f = must(fs->open("/copy", OpenFlags::Write));
  ASSERT_OK(f->pwrite("CHANGED", 1000));
  ASSERT_OK(f->close());
  EXPECT_EQ(must(fs->read_file("/orig")), data);
  std::string expected = data;
  expected.replace(1000, 7, "CHANGED");
  EXPECT_EQ(must(fs->read_file("/copy")), expected);
  EXPECT_ERR(fs->reflink("/", "/x"), InvalidArgument);
  EXPECT_ERR(fs->reflink("/orig", "/copy"), Exists);
  auto report = must(pool->verify());
  EXPECT_TRUE(report.ok()) << report.problems.front();
}

// Space comes back by itself (DESIGN.md §4): in a single-file pool a chunk is
// freed in the transaction group that lets go of its last reference, and its
// pages are free inside the pool file for new data; gc finds nothing left.
TEST_F(PoolTest, ChunksNothingReferencesAreFreedWhenTheirGroupCommits) {
  auto pool = create();
  auto fs = must(pool->dataset());
  ASSERT_OK(fs->write_file("/keep", random_bytes(200'000, 1)));
  ASSERT_OK(fs->write_file("/drop", random_bytes(200'000, 2)));
  ASSERT_OK(pool->sync());
  auto full = must(pool->stats());
  ASSERT_OK(fs->remove("/drop"));
  ASSERT_OK(pool->sync());
  auto after = must(pool->stats());
  EXPECT_LT(after.chunks, full.chunks);
  EXPECT_EQ(after.unreferenced_chunks, 0u);
  EXPECT_GT(after.free_bytes, 150'000u);
  auto gc = must(pool->gc({.grace_seconds = 0}));
  EXPECT_EQ(gc.chunks_removed, 0u);
  EXPECT_EQ(gc.chunks_waiting, 0u);
  EXPECT_EQ(must(fs->read_file("/keep")).size(), 200'000u);
  EXPECT_TRUE(must(pool->verify()).ok());
}

TEST_F(PoolTest, ARemovedChunkComesBackWhenItsContentIsWrittenAgain) {
  auto pool = create();
  auto fs = must(pool->dataset());
  std::string data = random_bytes(100'000, 9);
  ASSERT_OK(fs->write_file("/f", data));
  ASSERT_OK(fs->remove("/f"));
  ASSERT_OK(pool->sync());
  ASSERT_OK(fs->write_file("/g", data));  // refcount back from 0 before gc ran
  auto gc = must(pool->gc({.grace_seconds = 0}));
  EXPECT_EQ(gc.chunks_removed, 0u);
  EXPECT_EQ(must(fs->read_file("/g")), data);
  EXPECT_TRUE(must(pool->verify()).ok());
}

// Issue 14 item 6: a cleanly closed pool on a read-only file system could not
// be read ("PRAGMA application_id: unable to open database file"): SQLite
// wants to create the -shm file beside it. Made here on a small tmpfs
// remounted read-only (root only).
TEST_F(PoolTest, APoolOnAReadOnlyFileSystemOpensForReading) {
  const std::string mnt = dir_.str() + "/ro";
  ASSERT_EQ(::mkdir(mnt.c_str(), 0755), 0);
  if (::mount("anyfs-test", mnt.c_str(), "tmpfs", 0, "size=16m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here (not root): " << std::strerror(errno);
  struct Unmount {
    std::string at;
    ~Unmount() { ::umount2(at.c_str(), MNT_DETACH); }
  } unmount{mnt};
  const std::string pool_path = mnt + "/p.anyfs";
  {
    auto pool = must(Pool::create(pool_path));
    ASSERT_OK(must(pool->dataset())->write_file("/f", "kept"));
    ASSERT_OK(pool->close());
  }
  ASSERT_EQ(::mount(nullptr, mnt.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr), 0) << std::strerror(errno);
  auto pool = Pool::open(pool_path, {.read_only = true});
  ASSERT_TRUE(pool.has_value()) << pool.error().to_string();
  EXPECT_EQ(must(must((*pool)->dataset())->read_file("/f")), "kept");
  EXPECT_TRUE(must((*pool)->verify()).ok());
  EXPECT_ERR(Pool::open(pool_path), ReadOnly);
}

// The same for a reader that may read the pool but not write its directory
// (a pool in a root-owned directory read by nobody): "attempt to write a
// readonly database". And when the log holds commits such a reader cannot
// follow, the error says why instead of naming a PRAGMA.
TEST_F(PoolTest, APoolInADirectoryTheReaderCannotWriteOpensForReading) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to read as another user";
  const std::string dir = dir_.str() + "/shared";
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(dir_.str().c_str(), 0755), 0);
  const std::string pool_path = dir + "/p.anyfs";
  {
    auto pool = must(Pool::create(pool_path));
    ASSERT_OK(must(pool->dataset())->write_file("/f", "kept"));
    ASSERT_OK(pool->close());
  }
  // In a child as nobody: 0 read right, 2 refused as expected, others failures.
  auto as_nobody = [&](bool expect_refusal) {
    pid_t child = fork();
    if (child == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(10);
      auto pool = Pool::open(pool_path, {.read_only = true});
      if (!pool) {
        const std::string why = pool.error().to_string();
        std::fprintf(stderr, "%s\n", why.c_str());
        _exit(expect_refusal && why.find("-shm") != std::string::npos && why.find("PRAGMA") == std::string::npos
                  ? 2 : 11);
      }
      auto data = (*pool)->dataset().value()->read_file("/f");
      _exit(data && *data == "kept" && (*pool)->verify().value().ok() ? 0 : 12);
    }
    int status = 0;
    waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
  };
  EXPECT_EQ(as_nobody(false), 0);
  EXPECT_FALSE(std::filesystem::exists(pool_path + "-shm"));
  // A writer that dies leaves its commits in the log; without the -shm file
  // (a copy of the pool and its log) nobody can read them.
  pid_t child = fork();
  if (child == 0) {
    auto pool = Pool::open(pool_path);
    if (!pool) _exit(1);
    (void)(*pool)->dataset().value()->write_file("/g", "in the log");
    (void)(*pool)->sync();
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::filesystem::remove(pool_path + "-shm");
  EXPECT_EQ(as_nobody(true), 2);
}

TEST_F(PoolTest, AnOpenUnlinkedFileIsRemovedOnReopenAfterACrash) {
  {
    auto pool = create();
    ASSERT_OK(must(pool->dataset())->write_file("/f", random_bytes(100'000, 4)));
  }
  pid_t child = fork();
  if (child == 0) {
    auto pool = Pool::open(path());
    auto fs = *pool.value()->dataset();
    auto handle = fs->open("/f", OpenFlags::Read);
    (void)fs->remove("/f");
    (void)pool.value()->sync();
    _exit(handle ? 0 : 1);  // no close: a crash with the file still open
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  auto pool = open();
  auto report = must(pool->verify());
  EXPECT_TRUE(report.ok()) << report.problems.front();
  EXPECT_EQ(report.inodes, 1u);  // only the root is left
  EXPECT_EQ(must(pool->stats()).chunks, 0u);  // its chunks went with it
  EXPECT_EQ(must(pool->gc({.grace_seconds = 0})).chunks_removed, 0u);
}

TEST_F(PoolTest, LargeFilesWrittenInPiecesReadBackExactly) {
  auto pool = create();
  auto fs = must(pool->dataset());
  auto f = must(fs->open("/big", OpenFlags::Write | OpenFlags::Create));
  std::string expected;
  for (int i = 0; i < 96; ++i) {  // 96 MiB: past the dirty-data limit, so flushes happen mid-file
    std::string piece = random_bytes(1 << 20, i);
    ASSERT_OK(f->pwrite(piece, expected.size()));
    expected += piece;
  }
  ASSERT_OK(f->fsync());
  ASSERT_OK(f->close());
  EXPECT_EQ(must(fs->read_file("/big")), expected);
  auto report = must(pool->verify({.read_chunks = false}));
  EXPECT_TRUE(report.ok()) << report.problems.front();
  // Content-defined cuts do not depend on where the buffer was flushed: the
  // same bytes written in one go produce the same chunks (nothing new stored).
  auto before = must(pool->stats());
  ASSERT_OK(fs->write_file("/again", expected));
  ASSERT_OK(pool->sync());
  EXPECT_EQ(must(pool->stats()).chunks, before.chunks);
}

TEST_F(PoolTest, PropertiesAreCheckedStoredAndListed) {
  auto pool = create();
  EXPECT_EQ(must(pool->get_property("", "compression")), "zstd-3");
  ASSERT_OK(pool->set_property("", "compression", "zstd-5"));
  ASSERT_OK(pool->set_property("", "recordsize", "128K"));
  EXPECT_ERR(pool->set_property("", "compression", "gzip"), InvalidArgument);
  EXPECT_ERR(pool->set_property("", "recordsize", "3000"), InvalidArgument);
  EXPECT_ERR(pool->set_property("", "colour", "blue"), InvalidArgument);
  EXPECT_ERR(pool->set_property("nope", "sync", "always"), NotFound);
  ASSERT_OK(pool->close());
  auto reopened = open();
  EXPECT_EQ(must(reopened->get_property("", "compression")), "zstd-5");
  bool found = false;
  for (auto& p : must(reopened->properties("")))
    if (p.name == "recordsize") {
      EXPECT_EQ(p.value, "128K");
      EXPECT_EQ(p.source, "local");
      found = true;
    } else if (p.name == "sync") {
      EXPECT_EQ(p.source, "default");
    }
  EXPECT_TRUE(found);
}

TEST_F(PoolTest, SyncAlwaysMakesEveryOperationDurableAtOnce) {
  auto pool = create({.properties = {{"sync", "always"}}});
  ASSERT_OK(must(pool->dataset())->write_file("/f", "now"));
  // A reader sees it without any sync: it was committed by the write itself.
  auto reader = open(/*read_only=*/true);
  EXPECT_EQ(must(must(reader->dataset())->read_file("/f")), "now");
}

TEST_F(PoolTest, TheTimerCommitsWithoutSync) {
  auto pool = create({.properties = {{"txg_timeout", "1"}}});
  ASSERT_OK(must(pool->dataset())->write_file("/f", "later"));
  auto reader = open(/*read_only=*/true);
  auto view = must(reader->dataset());
  bool seen = false;
  for (int i = 0; i < 50 && !seen; ++i) {
    seen = view->read_file("/f").has_value();
    if (!seen) usleep(100'000);
  }
  EXPECT_TRUE(seen);
}

TEST_F(PoolTest, AfterCloseEveryCallFailsCleanly) {
  auto pool = create();
  auto fs = must(pool->dataset());
  auto handle = must(fs->open("/f", OpenFlags::Write | OpenFlags::Create));
  ASSERT_OK(pool->close());
  EXPECT_ERR(fs->stat("/"), BadHandle);
  EXPECT_ERR(handle->pwrite("x", 0), BadHandle);
  EXPECT_ERR(pool->sync(), BadHandle);
}

}  // namespace
}  // namespace anyfs::testing

namespace anyfs::testing {
namespace {

// checksum=verify checks each chunk's content against its SHA-256 id on every
// read: it catches a chunk whose stored bytes were replaced together with their
// XXH3 (which the always-on check cannot see).
TEST_F(PoolTest, ChecksumVerifyCatchesContentThatNoLongerMatchesItsId) {
  {
    auto pool = create({.properties = {{"compression", "off"}, {"checksum", "verify"}}});
    ASSERT_OK(must(pool->dataset())->write_file("/f", std::string(5000, 'a')));
  }
  raw_sql(path(), "UPDATE chunks SET data = x'" + std::string(10000, '0') + "', checksum = " +
                      std::to_string(static_cast<std::int64_t>(xxh3(std::string(5000, '\0')))));
  {
    auto pool = open();
    auto read = must(pool->dataset())->read_file("/f");
    ASSERT_ERR(read, Corrupt);
    EXPECT_NE(read.error().message.find("does not match its id"), std::string::npos) << read.error().to_string();
    ASSERT_OK(pool->set_property("", "checksum", "on"));
  }
  // With checksum=on the forged bytes pass the stored-bytes check: verify still finds them.
  auto pool = open();
  auto report = must(pool->verify());
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.problems.front().find("does not match its id"), std::string::npos) << report.problems.front();
}

}  // namespace
}  // namespace anyfs::testing
