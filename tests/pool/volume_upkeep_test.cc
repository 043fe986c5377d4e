// The upkeep of a pool of volumes through the C++ API (issue 17): a read
// that meets a bad mirror copy rewrites it and counts it; scrub checks every
// copy, repairs from good ones, names what no good copy holds, and resumes
// where it was paused; a volume drains onto the others (remove), onto a named
// file (move), or from the other copies when it is gone (replace) — while the
// pool is written — resumably, and can be put back (abort).
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
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

class VolumeUpkeepTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name = "p.anyfs") const { return dir_.str() + "/" + name; }
  std::shared_ptr<Pool> create(std::vector<VolumeSpec> volumes, std::string placement) {
    PoolCreateOptions o;
    o.volumes = std::move(volumes);
    o.properties = {{"placement", placement}, {"compression", "off"}};
    return must(Pool::create(path(), o));
  }
  std::shared_ptr<Pool> open() {
    PoolOpenOptions o;
    o.cache_bytes = 0;  // every read reaches the volumes
    return must(Pool::open(path(), o));
  }
  std::int64_t chunks_on(const std::string& volume) { return raw_sql_int(path(volume), "SELECT count(*) FROM chunks"); }
  TempDir dir_;
};

TEST_F(VolumeUpkeepTest, AReadOfABadMirrorCopyRewritesItFromTheGoodOneAndCountsIt) {
  const std::string data = random_bytes(1 << 20, 1);
  {
    auto pool = create({{path("a.vol")}, {path("b.vol")}}, "mirror=2");
    ASSERT_OK(must(pool->dataset())->write_file("/f", data));
    ASSERT_OK(pool->close());
  }
  const auto chunks = chunks_on("a.vol");
  ASSERT_GT(chunks, 0);
  raw_sql(path("a.vol"), "UPDATE chunks SET data = randomblob(length(data))");
  {
    auto pool = open();
    EXPECT_TRUE(must(must(pool->dataset())->read_file("/f")) == data);
    ASSERT_OK(pool->sync());  // the rewrite goes with the next commit
    const auto volumes = must(pool->volumes());
    EXPECT_EQ(volumes[0].checksum_errors, static_cast<std::uint64_t>(chunks));
    EXPECT_EQ(volumes[0].repaired, static_cast<std::uint64_t>(chunks));
    EXPECT_EQ(volumes[1].checksum_errors, 0u);
    ASSERT_OK(pool->close());
  }
  // Healed: the other copy can rot now and the file still reads.
  raw_sql(path("b.vol"), "UPDATE chunks SET data = randomblob(length(data))");
  auto pool = open();
  EXPECT_TRUE(must(must(pool->dataset())->read_file("/f")) == data);
  // The counts were kept in the pool.
  EXPECT_EQ(must(pool->volumes())[0].repaired, static_cast<std::uint64_t>(chunks));
}

TEST_F(VolumeUpkeepTest, ScrubRepairsEveryBadCopyFromAGoodOne) {
  const std::string data = random_bytes(3 << 20, 2);
  {
    auto pool = create({{path("a.vol")}, {path("b.vol")}, {path("c.vol")}}, "mirror=2");
    ASSERT_OK(must(pool->dataset())->write_file("/f", data));
    ASSERT_OK(pool->close());
  }
  raw_sql(path("a.vol"), "UPDATE chunks SET data = randomblob(length(data)) WHERE id % 2 = 0");
  // Copies gone on c (read errors), of chunks whose other copy is sound.
  raw_sql(path("c.vol"), "ATTACH '" + path("a.vol") +
                             "' AS a; DELETE FROM chunks WHERE id % 3 = 0 AND hash NOT IN (SELECT hash FROM a.chunks)");
  const auto rotted = raw_sql_int(path("a.vol"), "SELECT count(*) FROM chunks WHERE id % 2 = 0");
  ASSERT_GT(rotted, 0);
  auto pool = open();
  const ScrubReport report = must(pool->scrub());
  EXPECT_EQ(report.state, "finished");
  EXPECT_GE(report.bad_copies, static_cast<std::uint64_t>(rotted) + 1);
  EXPECT_EQ(report.repaired, report.bad_copies);
  EXPECT_EQ(report.lost, 0u);
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.chunks_done, report.chunks_total);
  EXPECT_GT(report.bytes_read, data.size());  // both copies, less those deleted
  // A second scrub finds nothing.
  const ScrubReport again = must(pool->scrub());
  EXPECT_EQ(again.bad_copies, 0u);
  EXPECT_FALSE(again.resumed);
  ASSERT_OK(pool->close());
  // Every copy good: any single volume may rot now.
  raw_sql(path("b.vol"), "UPDATE chunks SET data = randomblob(length(data))");
  auto reopened = open();
  EXPECT_TRUE(must(must(reopened->dataset())->read_file("/f")) == data);
}

// Rot in a volume's own pages (their checksums fail) on a mirror of two: a
// read goes around it, but the copy can be neither rewritten there (SQLite
// must read the damaged pages to replace the row) nor moved (the only other
// volume holds the other copy). Scrub says so, naming the volume; `volume
// replace` rebuilds it from the other copies.
TEST_F(VolumeUpkeepTest, PageRotOnATwoWayMirrorIsReadAroundAndAReplaceRebuildsTheVolume) {
  const std::string data = random_bytes(4 << 20, 14);
  {
    auto pool = create({{path("a.vol")}, {path("b.vol")}}, "mirror=2");
    ASSERT_OK(must(pool->dataset())->write_file("/f", data));
    ASSERT_OK(pool->close());
  }
  {
    // Bytes in the middle of a.vol's chunk pages, the file itself written over.
    std::fstream f(path("a.vol"), std::ios::in | std::ios::out | std::ios::binary);
    const auto size = std::filesystem::file_size(path("a.vol"));
    for (double at : {0.3, 0.5, 0.7}) {
      f.seekp(static_cast<std::streamoff>(static_cast<double>(size) * at));
      f.write("\xde\xad\xbe\xef", 4);
    }
  }
  auto pool = open();
  EXPECT_TRUE(must(must(pool->dataset())->read_file("/f")) == data);
  const ScrubReport report = must(pool->scrub());
  EXPECT_GE(report.bad_copies, 1u);
  EXPECT_EQ(report.lost, 0u);
  EXPECT_LT(report.repaired, report.bad_copies);
  ASSERT_EQ(report.unrepaired_volumes, std::vector<std::string>{path("a.vol")});
  const EvacuationReport replaced = must(pool->remove_volume(path("a.vol"), {.to = path("c.vol")}));
  EXPECT_EQ(replaced.state, "removed");
  const ScrubReport clean = must(pool->scrub({.restart = true}));
  EXPECT_EQ(clean.bad_copies, 0u);
  ASSERT_OK(pool->close());
  raw_sql(path("b.vol"), "UPDATE chunks SET data = randomblob(length(data))");
  auto reopened = open();
  EXPECT_TRUE(must(must(reopened->dataset())->read_file("/f")) == data);
}

TEST_F(VolumeUpkeepTest, ScrubNamesTheFilesWhoseOnlyCopyRotted) {
  std::int64_t bad_until = 0;
  {
    auto pool = create({{path("a.vol")}}, "linear");
    ASSERT_OK(pool->create_dataset("home"));
    ASSERT_OK(must(pool->dataset("home"))->mkdirs("/docs"));
    ASSERT_OK(must(pool->dataset("home"))->write_file("/docs/bad", random_bytes(200'000, 3)));
    ASSERT_OK(pool->sync());
    bad_until = chunks_on("a.vol");
    ASSERT_OK(must(pool->dataset())->write_file("/good", random_bytes(200'000, 4)));
    ASSERT_OK(pool->close());
  }
  raw_sql(path("a.vol"), "UPDATE chunks SET data = randomblob(length(data)) WHERE id <= " + std::to_string(bad_until));
  auto pool = open();
  const ScrubReport report = must(pool->scrub());
  EXPECT_EQ(report.lost, static_cast<std::uint64_t>(bad_until));
  EXPECT_EQ(report.repaired, 0u);
  EXPECT_FALSE(report.ok());
  ASSERT_EQ(report.damaged.size(), 1u);
  EXPECT_EQ(report.damaged[0], "home:/docs/bad");
  EXPECT_EQ(must(pool->health()).scrub->lost, static_cast<std::uint64_t>(bad_until));
}

TEST_F(VolumeUpkeepTest, ScrubOfASingleFilePoolNamesARottedChunk) {
  {
    PoolCreateOptions o;
    o.properties = {{"compression", "off"}};
    auto pool = must(Pool::create(path(), o));
    ASSERT_OK(must(pool->dataset())->write_file("/f", random_bytes(100'000, 5)));
    ASSERT_OK(pool->close());
  }
  raw_sql(path(), "UPDATE chunks SET data = randomblob(length(data))");
  auto pool = open();
  const ScrubReport report = must(pool->scrub());
  EXPECT_EQ(report.lost, report.chunks_total);
  ASSERT_EQ(report.damaged.size(), 1u);
  EXPECT_EQ(report.damaged[0], "/f");
}

TEST_F(VolumeUpkeepTest, APausedScrubResumesWhereItStopped) {
  {
    auto pool = create({{path("a.vol")}, {path("b.vol")}}, "mirror=2");
    ASSERT_OK(must(pool->dataset())->write_file("/f", random_bytes(40 << 20, 6)));
    ASSERT_OK(pool->close());
  }
  std::uint64_t first_done = 0;
  {
    auto pool = open();
    std::atomic<int> stop{k_go_on};
    ScrubOptions o;
    o.stop = &stop;
    o.progress = [&](const ScrubReport&) { stop = k_pause; };
    const ScrubReport paused = must(pool->scrub(o));
    EXPECT_EQ(paused.state, "paused");
    EXPECT_GT(paused.chunks_done, 0u);
    EXPECT_LT(paused.chunks_done, paused.chunks_total);
    first_done = paused.chunks_done;
    EXPECT_EQ(must(pool->health()).scrub->state, "paused");
    ASSERT_OK(pool->close());
  }
  auto pool = open();
  std::uint64_t first_seen = 0;
  ScrubOptions o;
  o.progress = [&](const ScrubReport& r) {
    if (first_seen == 0) first_seen = r.chunks_done;
  };
  const ScrubReport done = must(pool->scrub(o));
  EXPECT_TRUE(done.resumed);
  EXPECT_EQ(done.state, "finished");
  EXPECT_EQ(done.chunks_done, done.chunks_total);
  EXPECT_GT(first_seen, first_done);  // went on from there, not from the start
  // Cancel forgets: the next scrub starts over.
  EXPECT_ERR(pool->stop_scrub(true), NotFound);
  const ScrubReport fresh = must(pool->scrub());
  EXPECT_FALSE(fresh.resumed);
}

TEST_F(VolumeUpkeepTest, RemoveDrainsAVolumeOntoTheOthersWhileThePoolIsWrittenThenDeletesIt) {
  const std::string data = random_bytes(40 << 20, 7);
  auto pool = create({{path("a.vol")}, {path("b.vol")}, {path("c.vol")}}, "stripe");
  auto fs = must(pool->dataset());
  ASSERT_OK(fs->write_file("/f", data));
  ASSERT_OK(pool->sync());
  const auto on_b = must(pool->volumes())[1].chunks;
  ASSERT_GT(on_b, 0u);
  // Written while it drains: nothing of it may land on b.
  int written = 0;
  RemoveVolumeOptions o;
  o.progress = [&](const EvacuationReport& r) {
    EXPECT_EQ(r.state, "");
    ++written;
    ASSERT_OK(fs->write_file("/during" + std::to_string(written), random_bytes(2 << 20, 100 + written)));
    ASSERT_OK(pool->sync());
  };
  const EvacuationReport report = must(pool->remove_volume(path("b.vol"), o));
  EXPECT_EQ(report.state, "removed");
  EXPECT_EQ(report.chunks_moved, on_b);
  EXPECT_EQ(report.chunks_left, 0u);
  EXPECT_GT(written, 0);
  EXPECT_FALSE(std::filesystem::exists(path("b.vol")));
  const auto volumes = must(pool->volumes());
  ASSERT_EQ(volumes.size(), 2u);
  EXPECT_EQ(volumes[0].path, path("a.vol"));
  EXPECT_EQ(volumes[1].path, path("c.vol"));
  EXPECT_TRUE(must(fs->read_file("/f")) == data);
  EXPECT_TRUE(must(pool->verify()).ok());
  ASSERT_OK(pool->close());
  auto reopened = open();
  EXPECT_EQ(must(reopened->health()).state, "ONLINE");
  EXPECT_TRUE(must(must(reopened->dataset())->read_file("/f")) == data);
  EXPECT_EQ(must(reopened->gc({.grace_seconds = 0})).orphans_removed, 0u);
}

TEST_F(VolumeUpkeepTest, AStoppedDrainResumesAndAnAbortedOnePutsTheVolumeBack) {
  const std::string data = random_bytes(40 << 20, 8);
  {
    auto pool = create({{path("a.vol")}, {path("b.vol")}}, "stripe");
    ASSERT_OK(must(pool->dataset())->write_file("/f", data));
    std::atomic<int> stop{k_go_on};
    RemoveVolumeOptions o;
    o.stop = &stop;
    o.progress = [&](const EvacuationReport&) { stop = k_pause; };
    const EvacuationReport stopped = must(pool->remove_volume(path("b.vol"), o));
    EXPECT_EQ(stopped.state, "stopped");
    EXPECT_GT(stopped.chunks_left, 0u);
    EXPECT_EQ(must(pool->volumes())[1].state, "draining");
    const PoolHealth h = must(pool->health());
    ASSERT_TRUE(h.evacuation.has_value());
    EXPECT_EQ(h.evacuation->path, path("b.vol"));
    ASSERT_OK(pool->close());
  }
  {
    // Still draining after a reopen: new chunks go to a only.
    auto pool = open();
    EXPECT_EQ(must(pool->volumes())[1].state, "draining");
    const auto before = must(pool->volumes())[1].chunks;
    ASSERT_OK(must(pool->dataset())->write_file("/g", random_bytes(4 << 20, 9)));
    ASSERT_OK(pool->sync());
    EXPECT_EQ(must(pool->volumes())[1].chunks, before);
    const EvacuationReport aborted = must(pool->remove_volume(path("b.vol"), {.abort = true}));
    EXPECT_EQ(aborted.state, "aborted");
    EXPECT_EQ(must(pool->volumes())[1].state, "online");
    EXPECT_FALSE(must(pool->health()).evacuation.has_value());
    EXPECT_TRUE(must(must(pool->dataset())->read_file("/f")) == data);
    // Resumed from scratch, it runs to the end.
    const EvacuationReport done = must(pool->remove_volume(path("b.vol")));
    EXPECT_EQ(done.state, "removed");
    EXPECT_TRUE(must(pool->verify()).ok());
    ASSERT_OK(pool->close());
  }
  auto pool = open();
  EXPECT_EQ(must(pool->volumes()).size(), 1u);
  EXPECT_TRUE(must(must(pool->dataset())->read_file("/f")) == data);
  // The chunks moved before the abort left unnamed copies on b; gone with its file.
  EXPECT_FALSE(std::filesystem::exists(path("b.vol")));
}

TEST_F(VolumeUpkeepTest, MoveDrainsOntoANewFileOnly) {
  const std::string data = random_bytes(3 << 20, 10);
  auto pool = create({{path("a.vol")}, {path("b.vol")}}, "linear");
  ASSERT_OK(must(pool->dataset())->write_file("/f", data));
  ASSERT_OK(pool->sync());
  const auto on_a = must(pool->volumes())[0].chunks;
  const EvacuationReport report = must(pool->remove_volume(path("a.vol"), {.to = path("n.vol")}));
  EXPECT_EQ(report.state, "removed");
  EXPECT_EQ(report.onto, path("n.vol"));
  const auto volumes = must(pool->volumes());
  ASSERT_EQ(volumes.size(), 2u);
  EXPECT_EQ(volumes[0].path, path("b.vol"));
  EXPECT_EQ(volumes[0].chunks, 0u);
  EXPECT_EQ(volumes[1].path, path("n.vol"));
  EXPECT_EQ(volumes[1].chunks, on_a);
  EXPECT_TRUE(must(must(pool->dataset())->read_file("/f")) == data);
}

TEST_F(VolumeUpkeepTest, ReplaceRebuildsAMissingMirrorVolumeFromTheOtherCopies) {
  const std::string data = random_bytes(3 << 20, 11);
  {
    auto pool = create({{path("a.vol")}, {path("b.vol")}, {path("c.vol")}}, "mirror=2");
    ASSERT_OK(must(pool->dataset())->write_file("/f", data));
    ASSERT_OK(pool->close());
  }
  std::filesystem::remove(path("c.vol"));
  auto pool = open();
  EXPECT_EQ(must(pool->health()).state, "DEGRADED");
  const auto on_c = must(pool->volumes())[2].chunks;
  const EvacuationReport report = must(pool->remove_volume(path("c.vol"), {.to = path("d.vol")}));
  EXPECT_EQ(report.state, "removed");
  EXPECT_EQ(report.chunks_moved, on_c);
  const PoolHealth h = must(pool->health());
  EXPECT_EQ(h.state, "ONLINE");
  ASSERT_EQ(h.volumes.size(), 3u);
  EXPECT_EQ(h.volumes[2].path, path("d.vol"));
  EXPECT_EQ(h.volumes[2].chunks, on_c);
  ASSERT_OK(pool->close());
  // Two copies of everything again: a and b may rot in turn.
  raw_sql(path("a.vol"), "UPDATE chunks SET data = randomblob(length(data))");
  auto reopened = open();
  EXPECT_TRUE(must(must(reopened->dataset())->read_file("/f")) == data);
  EXPECT_TRUE(must(reopened->scrub()).ok());
}

TEST_F(VolumeUpkeepTest, ADrainWithNowhereToGoIsNoSpaceAndTheVolumeStaysDraining) {
  auto pool = create({{path("a.vol")}, {path("b.vol"), 1 << 20}}, "linear");
  ASSERT_OK(must(pool->dataset())->write_file("/f", random_bytes(3 << 20, 12)));
  ASSERT_OK(pool->sync());
  auto removed = pool->remove_volume(path("a.vol"));
  ASSERT_ERR(removed, NoSpace);
  EXPECT_EQ(must(pool->volumes())[0].state, "draining");
  EXPECT_ERR(pool->remove_volume(path("nope.vol")), NotFound);
  const EvacuationReport aborted = must(pool->remove_volume(path("a.vol"), {.abort = true}));
  EXPECT_EQ(aborted.state, "aborted");
  EXPECT_TRUE(must(pool->verify()).ok());
}

// LVM's pvmove promise: a drain killed (SIGKILL) at random points, twenty
// times, each time while files are written beside it, resumes and finishes;
// every file reads back, verify passes, and the drained volume's file goes.
TEST_F(VolumeUpkeepTest, ADrainKilledTwentyTimesAtRandomPointsResumesAndFinishes) {
  std::map<std::string, std::string> files;
  {
    auto pool = create({{path("a.vol")}, {path("b.vol")}, {path("c.vol")}}, "stripe");
    auto fs = must(pool->dataset());
    for (int i = 0; i < 12; ++i) {
      files["/f" + std::to_string(i)] = random_bytes(2 << 20, 200 + i);
      ASSERT_OK(fs->write_file("/f" + std::to_string(i), files["/f" + std::to_string(i)]));
    }
    ASSERT_OK(pool->close());
  }
  std::mt19937_64 rng(42);
  int killed = 0;
  for (int round = 0; killed < 20 && round < 200; ++round) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      // Drains b in small steps, writing a file between them (synced: it must survive).
      auto pool = Pool::open(path(), {});
      if (!pool) ::_exit(3);
      auto fs = (*pool)->dataset();
      int n = 0;
      RemoveVolumeOptions o;
      o.step_bytes = 128 << 10;
      o.progress = [&](const EvacuationReport&) {
        (void)(*fs)->write_file("/w" + std::to_string(round) + "-" + std::to_string(n++), random_bytes(100'000, round));
        (void)(*pool)->sync();
      };
      auto r = (*pool)->remove_volume(path("b.vol"), o);
      // NotFound: a child killed just after its drain dropped the volume finished it.
      if (!r && r.error().code != Errc::NotFound) fprintf(stderr, "child: %s\n", r.error().to_string().c_str());
      ::_exit(r || r.error().code == Errc::NotFound ? 0 : 4);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(2000 + rng() % 40000));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    if (WIFSIGNALED(status)) {
      ++killed;
    } else {
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "round " << round << ": " << status;
      break;  // it finished before the kill
    }
    // After each kill: the pool opens, verifies, and every file reads back.
    auto pool = open();
    ASSERT_TRUE(must(pool->verify()).ok()) << "round " << round;
    auto fs = must(pool->dataset());
    for (const auto& [name, data] : files) ASSERT_TRUE(must(fs->read_file(name)) == data) << name;
    for (const auto& e : must(fs->read_dir("/"))) ASSERT_OK(fs->read_file("/" + e.name));
    ASSERT_OK(pool->close());
  }
  EXPECT_GE(killed, 10);
  auto pool = open();
  auto finished = pool->remove_volume(path("b.vol"));
  if (finished) EXPECT_EQ(finished->state, "removed");
  else ASSERT_ERR(finished, NotFound);  // the last child finished it
  EXPECT_EQ(must(pool->volumes()).size(), 2u);
  EXPECT_FALSE(std::filesystem::exists(path("b.vol")));
  ASSERT_OK(pool->gc({.grace_seconds = 0}));
  EXPECT_TRUE(must(pool->verify()).ok());
  auto fs = must(pool->dataset());
  for (const auto& [name, data] : files) EXPECT_TRUE(must(fs->read_file(name)) == data) << name;
}

}  // namespace
}  // namespace anyfs::testing
