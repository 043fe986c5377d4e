// History as a user meets it through the C++ API: views of the past at TIDs,
// times and snapshots; what history=off keeps; snapshots, bookmarks, rollback,
// diff, file versions, the log, prune; datasets and inherited properties; the
// migration from format 1.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <random>
#include <thread>

#include "anyfs/pool.h"
#include "support/must.h"
#include "support/random_bytes.h"
#include "support/random_tree.h"
#include "support/raw_sql.h"
#include "support/result_matchers.h"
#include "support/temp_dir.h"
#include "pool/history_fixture.h"

namespace anyfs::testing {
namespace {

TEST_F(HistoryTest, ReadsAFileAtEveryTidItHad) {
  auto pool = create({{"history", "all"}});
  auto fs = must(pool->dataset());
  std::map<std::uint64_t, std::optional<std::string>> at_tid;  // nullopt: the file did not exist
  for (int v = 0; v < 24; ++v) {
    if (v % 7 == 6) {
      ASSERT_OK(fs->remove("/f"));
      ASSERT_OK(pool->sync());
      at_tid[must(pool->committed_tid())] = std::nullopt;
      ASSERT_OK(fs->write_file("/f", ""));  // back, empty
    } else {
      // Sizes cross the small-file extent cache and chunk boundaries.
      std::string data = random_bytes(v % 3 == 0 ? 300'000 + 1000 * v : 10 * v, v);
      ASSERT_OK(fs->write_file("/f", data));
    }
    ASSERT_OK(pool->sync());
    at_tid[must(pool->committed_tid())] = must(fs->read_file("/f"));
  }
  auto check = [&](Pool& p) {
    for (const auto& [tid, content] : at_tid) {
      auto view = must(p.dataset_at("", AsOf::at_tid(tid)));
      if (!content) {
        EXPECT_ERR(view->stat("/f"), NotFound) << "TID " << tid;
        continue;
      }
      EXPECT_EQ(must(view->read_file("/f")), *content) << "TID " << tid;
      // A TID inside the transaction group reads the state the group committed.
      auto inside = must(p.dataset_at("", AsOf::at_tid(tid - 1)));
      auto got = inside->read_file("/f");
      EXPECT_TRUE(got.has_value() || got.error().code == Errc::NotFound);
    }
  };
  check(*pool);
  expect_verified(*pool);
  ASSERT_OK(pool->close());
  check(*open(/*read_only=*/true));
}

TEST_F(HistoryTest, ViewsOfThePastAreReadOnlyAndErrorsSayWhy) {
  auto pool = create();
  auto fs = must(pool->dataset());
  ASSERT_OK(fs->write_file("/a", "one"));
  auto snap = must(pool->snapshot("", "s1"));
  auto view = must(pool->dataset_at("", AsOf::at_snapshot("s1")));
  EXPECT_ERR(view->write_file("/a", "x"), ReadOnly);
  EXPECT_ERR(view->open("/a", OpenFlags::ReadWrite), ReadOnly);
  EXPECT_ERR(view->mkdir("/d"), ReadOnly);
  EXPECT_ERR(view->remove("/a"), ReadOnly);
  EXPECT_ERR(view->rename("/a", "/b"), ReadOnly);
  EXPECT_ERR(view->set_xattr("/a", "user.x", "1"), ReadOnly);
  EXPECT_EQ(must(view->read_file("/a")), "one");
  // Unknown snapshot; a TID not committed; a time before the pool; history=off.
  EXPECT_ERR(pool->dataset_at("", AsOf::at_snapshot("nope")), NotFound);
  EXPECT_ERR(pool->dataset_at("", AsOf::at_tid(1'000'000)), InvalidArgument);
  EXPECT_ERR(pool->dataset_at("", AsOf::at_time(1'000'000'000)), NotFound);
  ASSERT_OK(fs->write_file("/a", "two"));
  ASSERT_OK(pool->sync());
  auto off = pool->dataset_at("", AsOf::at_tid(snap.tid + 1));
  ASSERT_ERR(off, NoData);
  EXPECT_NE(off.error().message.find("history=off"), std::string::npos) << off.error().to_string();
  // The snapshot's own TID is readable by number too.
  EXPECT_EQ(must(must(pool->dataset_at("", AsOf::at_tid(snap.tid)))->read_file("/a")), "one");
}

TEST_F(HistoryTest, AsOfATimeReadsTheLastStateCommittedByThen) {
  auto pool = create({{"history", "1h"}});
  auto fs = must(pool->dataset());
  ASSERT_OK(fs->write_file("/a", "early"));
  ASSERT_OK(pool->sync());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto between = std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_OK(fs->write_file("/a", "late"));
  ASSERT_OK(pool->sync());
  EXPECT_EQ(must(must(pool->dataset_at("", AsOf::at_time(between)))->read_file("/a")), "early");
  EXPECT_EQ(must(fs->read_file("/a")), "late");
}

TEST_F(HistoryTest, SnapshotsKeepTheirTreeWhileTheLiveTreeChanges) {
  auto pool = create();
  auto fs = must(pool->dataset());
  std::mt19937_64 rng(7);
  Tree model;
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(random_step(*fs, model, rng));
  must(pool->snapshot("", "s1"));
  Tree at_s1 = model;
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(random_step(*fs, model, rng));
  must(pool->snapshot("", "s2"));
  Tree at_s2 = model;
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(random_step(*fs, model, rng));
  EXPECT_EQ(tree_at(*pool, "", AsOf::at_snapshot("s1")), at_s1) << describe(at_s1);
  EXPECT_EQ(tree_at(*pool, "", AsOf::at_snapshot("s2")), at_s2);
  EXPECT_EQ(tree_of(*fs), model);
  expect_verified(*pool);

  auto snaps = must(pool->snapshots(""));
  ASSERT_EQ(snaps.size(), 2u);
  EXPECT_EQ(snaps[0].name, "s1");
  EXPECT_LT(snaps[0].tid, snaps[1].tid);

  // Destroying s1 frees what only it held; s2 and the live tree stay whole.
  ASSERT_OK(pool->destroy_snapshot("", "s1"));
  must(pool->prune());  // (the background pass may have done it already)
  EXPECT_ERR(pool->dataset_at("", AsOf::at_snapshot("s1")), NotFound);
  EXPECT_EQ(tree_at(*pool, "", AsOf::at_snapshot("s2")), at_s2);
  EXPECT_EQ(tree_of(*fs), model);
  expect_verified(*pool);
  GcOptions now;
  now.grace_seconds = 0;
  must(pool->gc(now));
  EXPECT_EQ(tree_at(*pool, "", AsOf::at_snapshot("s2")), at_s2);
  expect_verified(*pool);

  ASSERT_OK(pool->close());
  auto again = open();
  EXPECT_EQ(tree_at(*again, "", AsOf::at_snapshot("s2")), at_s2);
  EXPECT_EQ(tree_of(*must(again->dataset())), model);
}

TEST_F(HistoryTest, TheBytesASnapshotAloneHoldsAreWhatItsDestroyFrees) {
  auto pool = create({{"compression", "off"}});
  auto fs = must(pool->dataset());
  ASSERT_OK(fs->write_file("/keep", random_bytes(50'000, 1)));
  ASSERT_OK(fs->write_file("/old", random_bytes(80'000, 2)));
  must(pool->snapshot("", "s1"));
  ASSERT_OK(fs->remove("/old"));  // only s1 holds it now
  must(pool->snapshot("", "s2"));
  auto snaps = must(pool->snapshots(""));
  ASSERT_EQ(snaps.size(), 2u);
  EXPECT_EQ(snaps[0].unique_bytes, 80'000u);
  EXPECT_EQ(snaps[1].unique_bytes, 0u);
  auto before = must(pool->stats());
  EXPECT_EQ(before.history_bytes, 80'000u);
  EXPECT_EQ(before.snapshots, 2u);
  EXPECT_NEAR(before.dedup_ratio(), 1.0, 0.01);  // the removed file's chunks count as referenced
  ASSERT_OK(pool->destroy_snapshot("", "s1"));
  must(pool->prune());
  ASSERT_OK(pool->sync());
  auto after = must(pool->stats());  // freed by themselves: nothing is left for gc
  EXPECT_LE(after.chunk_raw_bytes + 80'000u, before.chunk_raw_bytes);
  EXPECT_EQ(must(pool->gc({.grace_seconds = 0})).chunks_removed, 0u);
  EXPECT_EQ(after.history_bytes, 0u);
  expect_verified(*pool);
}

TEST_F(HistoryTest, WithHistoryOffAndNoSnapshotOverwritesLeaveNoOldRows) {
  auto pool = create();
  auto fs = must(pool->dataset());
  ASSERT_OK(fs->write_file("/f", "version 0"));
  ASSERT_OK(pool->sync());
  ASSERT_OK(pool->close());
  std::int64_t inodes = rows("inodes"), extents = rows("extents"), dirents = rows("dirents");
  pool = open();
  fs = must(pool->dataset());
  for (int i = 1; i <= 300; ++i) {
    ASSERT_OK(fs->write_file("/f", "version " + std::to_string(i)));
    if (i % 3 == 0) {
      ASSERT_OK(pool->sync());
    }
  }
  ASSERT_OK(pool->close());
  EXPECT_EQ(rows("inodes"), inodes);
  EXPECT_EQ(rows("extents"), extents);
  EXPECT_EQ(rows("dirents"), dirents);
  // Turning history on keeps them.
  pool = open();
  fs = must(pool->dataset());
  ASSERT_OK(pool->set_property("", "history", "all"));
  for (int i = 0; i < 10; ++i) {
    ASSERT_OK(fs->write_file("/f", "kept " + std::to_string(i)));
    ASSERT_OK(pool->sync());
  }
  ASSERT_OK(pool->close());
  EXPECT_GE(rows("extents", "tid_to < 9223372036854775807"), 10);
  // Turning it off again lets prune remove them all.
  pool = open();
  ASSERT_OK(pool->set_property("", "history", "off"));
  must(pool->prune());
  ASSERT_OK(pool->close());
  EXPECT_EQ(rows("extents", "tid_to < 9223372036854775807"), 0);
  EXPECT_EQ(rows("inodes", "tid_to < 9223372036854775807"), 0);
}

TEST_F(HistoryTest, AHistoryWindowKeepsWhatIsInsideItAndPrunesTheRest) {
  auto pool = create({{"history", "1s"}});
  auto fs = must(pool->dataset());
  ASSERT_OK(fs->write_file("/f", "old"));
  ASSERT_OK(pool->sync());
  std::uint64_t old_tid = must(pool->committed_tid());
  ASSERT_OK(fs->write_file("/f", "replaced before the window"));
  ASSERT_OK(pool->sync());
  std::uint64_t edge_tid = must(pool->committed_tid());
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  ASSERT_OK(fs->write_file("/f", "new"));
  ASSERT_OK(pool->sync());
  std::uint64_t new_tid = must(pool->committed_tid());
  EXPECT_EQ(must(must(pool->dataset_at("", AsOf::at_tid(old_tid)))->read_file("/f")), "old");
  must(pool->prune());
  // A state replaced before the window began is gone; the one the window
  // starts in, and those after, stay.
  EXPECT_ERR(pool->dataset_at("", AsOf::at_tid(old_tid)), NoData);
  EXPECT_EQ(must(must(pool->dataset_at("", AsOf::at_tid(edge_tid)))->read_file("/f")), "replaced before the window");
  EXPECT_EQ(must(must(pool->dataset_at("", AsOf::at_tid(new_tid)))->read_file("/f")), "new");
  expect_verified(*pool);
}

// ANYFS_SOAK=1 runs 40 seeds.
TEST_F(HistoryTest, RandomSnapshotCloneAndPruneSequencesNeverLoseWhatAnyStateSees) {
  struct Ds {
    std::shared_ptr<Dataset> fs;
    Tree model;
    std::map<std::string, Tree> snapshots;
    std::optional<std::pair<std::string, std::string>> origin;  // (dataset, snapshot) of a clone
  };
  const std::uint64_t seeds = std::getenv("ANYFS_SOAK") ? 40 : 4;
  std::map<std::string, int> done;  // how often each kind of step ran, printed at the end
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    TempDir dir;
    PoolCreateOptions options;
    options.properties = {{"recordsize", "4K"}};
    auto pool = must(Pool::create(dir.str() + "/p.anyfs", options));
    std::mt19937_64 rng(seed);
    std::map<std::string, Ds> all;
    all[""].fs = must(pool->dataset());
    int next = 0;
    GcOptions now;
    now.grace_seconds = 0;
    auto pick = [&]() -> std::pair<const std::string, Ds>& {
      return *std::next(all.begin(), static_cast<long>(rng() % all.size()));
    };
    auto depended_on = [&](const std::string& ds, const std::string& snap) {
      for (const auto& [name, d] : all)
        if (d.origin && *d.origin == std::pair(ds, snap)) return true;
      return false;
    };
    auto check_all = [&](Pool& p) {
      for (auto& [name, d] : all) {
        ASSERT_EQ(tree_of(*must(p.dataset(name))), d.model) << "dataset '" << name << "'";
        for (const auto& [snap, tree] : d.snapshots)
          ASSERT_EQ(tree_at(p, name, AsOf::at_snapshot(snap)), tree) << name << "@" << snap;
      }
    };
    for (int round = 0; round < 60; ++round) {
      {
        auto& [name, d] = pick();
        for (int i = 0; i < 5; ++i) ASSERT_TRUE(random_step(*d.fs, d.model, rng)) << name;
      }
      auto& [name, d] = pick();
      switch (rng() % 10) {
        case 0:
        case 1: {
          std::string snap = "s" + std::to_string(next++);
          must(pool->snapshot(name, snap));
          d.snapshots[snap] = d.model;
          done[name.empty() ? "snapshot" : "snapshot of a clone"]++;
          break;
        }
        case 2:
          if (!d.snapshots.empty()) {
            auto it = std::next(d.snapshots.begin(), static_cast<long>(rng() % d.snapshots.size()));
            if (depended_on(name, it->first)) {
              ASSERT_ERR(pool->destroy_snapshot(name, it->first), Busy);
            } else {
              ASSERT_OK(pool->destroy_snapshot(name, it->first));
              d.snapshots.erase(it);
              done["destroy"]++;
            }
          }
          break;
        case 3:
          must(pool->prune());
          must(pool->gc(now));
          break;
        case 4:
          ASSERT_OK(pool->set_property(name, "history", rng() % 2 ? "all" : "off"));
          break;
        case 5:
          if (!d.snapshots.empty() && all.size() < 4) {
            auto it = std::next(d.snapshots.begin(), static_cast<long>(rng() % d.snapshots.size()));
            std::string clone = "c" + std::to_string(next++);
            ASSERT_OK(pool->clone(name, it->first, clone));
            Ds c{must(pool->dataset(clone)), it->second, {}, std::pair(name, it->first)};
            all[clone] = std::move(c);
            done["clone"]++;
          }
          break;
        case 6:
          if (d.origin) {
            if (!d.snapshots.empty()) {
              ASSERT_ERR(pool->promote(name), Busy);
            } else {
              ASSERT_OK(pool->promote(name));
              d.origin.reset();
              done["promote"]++;
            }
          }
          break;
        case 7:
          // Roll back to the newest snapshot (no --force: nothing newer).
          if (!d.snapshots.empty()) {
            auto newest = std::max_element(d.snapshots.begin(), d.snapshots.end(), [](auto& x, auto& y) {
              return std::stoi(x.first.substr(1)) < std::stoi(y.first.substr(1));
            });
            ASSERT_OK(pool->rollback(name, newest->first));
            d.model = newest->second;
            done["rollback"]++;
          }
          break;
        default:
          ASSERT_OK(pool->sync());
      }
      if (round % 10 == 9) {
        must(pool->prune());
        must(pool->gc(now));
        expect_verified(*pool);
        check_all(*pool);
        if (HasFatalFailure()) return;
      }
    }
    for (auto& [name, d] : all) d.fs.reset();
    ASSERT_OK(pool->close());
    auto again = must(Pool::open(dir.str() + "/p.anyfs"));
    check_all(*again);
    expect_verified(*again);
  }
  for (const auto& [what, n] : done) std::cout << what << ": " << n << "  ";
  std::cout << "\n";
}

TEST_F(HistoryTest, DestroyedSnapshotsArePrunedInTheBackground) {
  auto pool = create();
  auto fs = must(pool->dataset());
  // More rows than one background step takes (2,000), so steps continue
  // where the last one stopped.
  constexpr int k_files = 2500;
  for (int i = 0; i < k_files; ++i) ASSERT_OK(fs->write_file("/f" + std::to_string(i), std::to_string(i)));
  must(pool->snapshot("", "s"));
  for (int i = 0; i < k_files; ++i) ASSERT_OK(fs->remove("/f" + std::to_string(i)));
  ASSERT_OK(pool->sync());
  EXPECT_GE(rows("extents", "tid_to < 9223372036854775807"), k_files);
  ASSERT_OK(pool->destroy_snapshot("", "s"));
  // No prune() call: the commit timer's background pass does it.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (rows("extents", "tid_to < 9223372036854775807") != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(rows("extents", "tid_to < 9223372036854775807"), 0);
  expect_verified(*pool);
}

TEST_F(HistoryTest, RollbackRestoresTheSnapshotThenWritesGoOn) {
  auto pool = create({{"history", "all"}});
  auto fs = must(pool->dataset());
  std::mt19937_64 rng(3);
  Tree model;
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(random_step(*fs, model, rng));
  must(pool->snapshot("", "base"));
  Tree base = model;
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(random_step(*fs, model, rng));
  ASSERT_OK(pool->sync());
  std::uint64_t before_rollback = must(pool->committed_tid());
  Tree changed = model;
  must(pool->snapshot("", "later"));

  // A newer snapshot is refused unless forced; an open file is refused.
  auto refused = pool->rollback("", "base");
  ASSERT_ERR(refused, Busy);
  EXPECT_NE(refused.error().message.find("@later"), std::string::npos) << refused.error().to_string();
  {
    ASSERT_OK(fs->write_file("/open", "x"));
    auto handle = must(fs->open("/open", OpenFlags::Read));
    EXPECT_ERR(pool->rollback("", "base", /*force=*/true), Busy);
  }
  ASSERT_OK(pool->rollback("", "base", /*force=*/true));
  EXPECT_EQ(tree_of(*fs), base);
  EXPECT_ERR(pool->dataset_at("", AsOf::at_snapshot("later")), NotFound);
  expect_verified(*pool);
  // History still shows the state before the rollback.
  EXPECT_EQ(tree_at(*pool, "", AsOf::at_tid(before_rollback)), changed);
  // And the dataset goes on.
  model = base;
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(random_step(*fs, model, rng));
  EXPECT_EQ(tree_of(*fs), model);
  ASSERT_OK(pool->close());
  auto again = open();
  EXPECT_EQ(tree_of(*must(again->dataset())), model);
  EXPECT_EQ(tree_at(*again, "", AsOf::at_snapshot("base")), base);
  expect_verified(*again);
}

TEST_F(HistoryTest, RollbackWithoutHistoryFreesWhatCameAfter) {
  auto pool = create();
  auto fs = must(pool->dataset());
  ASSERT_OK(fs->write_file("/a", "a"));
  must(pool->snapshot("", "s"));
  ASSERT_OK(fs->write_file("/b", random_bytes(100'000, 9)));
  ASSERT_OK(fs->write_file("/a", "changed"));
  ASSERT_OK(pool->sync());
  const auto chunks = must(pool->stats()).chunks;
  ASSERT_OK(pool->rollback("", "s"));
  EXPECT_EQ(tree_of(*fs), (Tree{{"/a", "a"}}));
  expect_verified(*pool);
  ASSERT_OK(pool->sync());
  EXPECT_LT(must(pool->stats()).chunks, chunks);  // freed when the rollback committed
  expect_verified(*pool);
}

TEST_F(HistoryTest, DiffReportsAddedRemovedModifiedAndRenamed) {
  auto pool = create({{"history", "all"}});
  auto fs = must(pool->dataset());
  ASSERT_OK(fs->mkdirs("/dir/sub"));
  for (const char* p : {"/same", "/gone", "/changed", "/moved", "/dir/sub/deep", "/mode"})
    ASSERT_OK(fs->write_file(p, std::string("content of ") + p));
  auto s1 = must(pool->snapshot("", "s1"));
  ASSERT_OK(fs->write_file("/new", "n"));
  ASSERT_OK(fs->remove("/gone"));
  ASSERT_OK(fs->write_file("/changed", "different"));
  ASSERT_OK(fs->rename("/moved", "/dir/moved-here"));
  ASSERT_OK(fs->write_file("/dir/sub/deep", "deeper"));
  ASSERT_OK(fs->chmod("/mode", 0600));
  using C = DiffEntry::Change;
  std::vector<std::tuple<C, std::string, std::string>> want = {
      {C::Modified, "/changed", ""}, {C::Renamed, "/dir/moved-here", "/moved"}, {C::Modified, "/dir/sub/deep", ""},
      {C::Removed, "/gone", ""},     {C::Modified, "/mode", ""},                {C::Added, "/new", ""},
  };
  auto flatten = [](const std::vector<DiffEntry>& d) {
    std::vector<std::tuple<C, std::string, std::string>> out;
    for (const auto& e : d) out.emplace_back(e.change, e.path, e.old_path);
    return out;
  };
  EXPECT_EQ(flatten(must(pool->diff("", AsOf::at_snapshot("s1")))), want);  // against the live tree
  auto s2 = must(pool->snapshot("", "s2"));
  EXPECT_EQ(flatten(must(pool->diff("", AsOf::at_snapshot("s1"), AsOf::at_snapshot("s2")))), want);
  EXPECT_EQ(flatten(must(pool->diff("", AsOf::at_tid(s1.tid), AsOf::at_tid(s2.tid)))), want);
  // Nothing changed since s2; and the other way round, adds and removes swap.
  EXPECT_TRUE(must(pool->diff("", AsOf::at_snapshot("s2"))).empty());
  auto back = must(pool->diff("", AsOf::at_snapshot("s2"), AsOf::at_snapshot("s1")));
  bool saw_new_removed = false;
  for (const auto& e : back) saw_new_removed |= e.change == C::Removed && e.path == "/new";
  EXPECT_TRUE(saw_new_removed);
}

TEST_F(HistoryTest, FileHistoryListsEachCommittedVersionReadableAtItsTid) {
  auto pool = create({{"history", "all"}});
  auto fs = must(pool->dataset());
  std::vector<std::string> contents = {"a", "bb", "ccc"};
  for (const auto& c : contents) {
    ASSERT_OK(fs->write_file("/f", c));
    ASSERT_OK(pool->sync());
  }
  auto versions = must(pool->file_history("", "/f"));
  ASSERT_EQ(versions.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(versions[i].size, contents[i].size());
    EXPECT_GT(versions[i].time_ns, 0);
    EXPECT_EQ(must(must(pool->dataset_at("", AsOf::at_tid(versions[i].tid)))->read_file("/f")), contents[i]);
  }
  EXPECT_EQ(versions.back().until_tid, 0u);
  EXPECT_NE(versions.front().until_tid, 0u);
  // A removed file is found through a view of the past.
  ASSERT_OK(fs->remove("/f"));
  EXPECT_ERR(pool->file_history("", "/f"), NotFound);
  EXPECT_EQ(must(pool->file_history("", "/f", AsOf::at_tid(versions[1].tid))).size(), 3u);
}

TEST_F(HistoryTest, TheLogListsOperationsFilteredByPathDatasetAndTime) {
  auto pool = create();
  auto fs = must(pool->dataset());
  ASSERT_OK(fs->mkdir("/docs"));
  ASSERT_OK(fs->write_file("/docs/a", "1"));
  ASSERT_OK(fs->write_file("/other", "2"));
  ASSERT_OK(fs->rename("/other", "/docs/b"));
  ASSERT_OK(pool->create_dataset("data"));
  ASSERT_OK(must(pool->dataset("data"))->write_file("/x", "3"));
  must(pool->snapshot("data", "snap"));
  LogQuery q;
  q.path = "/docs";
  q.dataset = "";
  auto docs = must(pool->log(q));
  std::vector<std::string> details;
  for (const auto& e : docs) details.push_back(e.op + " " + e.detail);
  EXPECT_EQ(details, (std::vector<std::string>{"rename /other -> /docs/b", "create /docs/a", "mkdir /docs"}));
  LogQuery data;
  data.dataset = "data";
  auto in_data = must(pool->log(data));
  ASSERT_FALSE(in_data.empty());
  EXPECT_EQ(in_data.front().op, "snapshot");
  for (const auto& e : in_data) EXPECT_EQ(e.dataset, "data");
  LogQuery newest;
  newest.limit = 2;
  EXPECT_EQ(must(pool->log(newest)).size(), 2u);
  LogQuery future;
  future.since_ns = std::numeric_limits<std::int64_t>::max() - 1;
  EXPECT_TRUE(must(pool->log(future)).empty());
}

TEST_F(HistoryTest, BookmarksNameATidAndOutliveTheirSnapshot) {
  auto pool = create();
  auto fs = must(pool->dataset());
  ASSERT_OK(fs->write_file("/a", "1"));
  auto snap = must(pool->snapshot("", "s"));
  auto mark = must(pool->bookmark("", "s", "mark"));
  EXPECT_EQ(mark.tid, snap.tid);
  EXPECT_ERR(pool->bookmark("", "s", "mark"), Exists);
  EXPECT_ERR(pool->bookmark("", "nope", "other"), NotFound);
  ASSERT_OK(pool->destroy_snapshot("", "s"));
  auto marks = must(pool->bookmarks(""));
  ASSERT_EQ(marks.size(), 1u);
  EXPECT_EQ(marks[0].tid, snap.tid);
  ASSERT_OK(pool->destroy_bookmark("", "mark"));
  EXPECT_TRUE(must(pool->bookmarks("")).empty());
  EXPECT_ERR(pool->destroy_bookmark("", "mark"), NotFound);
}

TEST_F(HistoryTest, SnapshotsCanBeRenamedAndNamesAreChecked) {
  auto pool = create();
  must(pool->snapshot("", "a"));
  EXPECT_ERR(pool->snapshot("", "a"), Exists);
  EXPECT_ERR(pool->snapshot("", "bad/name"), InvalidArgument);
  EXPECT_ERR(pool->snapshot("missing", "x"), NotFound);
  must(pool->snapshot("", "b"));
  EXPECT_ERR(pool->rename_snapshot("", "a", "b"), Exists);
  ASSERT_OK(pool->rename_snapshot("", "a", "c"));
  auto snaps = must(pool->snapshots(""));
  ASSERT_EQ(snaps.size(), 2u);
  EXPECT_EQ(snaps[0].name, "c");
  EXPECT_ERR(pool->destroy_snapshot("", "a"), NotFound);
}

TEST_F(HistoryTest, DatasetsNestInheritPropertiesAndRename) {
  auto pool = create();
  ASSERT_OK(pool->create_dataset("proj"));
  ASSERT_OK(pool->create_dataset("proj/web", {{"recordsize", "16K"}}));
  EXPECT_ERR(pool->create_dataset("proj"), Exists);
  EXPECT_ERR(pool->create_dataset("x/y"), NotFound);
  EXPECT_ERR(pool->create_dataset("bad name"), InvalidArgument);
  ASSERT_OK(pool->set_property("proj", "compression", "lz4"));
  auto source = [&](const std::string& ds, const std::string& name) {
    for (const auto& p : must(pool->properties(ds)))
      if (p.name == name) return p.value + " " + p.source;
    return std::string();
  };
  EXPECT_EQ(source("proj/web", "compression"), "lz4 inherited from proj");
  EXPECT_EQ(source("proj/web", "recordsize"), "16K local");
  EXPECT_EQ(source("proj", "recordsize"), "64K default");
  ASSERT_OK(pool->set_property("", "history", "all"));
  EXPECT_EQ(source("proj/web", "history"), "all inherited from (root)");
  ASSERT_OK(pool->inherit_property("proj/web", "recordsize"));
  EXPECT_EQ(source("proj/web", "recordsize"), "64K default");

  // Datasets hold separate trees.
  auto web = must(pool->dataset("proj/web"));
  ASSERT_OK(web->write_file("/index.html", "hello"));
  EXPECT_ERR(must(pool->dataset())->stat("/index.html"), NotFound);

  // Rename moves children; old handles stop working; history goes with it.
  must(pool->snapshot("proj/web", "v1"));
  ASSERT_OK(pool->rename_dataset("proj", "work"));
  EXPECT_ERR(web->stat("/index.html"), BadHandle);
  EXPECT_EQ(must(must(pool->dataset("work/web"))->read_file("/index.html")), "hello");
  EXPECT_EQ(must(must(pool->dataset_at("work/web", AsOf::at_snapshot("v1")))->read_file("/index.html")), "hello");
  EXPECT_ERR(pool->dataset("proj/web"), NotFound);
  EXPECT_ERR(pool->rename_dataset("work", "work/inside"), InvalidArgument);

  // Destroy: children and snapshots need recursive.
  EXPECT_ERR(pool->destroy_dataset("work"), Busy);
  EXPECT_ERR(pool->destroy_dataset(""), InvalidArgument);
  ASSERT_OK(pool->sync());
  const auto chunks = must(pool->stats()).chunks;
  ASSERT_OK(pool->destroy_dataset("work", /*recursive=*/true));
  EXPECT_EQ(must(pool->datasets()), std::vector<std::string>{""});
  expect_verified(*pool);
  ASSERT_OK(pool->sync());
  EXPECT_LT(must(pool->stats()).chunks, chunks);
  ASSERT_OK(pool->close());
  EXPECT_EQ(must(open()->datasets()), std::vector<std::string>{""});
}

TEST_F(HistoryTest, ReadOnlyOpenersReadSnapshotsAndHistory) {
  auto writer = create({{"history", "all"}});
  auto fs = must(writer->dataset());
  ASSERT_OK(fs->write_file("/a", "first"));
  auto s = must(writer->snapshot("", "s"));
  ASSERT_OK(fs->write_file("/a", "second"));
  ASSERT_OK(writer->sync());
  auto reader = open(/*read_only=*/true);
  EXPECT_EQ(must(must(reader->dataset_at("", AsOf::at_snapshot("s")))->read_file("/a")), "first");
  EXPECT_EQ(must(must(reader->dataset_at("", AsOf::at_tid(s.tid)))->read_file("/a")), "first");
  EXPECT_EQ(must(reader->diff("", AsOf::at_snapshot("s"))).size(), 1u);
  // A later commit of the writer becomes readable to it.
  ASSERT_OK(fs->write_file("/a", "third"));
  ASSERT_OK(writer->sync());
  auto last = must(writer->committed_tid());
  EXPECT_EQ(must(must(reader->dataset_at("", AsOf::at_tid(last)))->read_file("/a")), "third");
  EXPECT_ERR(reader->snapshot("", "no"), ReadOnly);
}

TEST_F(HistoryTest, APoolOfFormat1IsMigratedWhenOpenedForWriting) {
  {
    auto pool = create();
    ASSERT_OK(must(pool->dataset())->write_file("/kept", "from format 1"));
    ASSERT_OK(pool->close());
  }
  // Undo what formats 2, 4, 5 and 6 added, as a pool written by an early release has it.
  raw_sql(path(),
          "DROP TABLE snapshots; DROP TABLE bookmarks; DROP TABLE txgs; DROP INDEX txlog_time;"
          "DROP INDEX inodes_born; DROP INDEX inodes_died; DROP INDEX dirents_born; DROP INDEX dirents_died;"
          "DROP INDEX dirents_child; DROP INDEX extents_born; DROP INDEX extents_died; DROP INDEX xattrs_born;"
          "DROP INDEX xattrs_died; DROP INDEX kv_born; DROP INDEX kv_died;"
          "ALTER TABLE datasets DROP COLUMN origin; ALTER TABLE datasets DROP COLUMN origin_tid;"
          "ALTER TABLE datasets DROP COLUMN history_from; DROP TABLE volumes; DROP TABLE chunk_copies; DROP INDEX IF EXISTS chunk_copies_volume;"
          "DROP TABLE receive_partial; DROP TABLE receive_spool;"
          "PRAGMA user_version = 1;");
  auto ro = Pool::open(path(), PoolOpenOptions{.read_only = true});
  ASSERT_ERR(ro, ReadOnly);
  EXPECT_NE(ro.error().message.find("needs migrating"), std::string::npos);
  auto pool = open();
  EXPECT_EQ(must(must(pool->dataset())->read_file("/kept")), "from format 1");
  must(pool->snapshot("", "after"));
  expect_verified(*pool);
  ASSERT_OK(pool->close());
  EXPECT_EQ(raw_sql_int(path(), "PRAGMA user_version"), 6);
}

}  // namespace
}  // namespace anyfs::testing
