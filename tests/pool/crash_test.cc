// Power cuts (DESIGN.md §4): a mixed workload runs on a pool opened through the
// fault VFS; power is cut at every sync point in turn (and, in torn mode, with a
// random part of the unsynced writes surviving). After each cut the pool is
// reopened normally and must pass verify, and hold exactly the state of the
// last sync that returned — or of the sync that was under way when power went,
// since its commit may have reached the disk just before the cut.
//
// ANYFS_CRASH_SEEDS=N runs N workloads of each kind (defaults 5, 3 and 2).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <set>

#include "anyfs/pool.h"
#include "fs/path.h"
#include "support/fault_vfs.h"
#include "support/random_tree.h"
#include "support/raw_sql.h"
#include "support/seeds.h"
#include "support/result_matchers.h"
#include "support/temp_dir.h"
#include "support/workloads.h"

namespace anyfs::testing {
namespace {

// The file workloads of `seed` (tests/support/workloads.h). In the large one,
// gc is a sync point of its own.
FileOutcome run_workload(const std::string& pool_path, std::uint64_t seed) {
  return run_file_workload(pool_path, seed, Workload::SmallFiles);
}
FileOutcome run_big_workload(const std::string& pool_path, std::uint64_t seed) {
  return run_file_workload(pool_path, seed, Workload::LargeFiles);
}

// ANYFS_CRASH_SEEDS, else `default_seeds`.
int crash_seeds(int default_seeds) {
  return std::getenv("ANYFS_CRASH_SEEDS") ? std::atoi(std::getenv("ANYFS_CRASH_SEEDS")) : default_seeds;
}

class CrashTest : public ::testing::Test {
 protected:
  std::string fresh_pool() {
    std::string p = dir_.str() + "/crash" + std::to_string(++count_) + ".anyfs";
    PoolCreateOptions options{.properties = {{"txg_timeout", "600"}, {"recordsize", "16K"}}};
    // A pool of volume files when a test asks for one (every file's sync points are cut then).
    for (int v = 0; v < volumes_; ++v) options.volumes.push_back({p + ".v" + std::to_string(v), 0});
    if (!placement_.empty()) options.properties.emplace_back("placement", placement_);
    auto pool = Pool::create(p, options);
    EXPECT_TRUE(pool.has_value());
    if (pool) (void)(*pool)->close();
    return p;
  }
  // Runs `run(pool_path, seed)` whole for each seed (ANYFS_CRASH_SEEDS, else
  // `default_seeds`), then again cut at each of its sync points, clean and torn,
  // and calls check(pool_path, outcome, where) after each cut. A run whose power
  // was never cut (it went through fewer syncs) is skipped when `may_end_early`,
  // a failure otherwise. Returns the cuts exercised.
  template <class Run, class Check>
  std::uint64_t cut_at_every_sync(int default_seeds, bool may_end_early, Run run, Check check) {
    int seeds = crash_seeds(default_seeds);
    FaultVfs& vfs = FaultVfs::get();
    std::uint64_t cut_points = 0;
    for (std::uint64_t seed = seed_base() + 1; seed <= seed_base() + static_cast<std::uint64_t>(seeds); ++seed) {
      vfs.reset();
      auto full = run(fresh_pool(), seed);
      EXPECT_GT(full.syncs, 10u);
      for (std::uint64_t n = 1; n <= full.syncs && !past_deadline(); ++n) {
        for (bool torn : {false, true}) {
          std::string pool_path = fresh_pool();
          vfs.reset();
          vfs.cut_at_sync(n, torn, seed * 1000 + n);
          auto cut = run(pool_path, seed);
          std::string where = "seed " + std::to_string(seed) + " cut " + std::to_string(n) + (torn ? " torn" : "");
          if (!vfs.power_lost()) {
            EXPECT_TRUE(may_end_early) << where << ": the run ended before the cut";
            continue;
          }
          vfs.reset();
          cut_points++;
          check(pool_path, cut, where);
          if (::testing::Test::HasFatalFailure()) return cut_points;
        }
      }
    }
    std::cout << "power cuts exercised: " << cut_points << "\n";
    return cut_points;
  }

  TempDir dir_;
  int count_ = 0;
  int volumes_ = 0;
  std::string placement_;
};

// Opens a pool after a cut, as a user would next; it must open and pass verify.
void reopen_verified(const std::string& pool_path, const std::string& where, std::shared_ptr<Pool>& out) {
  auto pool = Pool::open(pool_path);
  ASSERT_TRUE(pool.has_value()) << where << ": " << pool.error().to_string();
  auto report = (*pool)->verify();
  ASSERT_TRUE(report.has_value());
  ASSERT_TRUE(report->ok()) << where << ": " << report->problems.front();
  out = *pool;
}

// reopen_verified, and the tree it holds must be the last acknowledged sync's
// or the one under way at the cut; `now` gets it.
void reopen_holding(const std::string& pool_path, const FileOutcome& cut, const std::string& where,
                    std::shared_ptr<Pool>& out, Tree& now) {
  reopen_verified(pool_path, where, out);
  if (!out) return;
  ASSERT_OK(read_tree(*out->dataset().value(), "/", now));
  EXPECT_TRUE(now == cut.durable || now == cut.pending)
      << where << "\n got:     " << describe(now) << "\n durable: " << describe(cut.durable)
      << "\n pending: " << describe(cut.pending);
}

// gc, then verify; gc must leave each volume holding exactly the chunks the
// records place on it (rule 3: what a cut left unnamed is swept).
void gc_and_check_volumes(Pool& pool, const std::string& where) {
  ASSERT_OK(pool.gc({.grace_seconds = 0}));
  ASSERT_TRUE(pool.verify()->ok()) << where;
  const std::vector<VolumeStatus> volumes = pool.volumes().value();
  for (const VolumeStatus& v : volumes)
    EXPECT_EQ(raw_sql_int(v.path, "SELECT count(*) FROM chunks"), static_cast<std::int64_t>(v.chunks))
        << where << ": " << v.path;
}

TEST_F(CrashTest, EveryAcknowledgedSyncSurvivesAPowerCutAtEverySyncPoint) {
  auto cuts = cut_at_every_sync(5, false, run_workload, [](const std::string& pool_path, const FileOutcome& cut,
                                                            const std::string& where) {
    std::shared_ptr<Pool> pool;
    Tree now;
    reopen_holding(pool_path, cut, where, pool, now);
    if (!pool) return;
    // Nothing is left for gc but what the cut made unreachable, and gc keeps the tree intact.
    ASSERT_OK(pool->gc({.grace_seconds = 0}));
    ASSERT_TRUE(pool->verify()->ok());
  });
  if (!past_deadline()) {
    EXPECT_GE(cuts, 20u * static_cast<unsigned>(crash_seeds(5)));
  }
}

// The same on a pool of three volume files with every chunk mirrored on two:
// the cuts fall at every sync point of every file — each volume's commits, then
// the pool file's (docs/FORMAT.md, "Volume files"). A cut between a volume's
// commit and the records' leaves chunks on volumes that no record names
// (harmless; gc reclaims them): the tree is the last acknowledged one.
TEST_F(CrashTest, APoolOfThreeMirroredVolumesSurvivesAPowerCutAtEverySyncPointOfEveryFile) {
  volumes_ = 3;
  placement_ = "mirror=2";
  auto cuts = cut_at_every_sync(2, false, run_workload, [](const std::string& pool_path, const FileOutcome& cut,
                                                            const std::string& where) {
    std::shared_ptr<Pool> pool;
    Tree now;
    reopen_holding(pool_path, cut, where, pool, now);
    if (!pool) return;
    ASSERT_EQ(pool->volumes()->size(), 3u) << where;
    gc_and_check_volumes(*pool, where);
  });
  if (!past_deadline()) {
    // Each group commits two volumes at least before the pool file: many more cuts than the single file's.
    EXPECT_GE(cuts, 40u * static_cast<unsigned>(crash_seeds(2)));
  }
}

// A volume drained away (volume remove) while files change, cut at every sync
// point of every file: its steps, the labels of the others, the records that
// drop it. The tree is the last acknowledged one; the drain, run again,
// finishes (or had); gc leaves each remaining volume holding exactly what the
// records place on it.
TEST_F(CrashTest, ADrainOfAVolumeSurvivesAPowerCutAtEverySyncPointOfEveryFile) {
  volumes_ = 3;
  placement_ = "stripe";
  auto run = [](const std::string& pool_path, std::uint64_t seed) {
    return run_drain_workload(pool_path, seed, pool_path + ".v1");
  };
  auto cuts = cut_at_every_sync(1, false, run, [](const std::string& pool_path, const FileOutcome& cut,
                                                  const std::string& where) {
    std::shared_ptr<Pool> pool;
    Tree now;
    reopen_holding(pool_path, cut, where, pool, now);
    if (!pool) return;
    auto drained = pool->remove_volume(pool_path + ".v1");
    if (drained) {
      EXPECT_EQ(drained->state, "removed") << where;
    } else {
      ASSERT_EQ(drained.error().code, Errc::NotFound) << where << ": " << drained.error().to_string();
    }
    const std::vector<VolumeStatus> left = pool->volumes().value();
    ASSERT_EQ(left.size(), 2u) << where;
    gc_and_check_volumes(*pool, where);
    Tree after;
    ASSERT_OK(read_tree(*pool->dataset().value(), "/", after));
    EXPECT_TRUE(after == now) << where << ": the drain changed the tree";
  });
  if (!past_deadline()) {
    EXPECT_GE(cuts, 30u * static_cast<unsigned>(crash_seeds(1)));
  }
}

// The large-file workload (overwrites, rename storms, reflinks, gc) on a
// pool of three mirrored volumes, cut at every sync point of every file.
TEST_F(CrashTest, LargeFilesOnThreeMirroredVolumesSurviveAPowerCutAtEverySyncPointOfEveryFile) {
  volumes_ = 3;
  placement_ = "mirror=2";
  auto cuts = cut_at_every_sync(1, true, run_big_workload, [](const std::string& pool_path, const FileOutcome& cut,
                                                             const std::string& where) {
    std::shared_ptr<Pool> pool;
    Tree now;
    reopen_holding(pool_path, cut, where, pool, now);
    if (!pool) return;
    gc_and_check_volumes(*pool, where);
  });
  if (!past_deadline()) {
    EXPECT_GE(cuts, 30u * static_cast<unsigned>(crash_seeds(1)));
  }
}

TEST_F(CrashTest, LargeOverwritesRenameStormsAndReflinksSurviveAPowerCutAtEverySyncPoint) {
  // gc commits on its own: a run may pass a sync point more or fewer than the whole one.
  auto cuts = cut_at_every_sync(2, true, run_big_workload, [](const std::string& pool_path, const FileOutcome& cut,
                                                             const std::string& where) {
    std::shared_ptr<Pool> pool;
    Tree now;
    reopen_holding(pool_path, cut, where, pool, now);
    if (!pool) return;
    ASSERT_OK(pool->gc({.grace_seconds = 0}));
    ASSERT_TRUE(pool->verify()->ok()) << where;
    Tree after;
    ASSERT_OK(read_tree(*pool->dataset().value(), "/", after));
    EXPECT_TRUE(after == now) << where << ": gc changed the tree";
  });
  if (!past_deadline()) {
    EXPECT_GE(cuts, 15u * static_cast<unsigned>(crash_seeds(2)));
  }
}

TEST_F(CrashTest, SnapshotsClonesDestroyPruneAndRollbackSurviveAPowerCutAtEverySyncPoint) {
  // The background prune may move a checkpoint by a commit: a run can end a sync
  // or two short of the full one.
  auto cuts = cut_at_every_sync(3, true, run_history_workload, [](const std::string& pool_path,
                                                                   const HistoryOutcome& cut,
                                                                   const std::string& where) {
    std::shared_ptr<Pool> opened;
    reopen_verified(pool_path, where, opened);
    if (!opened) return;
    auto pool = &opened;
    auto now = read_history(**pool);
    ASSERT_TRUE(now.has_value()) << where << ": " << now.error().to_string();
    EXPECT_TRUE(cut.holds(*now)) << where << "\n got:     " << describe(*now) << "\n durable: " << describe(cut.durable)
                                 << "\n pending: " << describe(cut.pending);
    ASSERT_OK((*pool)->prune());
    ASSERT_OK((*pool)->gc({.grace_seconds = 0}));
    ASSERT_TRUE((*pool)->verify()->ok()) << where;
    EXPECT_EQ(read_history(**pool).value(), *now) << where;
  });
  if (!past_deadline()) {
    EXPECT_GE(cuts, 18u * static_cast<unsigned>(crash_seeds(3)));
  }
}

// The snapshot/clone workload on a pool of three mirrored volumes: snapshot
// destroys, prune and gc free chunks whose copies wait out their grace on the
// volumes, while clones write the same bytes again.
TEST_F(CrashTest, SnapshotsAndClonesOnThreeMirroredVolumesSurviveAPowerCutAtEverySyncPointOfEveryFile) {
  volumes_ = 3;
  placement_ = "mirror=2";
  auto cuts = cut_at_every_sync(1, true, run_history_workload, [](const std::string& pool_path,
                                                                   const HistoryOutcome& cut,
                                                                   const std::string& where) {
    std::shared_ptr<Pool> pool;
    reopen_verified(pool_path, where, pool);
    if (!pool) return;
    auto now = read_history(*pool);
    ASSERT_TRUE(now.has_value()) << where << ": " << now.error().to_string();
    EXPECT_TRUE(cut.holds(*now)) << where;
    ASSERT_OK(pool->prune());
    ASSERT_OK(pool->gc({.grace_seconds = 0}));
    ASSERT_TRUE(pool->verify()->ok()) << where;
    EXPECT_EQ(read_history(*pool).value(), *now) << where;
  });
  if (!past_deadline()) {
    EXPECT_GE(cuts, 18u * static_cast<unsigned>(crash_seeds(1)));
  }
}

// Compact on a pool made before page checksums rewrites every page with room
// for its checksum (docs/FORMAT.md): a power cut at any sync point of it —
// opening, the rewrite, its checkpoints, the setting, the close — leaves the
// old pool or the new one, whole; compacting again then finishes the job.
TEST_F(CrashTest, CompactAddingPageChecksumsSurvivesAPowerCutAtEverySyncPoint) {
  const std::string old_pool = dir_.str() + "/old.anyfs";
  Tree expected;
  {
    auto pool = Pool::create(old_pool, {.page_size = 4096, .page_checksums = false}).value();
    auto fs = pool->dataset().value();
    std::mt19937_64 rng(seed_base() + 17);
    for (int i = 0; i < 30; ++i) ASSERT_TRUE(random_step(*fs, expected, rng));
    ASSERT_OK(pool->close());
  }
  FaultVfs& vfs = FaultVfs::get();
  auto compact_copy = [&](const std::string& copy) {
    std::filesystem::copy_file(old_pool, copy);
    auto pool = Pool::open(copy, {.vfs = FaultVfs::k_name});
    if (!pool) return;
    if ((*pool)->compact()) (void)(*pool)->close();
  };
  vfs.reset();
  compact_copy(dir_.str() + "/whole.anyfs");
  const std::uint64_t syncs = vfs.syncs();
  ASSERT_GT(syncs, 3u);
  std::uint64_t cuts = 0;
  for (std::uint64_t n = 1; n <= syncs && !past_deadline(); ++n) {
    for (bool torn : {false, true}) {
      const std::string copy = dir_.str() + "/cut" + std::to_string(n) + (torn ? "t" : "") + ".anyfs";
      const std::string where = "compact cut at sync " + std::to_string(n) + (torn ? " torn" : "");
      vfs.reset();
      vfs.cut_at_sync(n, torn, seed_base() * 1000 + n);
      compact_copy(copy);
      ASSERT_TRUE(vfs.power_lost()) << where << ": the run ended before the cut";
      vfs.reset();
      cuts++;
      std::shared_ptr<Pool> pool;
      reopen_verified(copy, where, pool);
      if (!pool) return;
      Tree now;
      ASSERT_OK(read_tree(*pool->dataset().value(), "/", now));
      EXPECT_TRUE(now == expected) << where << "\n got:      " << describe(now) << "\n expected: " << describe(expected);
      ASSERT_OK(pool->compact());
      auto report = pool->verify().value();
      EXPECT_TRUE(report.ok() && report.page_checksums) << where << ": after compacting again";
      ASSERT_OK(pool->close());
      // The header and the recorded setting agree: the pool opens.
      auto again = Pool::open(copy, {.read_only = true});
      ASSERT_TRUE(again.has_value()) << where << ": " << again.error().to_string();
    }
  }
  std::cout << "power cuts exercised: " << cuts << "\n";
}

TEST_F(CrashTest, AFullDiskFailsTheCallAndKeepsWhatWasCommitted) {
  std::string pool_path = fresh_pool();
  {
    auto pool = Pool::open(pool_path).value();
    ASSERT_OK(pool->dataset().value()->write_file("/kept", "committed"));
    ASSERT_OK(pool->close());
  }
  FaultVfs& vfs = FaultVfs::get();
  vfs.reset();
  vfs.fail_write(3, SQLITE_FULL);
  PoolOpenOptions options;
  options.vfs = FaultVfs::k_name;
  auto pool = Pool::open(pool_path, options);
  Result<void> outcome;
  if (pool) {
    auto fs = (*pool)->dataset().value();
    for (int i = 0; i < 20 && outcome; ++i) {
      outcome = fs->write_file("/f" + std::to_string(i), std::string(50'000, static_cast<char>('a' + i)));
      if (outcome) outcome = (*pool)->sync();
    }
    ASSERT_FALSE(outcome.has_value());
    EXPECT_EQ(outcome.error().code, Errc::NoSpace) << outcome.error().to_string();
    // The pool refuses further work with a clear error rather than guessing.
    auto after = fs->write_file("/again", "x");
    ASSERT_FALSE(after.has_value());
    EXPECT_NE(after.error().message.find("reopen"), std::string::npos) << after.error().to_string();
    (void)(*pool)->close();
  } else {
    EXPECT_EQ(pool.error().code, Errc::NoSpace) << pool.error().to_string();
  }
  vfs.reset();
  auto reopened = Pool::open(pool_path).value();
  EXPECT_EQ(reopened->dataset().value()->read_file("/kept").value(), "committed");
  EXPECT_TRUE(reopened->verify()->ok());
}

}  // namespace
}  // namespace anyfs::testing
