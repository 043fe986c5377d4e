// Clones through the C++ API: a clone's changes never reach its origin, a
// shared directory is not replaced under it, promote lets the origin go, and a
// clone's own snapshots and rollback see its own states.
#include <gtest/gtest.h>

#include "anyfs/pool.h"
#include "pool/history_fixture.h"
#include "support/must.h"
#include "support/random_bytes.h"
#include "support/result_matchers.h"

namespace anyfs::testing {
namespace {

TEST_F(HistoryTest, AClonesDivergenceNeverReachesItsOrigin) {
  auto pool = create({{"recordsize", "4K"}});
  auto origin = must(pool->dataset());
  std::mt19937_64 rng(11);
  Tree origin_model;
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(random_step(*origin, origin_model, rng));
  ASSERT_OK(origin->set_xattr("/", "user.tag", "root"));
  must(pool->snapshot("", "base"));
  Tree base = origin_model;
  ASSERT_OK(pool->clone("", "base", "work"));
  auto clone = must(pool->dataset("work"));
  EXPECT_EQ(tree_of(*clone), base);
  EXPECT_EQ(must(clone->get_xattr("/", "user.tag")), "root");
  // Taking a clone writes no records: it reads its origin until it changes something.
  ASSERT_OK(pool->sync());
  EXPECT_EQ(rows("inodes", "ds = (SELECT id FROM datasets WHERE name = 'work')"), 0);

  Tree clone_model = base;
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 25; ++i) ASSERT_TRUE(random_step(*clone, clone_model, rng));
    for (int i = 0; i < 25; ++i) ASSERT_TRUE(random_step(*origin, origin_model, rng));
    ASSERT_EQ(tree_of(*clone), clone_model);
    ASSERT_EQ(tree_of(*origin), origin_model);
    ASSERT_EQ(tree_at(*pool, "", AsOf::at_snapshot("base")), base);
    expect_verified(*pool);
  }
  // Changing one attribute of a shared file is one change in the clone's diff.
  must(pool->snapshot("work", "w1"));
  std::string some_file;
  for (const auto& [p, c] : clone_model)
    if (c != "/") some_file = p;
  ASSERT_FALSE(some_file.empty());
  ASSERT_OK(clone->chmod(some_file, 0600));
  auto changes = must(pool->diff("work", AsOf::at_snapshot("w1")));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].path, some_file);
  EXPECT_EQ(changes[0].change, DiffEntry::Change::Modified);
  EXPECT_EQ(tree_at(*pool, "work", AsOf::at_snapshot("w1")), clone_model);

  // The origin's snapshot is held while the clone needs it.
  EXPECT_ERR(pool->destroy_snapshot("", "base"), Busy);
  ASSERT_OK(pool->close());
  auto again = open();
  EXPECT_EQ(tree_of(*must(again->dataset("work"))), clone_model);
  EXPECT_EQ(tree_of(*must(again->dataset())), origin_model);
  expect_verified(*again);
  auto list = must(again->dataset_list());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].origin, "@base");
}

// A directory a clone shares with its origin has its origin's entries: a
// rename must not replace it as if it were empty (path and inode calls alike).
TEST_F(HistoryTest, AClonesSharedDirectoryWithEntriesIsNotReplacedByARename) {
  auto pool = create();
  auto origin = must(pool->dataset());
  for (const char* d : {"/full", "/empty1", "/empty2"}) ASSERT_OK(origin->mkdir(d, 0755));
  ASSERT_OK(origin->write_file("/full/keep", "kept"));
  must(pool->snapshot("", "s"));
  ASSERT_OK(pool->clone("", "s", "c"));
  auto clone = must(pool->dataset("c"));
  EXPECT_ERR(clone->rename("/empty1", "/full"), NotEmpty);
  const std::uint64_t root = 1;  // the root directory
  EXPECT_ERR(clone->rename(root, "empty2", root, "full", RenameFlags::None), NotEmpty);
  EXPECT_EQ(must(clone->read_file("/full/keep")), "kept");
  expect_verified(*pool);
}

TEST_F(HistoryTest, PromoteLetsTheOriginGoAndAClonesCloneReadsThroughBoth) {
  auto pool = create();
  auto origin = must(pool->dataset());
  std::mt19937_64 rng(12);
  Tree model;
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(random_step(*origin, model, rng));
  must(pool->snapshot("", "s"));
  ASSERT_OK(pool->clone("", "s", "a"));
  auto a = must(pool->dataset("a"));
  Tree a_model = model;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(random_step(*a, a_model, rng));
  must(pool->snapshot("a", "as"));
  ASSERT_OK(pool->clone("a", "as", "b"));  // a clone of a clone
  auto b = must(pool->dataset("b"));
  Tree b_model = a_model;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(random_step(*b, b_model, rng));
  EXPECT_EQ(tree_of(*b), b_model);
  expect_verified(*pool);

  // Promote needs the clone's own snapshots gone; then b stands alone.
  EXPECT_ERR(pool->promote(""), InvalidArgument);
  ASSERT_OK(pool->promote("b"));
  EXPECT_EQ(tree_of(*b), b_model);
  EXPECT_ERR(pool->promote("b"), InvalidArgument);  // not a clone any more
  ASSERT_OK(pool->destroy_snapshot("a", "as"));
  ASSERT_OK(pool->promote("a"));
  // Nothing depends on the first snapshot now: it and what only it held can go.
  ASSERT_OK(pool->destroy_snapshot("", "s"));
  must(pool->prune());
  GcOptions now;
  now.grace_seconds = 0;
  must(pool->gc(now));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(random_step(*origin, model, rng));
  EXPECT_EQ(tree_of(*a), a_model);
  EXPECT_EQ(tree_of(*b), b_model);
  EXPECT_EQ(tree_of(*origin), model);
  expect_verified(*pool);
  ASSERT_OK(pool->close());
  auto again = open();
  EXPECT_EQ(tree_of(*must(again->dataset("a"))), a_model);
  EXPECT_EQ(tree_of(*must(again->dataset("b"))), b_model);
  for (const auto& d : must(again->dataset_list())) EXPECT_EQ(d.origin, "") << d.name;
  expect_verified(*again);
}

TEST_F(HistoryTest, AClonesSnapshotsAndRollbackSeeItsOwnStates) {
  auto pool = create({{"history", "all"}});
  auto origin = must(pool->dataset());
  ASSERT_OK(origin->write_file("/shared", "from the origin"));
  ASSERT_OK(origin->mkdirs("/dir/sub"));
  ASSERT_OK(origin->write_file("/dir/sub/deep", "deep"));
  must(pool->snapshot("", "s"));
  ASSERT_OK(pool->clone("", "s", "c"));
  auto c = must(pool->dataset("c"));
  must(pool->snapshot("c", "untouched"));
  ASSERT_OK(c->write_file("/shared", "changed in the clone"));
  ASSERT_OK(c->rename("/dir/sub/deep", "/moved"));
  ASSERT_OK(pool->sync());
  std::uint64_t changed_at = must(pool->committed_tid());
  EXPECT_EQ(must(must(pool->dataset_at("c", AsOf::at_snapshot("untouched")))->read_file("/shared")),
            "from the origin");
  EXPECT_EQ(must(must(pool->dataset_at("c", AsOf::at_tid(changed_at)))->read_file("/moved")), "deep");
  EXPECT_EQ(must(origin->read_file("/dir/sub/deep")), "deep");
  ASSERT_OK(pool->rollback("c", "untouched"));
  EXPECT_EQ(must(c->read_file("/shared")), "from the origin");
  EXPECT_EQ(must(c->read_file("/dir/sub/deep")), "deep");
  EXPECT_ERR(c->stat("/moved"), NotFound);
  expect_verified(*pool);
  EXPECT_ERR(pool->clone("", "nope", "x"), NotFound);
  EXPECT_ERR(pool->clone("", "s", "c"), Exists);
  EXPECT_ERR(pool->clone("", "s", "missing/x"), NotFound);
}

}  // namespace
}  // namespace anyfs::testing
