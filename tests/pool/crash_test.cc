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
#include <functional>
#include <map>
#include <random>
#include <set>

#include "anyfs/pool.h"
#include "fs/path.h"
#include "support/fault_vfs.h"
#include "support/random_tree.h"
#include "support/seeds.h"
#include "support/result_matchers.h"
#include "support/temp_dir.h"

namespace anyfs::testing {
namespace {

struct Outcome {
  std::uint64_t syncs = 0;  // sync points the run went through
  Tree durable;             // state of the last sync that returned
  Tree pending;             // state of the sync under way at the cut (or = durable)
};

// Runs `steps` steps of a workload on the root dataset through the fault VFS,
// syncing after every third, until it ends or power is lost.
template <class Step>
Outcome run_steps(const std::string& pool_path, int steps, Step step) {
  Outcome out;
  FaultVfs& vfs = FaultVfs::get();
  PoolOpenOptions options;
  options.vfs = FaultVfs::k_name;
  auto pool = Pool::open(pool_path, options);
  if (!pool) return out;
  auto fs = (*pool)->dataset();
  if (!fs) return out;
  Tree model;
  for (int i = 0; i < steps; ++i) {
    if (!step(**pool, **fs, model, out)) break;
    if (i % 3 == 2) {
      out.pending = model;
      if (!(*pool)->sync()) break;
      out.durable = model;
    }
  }
  if (!vfs.power_lost()) {
    out.pending = model;
    if ((*pool)->close()) out.durable = model;
  }
  (void)(*pool)->close();
  out.syncs = vfs.syncs();
  return out;
}

// The small-file workload of `seed` (tests/support/random_tree.h).
Outcome run_workload(const std::string& pool_path, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  return run_steps(pool_path, 60, [&](Pool&, Dataset& fs, Tree& model, Outcome&) { return random_step(fs, model, rng); });
}

// The large-file workload of `seed`: gc inside it is a sync point of its own.
Outcome run_big_workload(const std::string& pool_path, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  return run_steps(pool_path, 45, [&](Pool& pool, Dataset& fs, Tree& model, Outcome& out) {
    return big_file_step(pool, fs, model, rng, out.durable, out.pending);
  });
}

// ANYFS_CRASH_SEEDS, else `default_seeds`.
int crash_seeds(int default_seeds) {
  return std::getenv("ANYFS_CRASH_SEEDS") ? std::atoi(std::getenv("ANYFS_CRASH_SEEDS")) : default_seeds;
}

class CrashTest : public ::testing::Test {
 protected:
  std::string fresh_pool() {
    std::string p = dir_.str() + "/crash" + std::to_string(++count_) + ".anyfs";
    auto pool = Pool::create(p, {.properties = {{"txg_timeout", "600"}, {"recordsize", "16K"}}});
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
      for (std::uint64_t n = 1; n <= full.syncs; ++n) {
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

TEST_F(CrashTest, EveryAcknowledgedSyncSurvivesAPowerCutAtEverySyncPoint) {
  auto cuts = cut_at_every_sync(5, false, run_workload, [](const std::string& pool_path, const Outcome& cut,
                                                            const std::string& where) {
    std::shared_ptr<Pool> opened;
    reopen_verified(pool_path, where, opened);
    if (!opened) return;
    auto pool = &opened;
    Tree now;
    ASSERT_OK(read_tree(*(*pool)->dataset().value(), "/", now));
    EXPECT_TRUE(now == cut.durable || now == cut.pending)
        << where << "\n got:     " << describe(now) << "\n durable: " << describe(cut.durable)
        << "\n pending: " << describe(cut.pending);
    // Nothing is left for gc but what the cut made unreachable, and gc keeps the tree intact.
    ASSERT_OK((*pool)->gc({.grace_seconds = 0}));
    ASSERT_TRUE((*pool)->verify()->ok());
  });
  EXPECT_GE(cuts, 20u * static_cast<unsigned>(crash_seeds(5)));
}

TEST_F(CrashTest, LargeOverwritesRenameStormsAndReflinksSurviveAPowerCutAtEverySyncPoint) {
  // gc commits on its own: a run may pass a sync point more or fewer than the whole one.
  auto cuts = cut_at_every_sync(2, true, run_big_workload, [](const std::string& pool_path, const Outcome& cut,
                                                             const std::string& where) {
    std::shared_ptr<Pool> pool;
    reopen_verified(pool_path, where, pool);
    if (!pool) return;
    Tree now;
    ASSERT_OK(read_tree(*pool->dataset().value(), "/", now));
    EXPECT_TRUE(now == cut.durable || now == cut.pending)
        << where << "\n got:     " << describe(now) << "\n durable: " << describe(cut.durable)
        << "\n pending: " << describe(cut.pending);
    ASSERT_OK(pool->gc({.grace_seconds = 0}));
    ASSERT_TRUE(pool->verify()->ok()) << where;
    Tree after;
    ASSERT_OK(read_tree(*pool->dataset().value(), "/", after));
    EXPECT_TRUE(after == now) << where << ": gc changed the tree";
  });
  EXPECT_GE(cuts, 15u * static_cast<unsigned>(crash_seeds(2)));
}

// The history workload: the live tree and the snapshots, as the model knows them.
struct HistoryState {
  Tree live;
  std::map<std::string, Tree> snapshots;
  std::map<std::string, Tree> clones;  // clone datasets by name
  bool operator==(const HistoryState&) const = default;
};

struct HistoryOutcome {
  std::uint64_t syncs = 0;
  HistoryState durable, pending;
  // Rollback, promote and dataset destroy commit the changes before them first:
  // that state may be the one on disk.
  HistoryState before_rollback;
};

// Writes, snapshots, destroys (whose reclaim the background pass may start),
// prunes, gc, rollbacks, clones (written to, promoted, destroyed); each but
// the writes commits.
HistoryOutcome run_history_workload(const std::string& pool_path, std::uint64_t seed) {
  HistoryOutcome out;
  std::mt19937_64 rng(seed);
  FaultVfs& vfs = FaultVfs::get();
  PoolOpenOptions options;
  options.vfs = FaultVfs::k_name;
  auto opened = Pool::open(pool_path, options);
  if (!opened) return out;
  auto pool = *opened;
  auto fs = pool->dataset();
  if (!fs) return out;
  HistoryState model;
  std::map<std::string, std::string> origin_of;  // unpromoted clone -> its snapshot
  int next = 0;
  auto commit = [&](HistoryState after, const std::function<bool()>& call, bool rollback = false) {
    out.pending = after;
    out.before_rollback = rollback ? model : after;
    if (!call()) return false;
    out.durable = model = std::move(after);
    return true;
  };
  auto pick = [&](const std::map<std::string, Tree>& m) {
    return std::next(m.begin(), static_cast<long>(rng() % m.size()))->first;
  };
  for (int i = 0; i < 45; ++i) {
    if (!model.clones.empty() && rng() % 3 == 0) {  // a change inside a clone
      std::string name = pick(model.clones);
      auto clone = pool->dataset(name);
      if (!clone || !random_step(**clone, model.clones[name], rng)) break;
    } else if (!random_step(**fs, model.live, rng)) {
      break;
    }
    if (i % 3 != 2) continue;
    HistoryState after = model;
    bool ok = true;
    switch (rng() % 8) {
      case 0: {
        std::string name = "s" + std::to_string(next++);
        after.snapshots[name] = model.live;
        ok = commit(after, [&] { return pool->snapshot("", name).has_value(); });
        break;
      }
      case 1: {
        if (model.snapshots.empty()) break;
        std::string name = pick(model.snapshots);
        bool held = false;  // a clone still reads it
        for (const auto& [clone, snap] : origin_of) held |= snap == name;
        if (held) break;
        after.snapshots.erase(name);
        ok = commit(after, [&] { return pool->destroy_snapshot("", name).has_value(); });
        break;
      }
      case 2:
        ok = commit(after, [&] { return pool->prune().has_value() && pool->gc({.grace_seconds = 0}).has_value(); });
        break;
      case 3: {
        if (model.snapshots.empty()) break;
        // The newest snapshot: no --force needed, nothing else destroyed.
        auto newest = std::max_element(model.snapshots.begin(), model.snapshots.end(), [&](auto& a, auto& b) {
          return std::stoi(a.first.substr(1)) < std::stoi(b.first.substr(1));
        });
        std::string name = newest->first;
        after.live = newest->second;
        ok = commit(after, [&] { return pool->rollback("", name).has_value(); }, /*rollback=*/true);
        break;
      }
      case 4: {
        if (model.snapshots.empty()) break;
        std::string snap = pick(model.snapshots), name = "c" + std::to_string(next++);
        after.clones[name] = model.snapshots[snap];
        ok = commit(after, [&] { return pool->clone("", snap, name).has_value(); });
        if (ok) origin_of[name] = snap;
        break;
      }
      case 5: {
        if (origin_of.empty()) break;
        std::string name = std::next(origin_of.begin(), static_cast<long>(rng() % origin_of.size()))->first;
        ok = commit(after, [&] { return pool->promote(name).has_value(); }, /*rollback=*/true);
        if (ok) origin_of.erase(name);
        break;
      }
      case 6: {
        if (model.clones.empty()) break;
        std::string name = pick(model.clones);
        after.clones.erase(name);
        ok = commit(after, [&] { return pool->destroy_dataset(name).has_value(); }, /*rollback=*/true);
        if (ok) origin_of.erase(name);
        break;
      }
      default:
        ok = commit(after, [&] { return pool->sync().has_value(); });
    }
    if (!ok) break;
  }
  if (!vfs.power_lost()) {
    out.pending = model;
    if (pool->close()) out.durable = model;
  }
  (void)pool->close();
  out.syncs = vfs.syncs();
  return out;
}

Result<HistoryState> read_history(Pool& pool) {
  HistoryState state;
  ANYFS_CHECK(read_tree(*ANYFS_TRY(pool.dataset()), "/", state.live));
  for (const auto& s : ANYFS_TRY(pool.snapshots("")))
    ANYFS_CHECK(read_tree(*ANYFS_TRY(pool.dataset_at("", AsOf::at_snapshot(s.name))), "/", state.snapshots[s.name]));
  for (const auto& name : ANYFS_TRY(pool.datasets()))
    if (!name.empty()) ANYFS_CHECK(read_tree(*ANYFS_TRY(pool.dataset(name)), "/", state.clones[name]));
  return state;
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
    EXPECT_TRUE(*now == cut.durable || *now == cut.pending || *now == cut.before_rollback)
        << where << "\n got:     " << describe(now->live) << " + " << now->snapshots.size() << " snapshots, "
        << now->clones.size() << " clones\n durable: " << describe(cut.durable.live) << " + "
        << cut.durable.snapshots.size() << ", " << cut.durable.clones.size() << "\n pending: "
        << describe(cut.pending.live) << " + " << cut.pending.snapshots.size() << ", " << cut.pending.clones.size();
    ASSERT_OK((*pool)->prune());
    ASSERT_OK((*pool)->gc({.grace_seconds = 0}));
    ASSERT_TRUE((*pool)->verify()->ok()) << where;
    EXPECT_EQ(read_history(**pool).value(), *now) << where;
  });
  EXPECT_GE(cuts, 18u * static_cast<unsigned>(crash_seeds(3)));
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
