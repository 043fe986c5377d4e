// The HistoryStore conformance suite (meta/history_store.h) on SQLite and on
// PostgreSQL: snapshots and bookmarks, transaction-group ends, rollback to a
// TID, prune that keeps what a pinned TID sees, diff's changed inodes and
// states, dataset removal giving chunk references back, and the state checks
// verify uses.
#include <gtest/gtest.h>

#include "chunk/hash.h"
#include "meta/store_subjects.h"
#include "support/must.h"
#include "support/result_matchers.h"

namespace anyfs::testing {
namespace {

class HistoryStoreConformance : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    subject_ = GetParam().make();
    ASSERT_NE(subject_.meta, nullptr) << "the store could not be made";
    m = subject_.meta.get();
    h = subject_.history.get();
    must(m->begin());
    ds = must(m->create_dataset("d", 1));
    must(m->commit());
  }
  static InodeRecord node(Ino ino, FileKind kind, std::uint64_t size = 0) {
    InodeRecord r;
    r.ino = ino;
    r.kind = kind;
    r.mode = kind == FileKind::Directory ? 040755 : 0100644;
    r.nlink = 1;
    r.size = size;
    return r;
  }
  // A root directory and file /f of one extent at TID 10 (group 10), the
  // extent replaced at TID 20 (group 20), kept closed (history on).
  void two_versions() {
    must(m->begin());
    m->set_pin(ds, k_tid_live);
    m->set_txg_floor(k_tid_live);
    must(m->put_inode(ds, node(1, FileKind::Directory), 10));
    must(m->put_inode(ds, node(2, FileKind::Regular, 4096), 10));
    must(m->put_dirent(ds, {1, "f", 2, FileKind::Regular}, 10));
    must(m->put_extent(ds, {2, 0, 4096, a, 0}, 10));
    must(h->record_txg(10, 1000));
    must(m->drop_extent(ds, 2, 0, 20));
    must(m->put_extent(ds, {2, 0, 4096, b, 0}, 20));
    must(h->record_txg(20, 2000));
    must(m->commit());
  }
  const ChunkId a = sha256("a"), b = sha256("b");
  StoreSubject subject_;
  MetaStore* m = nullptr;
  HistoryStore* h = nullptr;
  DatasetId ds = 0;
};

TEST_P(HistoryStoreConformance, SnapshotsAndBookmarksAreNamedOnce) {
  ASSERT_OK(m->begin());
  ASSERT_OK(h->put_name({ds, "s2", 20, 2000, "g2"}, NameKind::Snapshot));
  ASSERT_OK(h->put_name({ds, "s1", 10, 1000, "g1"}, NameKind::Snapshot));
  ASSERT_ERR(h->put_name({ds, "s1", 30, 3000, "g3"}, NameKind::Snapshot), Exists);
  ASSERT_OK(h->put_name({ds, "s1", 10, 1000, "g1"}, NameKind::Bookmark));
  ASSERT_OK(h->rename_name(ds, "s2", "later", NameKind::Snapshot));
  ASSERT_OK(m->commit());
  const auto snaps = must(h->names(ds, NameKind::Snapshot));
  ASSERT_EQ(snaps.size(), 2u);
  EXPECT_EQ(snaps[0].name, "s1");
  EXPECT_EQ(snaps[1].name, "later");
  EXPECT_EQ(snaps[1].guid, "g2");
  EXPECT_EQ(must(h->name(ds, "s1", NameKind::Bookmark))->tid, 10u);
  ASSERT_OK(m->begin());
  ASSERT_OK(h->drop_name(ds, "s1", NameKind::Snapshot));
  ASSERT_OK(m->commit());
  EXPECT_FALSE(must(h->name(ds, "s1", NameKind::Snapshot)).has_value());
  EXPECT_TRUE(must(h->name(ds, "s1", NameKind::Bookmark)).has_value());
}

TEST_P(HistoryStoreConformance, TransactionGroupsAreFoundByTidAndByTime) {
  ASSERT_OK(m->begin());
  for (Tid t : {10, 20, 30}) ASSERT_OK(h->record_txg(t, static_cast<std::int64_t>(t) * 100));
  ASSERT_OK(m->commit());
  EXPECT_EQ(*must(h->txg_containing(15)), 20u);
  EXPECT_EQ(*must(h->txg_containing(20)), 20u);
  EXPECT_FALSE(must(h->txg_containing(31)).has_value());
  EXPECT_EQ(*must(h->txg_at_time(2500)), 20u);
  EXPECT_FALSE(must(h->txg_at_time(999)).has_value());
  EXPECT_EQ(*must(h->txg_time(30)), 3000);
  ASSERT_OK(m->begin());
  ASSERT_OK(h->forget_txgs_before(20));
  ASSERT_OK(m->commit());
  EXPECT_EQ(*must(h->txg_containing(5)), 20u);
}

TEST_P(HistoryStoreConformance, DatasetStateIsKeptAndRenamed) {
  ASSERT_OK(m->begin());
  ASSERT_OK(h->set_history_from(ds, 7));
  ASSERT_OK(h->set_origin(ds, DatasetId{99}, 42));
  ASSERT_OK(h->rename_dataset(ds, "e"));
  ASSERT_OK(m->commit());
  const auto all = must(h->datasets());
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].name, "e");
  EXPECT_EQ(all[0].history_from, std::optional<Tid>(7));
  EXPECT_EQ(all[0].origin, std::optional<DatasetId>(99));
  EXPECT_EQ(all[0].origin_tid, 42u);
  ASSERT_OK(m->begin());
  ASSERT_OK(h->set_history_from(ds, std::nullopt));
  ASSERT_OK(h->set_origin(ds, std::nullopt, 0));
  ASSERT_OK(m->commit());
  EXPECT_FALSE(must(h->datasets())[0].history_from.has_value());
  EXPECT_FALSE(must(h->datasets())[0].origin.has_value());
}

TEST_P(HistoryStoreConformance, DiffSeesTheChangedInodesAndStates) {
  two_versions();
  EXPECT_EQ(must(h->changed_inodes(ds, 10, 20)), std::vector<Ino>{2});
  EXPECT_EQ(must(h->changed_inodes(ds, 0, 10)), (std::vector<Ino>{1, 2}));
  EXPECT_EQ(must(h->changed_states(ds, 0, k_tid_live)), (std::vector<Tid>{10, 20}));
  EXPECT_EQ(must(h->changed_states(ds, 10, 20)), std::vector<Tid>{20});
  EXPECT_EQ(must(h->unique_bytes(ds, 0, 10, 20)), 4096u);
  EXPECT_EQ(must(h->unique_bytes(ds, 0, 10, 15)), 0u);
  const auto names = must(h->names_of(ds, 2, k_tid_live));
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names[0].name, "f");
  EXPECT_EQ(must(h->inode_versions(ds, 2)).size(), 1u);
  EXPECT_TRUE(must(h->check_state(ds, 10)).empty());
  EXPECT_TRUE(must(h->check_state(ds, 20)).empty());
  EXPECT_EQ(must(h->check_state(ds, 5)), std::vector<std::string>{"the root directory is missing"});
}

TEST_P(HistoryStoreConformance, RollbackMakesTheOldStateLiveAndMovesTheReferences) {
  two_versions();
  ASSERT_OK(m->begin());
  m->set_pin(ds, 0);  // nothing keeps the version rolled away
  EXPECT_GT(must(h->rollback(ds, 10, 30, 0)), 0u);
  ASSERT_OK(m->commit());
  const auto live = must(m->extents(ds, 2, 0, 4096));
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].chunk, a);
  EXPECT_EQ(must(m->refs(a)), 2);  // the closed row and its revived copy
  EXPECT_EQ(must(m->refs(b)), 0);
}

TEST_P(HistoryStoreConformance, PruneKeepsWhatAPinnedTidSeesAndFreesTheRest) {
  two_versions();
  ASSERT_OK(m->begin());
  PruneCursor kept;
  const PruneStep none = must(h->prune(ds, k_tid_live - 1, {15}, 100, kept));
  EXPECT_EQ(none.rows_removed, 0u);
  EXPECT_TRUE(kept.done());
  PruneCursor all;
  const PruneStep step = must(h->prune(ds, k_tid_live - 1, {}, 100, all));
  EXPECT_EQ(step.rows_removed, 1u);
  EXPECT_EQ(step.refs_released, 1u);
  ASSERT_OK(m->commit());
  EXPECT_EQ(must(m->refs(a)), 0);
  EXPECT_TRUE(must(m->extents(ds, 2, 0, 4096, 15)).empty());
}

TEST_P(HistoryStoreConformance, PruneInSmallStepsRemovesRowsSharingATidTogether) {
  ASSERT_OK(m->begin());
  m->set_pin(ds, k_tid_live);
  m->set_txg_floor(k_tid_live);
  for (Ino ino = 2; ino < 12; ++ino) ASSERT_OK(m->put_xattr(ds, ino, "user.x", "1", 10));
  for (Ino ino = 2; ino < 12; ++ino) ASSERT_OK(m->drop_xattr(ds, ino, "user.x", 20));
  ASSERT_OK(m->commit());
  ASSERT_OK(m->begin());
  PruneCursor cursor;
  std::uint64_t removed = 0;
  for (int steps = 0; !cursor.done() && steps < 50; ++steps) removed += must(h->prune(ds, 30, {}, 3, cursor)).rows_removed;
  ASSERT_OK(m->commit());
  EXPECT_TRUE(cursor.done());
  EXPECT_EQ(removed, 10u);
  EXPECT_TRUE(must(m->xattrs(ds, 5, 15)).empty());
}

TEST_P(HistoryStoreConformance, DroppingADatasetGivesItsReferencesBack) {
  two_versions();
  ASSERT_OK(m->begin());
  ASSERT_OK(h->put_name({ds, "s", 10, 1000, "g"}, NameKind::Snapshot));
  ASSERT_OK(m->set_property(ds, "atime", "off"));
  ASSERT_OK(h->drop_dataset(ds));
  ASSERT_OK(m->commit());
  EXPECT_EQ(must(m->refs(a)), 0);
  EXPECT_EQ(must(m->refs(b)), 0);
  EXPECT_TRUE(must(h->datasets()).empty());
  EXPECT_TRUE(must(m->properties(ds)).empty());
  EXPECT_TRUE(must(h->names(ds, NameKind::Snapshot)).empty());
}

TEST_P(HistoryStoreConformance, TheLogIsReadNewestFirstWithinATimeWindow) {
  ASSERT_OK(m->begin());
  for (Tid t = 1; t <= 5; ++t)
    ASSERT_OK(m->log({t, static_cast<std::int64_t>(t) * 10, ds, "op", "detail " + std::to_string(t)}));
  ASSERT_OK(m->commit());
  const auto newest = must(h->log_entries(k_tid_live, 0, 1000, 2));
  ASSERT_EQ(newest.size(), 2u);
  EXPECT_EQ(newest[0].tid, 5u);
  EXPECT_EQ(newest[1].detail, "detail 4");
  EXPECT_EQ(must(h->log_entries(4, 15, 30, 10)).size(), 2u);  // TIDs 3 and 2
}

INSTANTIATE_TEST_SUITE_P(Stores, HistoryStoreConformance, ::testing::Values(k_sqlite_stores, k_postgres_stores),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace anyfs::testing
