// The MetaStore conformance suite (meta/meta_store.h): the record model every
// engine must keep — live and as-of reads of TID-versioned rows, rows closed
// while something can see them and removed otherwise, chunk references
// counted once per extent row and released at zero, bytewise names, batches
// past any page size. Run on the SQLite store and on the PostgreSQL store
// against a real server (issue 19).
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "chunk/hash.h"
#include "meta/meta_store.h"
#include "meta/store_subjects.h"
#include "support/must.h"
#include "support/result_matchers.h"
#include "util/clock.h"

namespace anyfs::testing {
namespace {

class MetaStoreConformance : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    subject_ = GetParam().make();
    ASSERT_NE(subject_.meta, nullptr) << "the store could not be made";
    s = subject_.meta.get();
  }
  InodeRecord file(Ino ino, std::uint64_t size = 0) {
    InodeRecord r;
    r.ino = ino;
    r.kind = FileKind::Regular;
    r.mode = 0100644;
    r.nlink = 1;
    r.size = size;
    r.mtime_ns = 1'700'000'000'123'456'789;
    return r;
  }
  // Rows closed at or after `pin` stay readable (as a snapshot at `pin` would).
  void keep_from(DatasetId ds, Tid pin) {
    s->set_pin(ds, pin);
    s->set_txg_floor(pin);
  }
  StoreSubject subject_;
  MetaStore* s = nullptr;
};

TEST_P(MetaStoreConformance, SettingsAreKeptAndReplaced) {
  ASSERT_OK(s->begin());
  EXPECT_FALSE(must(s->setting("uuid")).has_value());
  ASSERT_OK(s->set_setting("uuid", "abc"));
  ASSERT_OK(s->set_setting("uuid", std::string("d\0e\xff", 4)));
  ASSERT_OK(s->commit());
  EXPECT_EQ(*must(s->setting("uuid")), std::string("d\0e\xff", 4));
}

TEST_P(MetaStoreConformance, DatasetsAndPropertiesAreListedByName) {
  ASSERT_OK(s->begin());
  const DatasetId b = must(s->create_dataset("b", 5));
  const DatasetId a = must(s->create_dataset("a/x", 7));
  EXPECT_NE(a, b);
  ASSERT_ERR(s->create_dataset("b", 9), Exists);
  ASSERT_OK(s->rollback());
  ASSERT_OK(s->begin());
  const DatasetId c = must(s->create_dataset("c", 5));
  const DatasetId d = must(s->create_dataset("a/x", 7));
  ASSERT_OK(s->set_property(c, "compression", "zstd"));
  ASSERT_OK(s->set_property(c, "atime", "off"));
  ASSERT_OK(s->set_property(c, "compression", "lz4"));
  ASSERT_OK(s->set_property(d, "atime", "on"));
  ASSERT_OK(s->commit());
  const auto all = must(s->datasets());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "a/x");
  EXPECT_EQ(all[0].created_tid, 7u);
  EXPECT_EQ(all[1].name, "c");
  EXPECT_EQ(*must(s->property(c, "compression")), "lz4");
  const auto props = must(s->properties(c));
  ASSERT_EQ(props.size(), 2u);
  EXPECT_EQ(props[0], (std::pair<std::string, std::string>{"atime", "off"}));
  ASSERT_OK(s->begin());
  ASSERT_OK(s->set_property(c, "atime", std::nullopt));
  ASSERT_OK(s->commit());
  EXPECT_FALSE(must(s->property(c, "atime")).has_value());
  EXPECT_EQ(*must(s->property(d, "atime")), "on");
}

TEST_P(MetaStoreConformance, AReplacedInodeIsReadAsOfEitherVersionWhileKept) {
  ASSERT_OK(s->begin());
  const DatasetId ds = must(s->create_dataset("d", 1));
  keep_from(ds, k_tid_live);
  InodeRecord v1 = file(2, 100);
  v1.target = std::string("t\0\xfe", 3);
  ASSERT_OK(s->put_inode(ds, v1, 10));
  InodeRecord v2 = file(2, 200);
  ASSERT_OK(s->put_inode(ds, v2, 20));
  ASSERT_OK(s->commit());
  EXPECT_EQ(must(s->inode(ds, 2))->size, 200u);
  EXPECT_EQ(must(s->inode(ds, 2))->tid_from, 20u);
  const auto then = must(s->inode(ds, 2, 15));
  ASSERT_TRUE(then.has_value());
  EXPECT_EQ(then->size, 100u);
  EXPECT_EQ(then->target, std::string("t\0\xfe", 3));
  EXPECT_EQ(then->mtime_ns, v1.mtime_ns);
  EXPECT_FALSE(must(s->inode(ds, 2, 9)).has_value());
  EXPECT_EQ(must(s->max_ino()), 2u);
  EXPECT_GE(must(s->max_tid()), 20u);
}

TEST_P(MetaStoreConformance, WithoutAPinAReplacedRowIsGoneAtOnce) {
  ASSERT_OK(s->begin());
  const DatasetId ds = must(s->create_dataset("d", 1));
  ASSERT_OK(s->put_inode(ds, file(2, 100), 10));
  ASSERT_OK(s->put_inode(ds, file(2, 200), 20));
  ASSERT_OK(s->commit());
  EXPECT_FALSE(must(s->inode(ds, 2, 15)).has_value());
  ASSERT_OK(s->begin());
  ASSERT_OK(s->drop_inode(ds, 2, 30));
  ASSERT_OK(s->commit());
  EXPECT_FALSE(must(s->inode(ds, 2)).has_value());
  std::size_t rows = 0;
  ASSERT_OK(s->for_each_inode([&](DatasetId, const InodeRecord&) -> Result<void> {
    ++rows;
    return {};
  }));
  EXPECT_EQ(rows, 0u);
}

TEST_P(MetaStoreConformance, EntriesAreSortedBytewiseAndLookedUpAsOf) {
  ASSERT_OK(s->begin());
  const DatasetId ds = must(s->create_dataset("d", 1));
  keep_from(ds, k_tid_live);
  for (const std::string name : {"b", "B", "a", "\x01x", "\xff\xfe", "a b"})
    ASSERT_OK(s->put_dirent(ds, {1, name, 5, FileKind::Regular}, 10));
  ASSERT_OK(s->put_dirent(ds, {1, "a", 6, FileKind::Directory}, 20));
  ASSERT_OK(s->drop_dirent(ds, 1, "b", 30));
  ASSERT_OK(s->commit());
  std::vector<std::string> names;
  for (const auto& e : must(s->list_dir(ds, 1))) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"\x01x", "B", "a", "a b", "\xff\xfe"}));
  EXPECT_EQ(must(s->list_dir(ds, 1, 25)).size(), 6u);
  EXPECT_EQ(must(s->lookup(ds, 1, "a"))->ino, 6u);
  EXPECT_EQ(must(s->lookup(ds, 1, "a"))->kind, FileKind::Directory);
  EXPECT_EQ(must(s->lookup(ds, 1, "a", 15))->ino, 5u);
  EXPECT_FALSE(must(s->lookup(ds, 1, "b")).has_value());
  EXPECT_EQ(must(s->lookup(ds, 1, "b", 25))->ino, 5u);
  EXPECT_FALSE(must(s->lookup(ds, 1, "a", 9)).has_value());
  EXPECT_TRUE(must(s->has_entries(ds, 1)));
  EXPECT_FALSE(must(s->has_entries(ds, 2)));
  EXPECT_FALSE(must(s->has_entries(ds, 1, 9)));
}

TEST_P(MetaStoreConformance, ExtentsOverlappingARangeAndTheirReferences) {
  const ChunkId a = sha256("a"), b = sha256("b");
  ASSERT_OK(s->begin());
  const DatasetId ds = must(s->create_dataset("d", 1));
  ASSERT_OK(s->put_inode(ds, file(2, 12288), 10));
  ASSERT_OK(s->put_extent(ds, {2, 0, 4096, a, 0}, 10));
  ASSERT_OK(s->put_extent(ds, {2, 4096, 4096, b, 0}, 10));
  ASSERT_OK(s->put_extent(ds, {2, 8192, 4096, a, 0}, 10));
  ASSERT_OK(s->commit());
  const auto mid = must(s->extents(ds, 2, 5000, 6000));
  ASSERT_EQ(mid.size(), 1u);
  EXPECT_EQ(mid[0].offset, 4096u);
  EXPECT_EQ(mid[0].chunk, b);
  EXPECT_EQ(must(s->extents(ds, 2, 4000, 8193)).size(), 3u);
  EXPECT_EQ(must(s->extents(ds, 2, 12288, 20000)).size(), 0u);
  EXPECT_EQ(must(s->refs(a)), 2);
  EXPECT_EQ(must(s->refs(b)), 1);
  // Dropping without a pin removes the row and gives its reference back.
  ASSERT_OK(s->begin());
  ASSERT_OK(s->drop_extent(ds, 2, 4096, 20));
  EXPECT_EQ(must(s->take_released()), std::vector<ChunkId>{b});
  ASSERT_ERR(s->drop_extent(ds, 2, 4096, 20), Corrupt);
  ASSERT_OK(s->commit());
  EXPECT_EQ(must(s->refs(b)), 0);
  EXPECT_EQ(must(s->unreferenced(wall_clock_ns() + 1'000'000'000)), std::vector<ChunkId>{b});
  EXPECT_TRUE(must(s->unreferenced(0)).empty());
  ASSERT_OK(s->begin());
  ASSERT_OK(s->forget_chunk(b));
  ASSERT_OK(s->commit());
  EXPECT_TRUE(must(s->unreferenced(wall_clock_ns() + 1'000'000'000)).empty());
}

TEST_P(MetaStoreConformance, AClosedExtentKeepsItsReferenceAndIsVisitedWithClosedRows) {
  const ChunkId a = sha256("a");
  ASSERT_OK(s->begin());
  const DatasetId ds = must(s->create_dataset("d", 1));
  keep_from(ds, k_tid_live);
  ASSERT_OK(s->put_inode(ds, file(2, 4096), 10));
  ASSERT_OK(s->put_extent(ds, {2, 0, 4096, a, 0}, 10));
  ASSERT_OK(s->drop_inode(ds, 2, 20));
  EXPECT_TRUE(must(s->take_released()).empty());
  ASSERT_OK(s->commit());
  EXPECT_EQ(must(s->refs(a)), 1);
  EXPECT_TRUE(must(s->extents(ds, 2, 0, 4096)).empty());
  EXPECT_EQ(must(s->extents(ds, 2, 0, 4096, 15)).size(), 1u);
  int live = 0, all = 0;
  ASSERT_OK(s->for_each_extent([&](DatasetId, const ExtentRecord&) -> Result<void> {
    ++live;
    return {};
  }));
  ASSERT_OK(s->for_each_extent(
      [&](DatasetId, const ExtentRecord& e) -> Result<void> {
        EXPECT_EQ(e.chunk, a);
        ++all;
        return {};
      },
      true));
  EXPECT_EQ(live, 0);
  EXPECT_EQ(all, 1);
}

TEST_P(MetaStoreConformance, AChunkStoredAndLetGoInOneTransactionIsReleased) {
  const ChunkId a = sha256("gone");
  ASSERT_OK(s->begin());
  const DatasetId ds = must(s->create_dataset("d", 1));
  ASSERT_OK(s->put_inode(ds, file(2, 4096), 10));
  ASSERT_OK(s->put_extent(ds, {2, 0, 4096, a, 0}, 10));
  ASSERT_OK(s->drop_extent(ds, 2, 0, 10));
  EXPECT_EQ(must(s->take_released()), std::vector<ChunkId>{a});
  ASSERT_OK(s->commit());
  bool seen = false;
  ASSERT_OK(s->for_each_ref([&](const ChunkRef& r) -> Result<void> {
    if (r.chunk == a) seen = r.refs == 0;
    return {};
  }));
  EXPECT_TRUE(seen) << "a chunk stored and let go keeps a row so that it is freed";
}

TEST_P(MetaStoreConformance, XattrsHoldAnyBytesAndAreReadAsOf) {
  const std::string value("v\0\xff\x01", 4);
  ASSERT_OK(s->begin());
  const DatasetId ds = must(s->create_dataset("d", 1));
  keep_from(ds, k_tid_live);
  ASSERT_OK(s->put_xattr(ds, 2, "user.b", value, 10));
  ASSERT_OK(s->put_xattr(ds, 2, "user.a", "1", 10));
  ASSERT_OK(s->put_xattr(ds, 2, "user.a", "2", 20));
  ASSERT_OK(s->drop_xattr(ds, 2, "user.b", 30));
  ASSERT_OK(s->commit());
  EXPECT_EQ(*must(s->xattr(ds, 2, "user.a")), "2");
  EXPECT_EQ(*must(s->xattr(ds, 2, "user.a", 15)), "1");
  EXPECT_FALSE(must(s->xattr(ds, 2, "user.b")).has_value());
  EXPECT_EQ(*must(s->xattr(ds, 2, "user.b", 25)), value);
  const auto then = must(s->xattrs(ds, 2, 25));
  ASSERT_EQ(then.size(), 2u);
  EXPECT_EQ(then[0].first, "user.a");
  EXPECT_EQ(must(s->xattrs(ds, 2)).size(), 1u);
}

TEST_P(MetaStoreConformance, ARollbackLeavesNothingBehind) {
  const ChunkId a = sha256("a");
  ASSERT_OK(s->begin());
  const DatasetId ds = must(s->create_dataset("d", 1));
  ASSERT_OK(s->commit());
  ASSERT_OK(s->begin());
  EXPECT_TRUE(s->in_transaction());
  ASSERT_OK(s->put_inode(ds, file(2, 4096), 10));
  ASSERT_OK(s->put_extent(ds, {2, 0, 4096, a, 0}, 10));
  ASSERT_OK(s->rollback());
  EXPECT_FALSE(s->in_transaction());
  EXPECT_FALSE(must(s->inode(ds, 2)).has_value());
  EXPECT_EQ(must(s->refs(a)), 0);
}

TEST_P(MetaStoreConformance, UnlinkedInodesAreFound) {
  ASSERT_OK(s->begin());
  const DatasetId ds = must(s->create_dataset("d", 1));
  InodeRecord orphan = file(3);
  orphan.nlink = 0;
  ASSERT_OK(s->put_inode(ds, file(2), 10));
  ASSERT_OK(s->put_inode(ds, orphan, 10));
  ASSERT_OK(s->commit());
  EXPECT_EQ(must(s->unlinked_inodes(ds)), std::vector<Ino>{3});
}

TEST_P(MetaStoreConformance, EveryRowIsVisitedPastOneBatch) {
  // More rows than one page of the PostgreSQL store's scans (10,000).
  constexpr int k_rows = 10'050;
  ASSERT_OK(s->begin());
  const DatasetId ds = must(s->create_dataset("d", 1));
  for (int n = 0; n < k_rows; ++n) {
    ASSERT_OK(s->put_dirent(ds, {1, "f" + std::to_string(n), static_cast<Ino>(n + 2), FileKind::Regular}, 10));
    ASSERT_OK(s->put_extent(ds, {static_cast<Ino>(n % 7 + 2), static_cast<std::uint64_t>(n) * 4096, 4096,
                                 sha256(std::to_string(n % 100)), 0},
                            10));
  }
  ASSERT_OK(s->commit());
  std::set<std::string> names;
  ASSERT_OK(s->for_each_dirent([&](DatasetId, const DirentRecord& e) -> Result<void> {
    names.insert(e.name);
    return {};
  }));
  EXPECT_EQ(names.size(), static_cast<std::size_t>(k_rows));
  std::size_t extents = 0;
  std::int64_t refs = 0;
  ASSERT_OK(s->for_each_extent([&](DatasetId, const ExtentRecord&) -> Result<void> {
    ++extents;
    return {};
  }));
  ASSERT_OK(s->for_each_ref([&](const ChunkRef& r) -> Result<void> {
    refs += r.refs;
    return {};
  }));
  EXPECT_EQ(extents, static_cast<std::size_t>(k_rows));
  EXPECT_EQ(refs, k_rows);
}

TEST_P(MetaStoreConformance, TheLogAndResumableReceivesAreKept) {
  ASSERT_OK(s->begin());
  ASSERT_OK(s->log({42, 1234, 1, "write", std::string("/a\xff", 3)}));
  ASSERT_OK(s->spool("t", {"tok", 10, 1}, "0123456789"));
  ASSERT_OK(s->spool("t", {"tok", 15, 2}, "abcde"));
  ASSERT_OK(s->commit());
  EXPECT_GE(must(s->max_tid()), 42u);
  const auto partial = must(s->partial_receive("t"));
  ASSERT_TRUE(partial.has_value());
  EXPECT_EQ(partial->bytes, 15u);
  EXPECT_EQ(partial->pieces, 2u);
  EXPECT_EQ(must(s->spool_piece("t", 1)), "abcde");
  ASSERT_ERR(s->spool_piece("t", 2), Corrupt);
  ASSERT_OK(s->begin());
  ASSERT_OK(s->drop_partial_receive("t"));
  ASSERT_OK(s->commit());
  EXPECT_FALSE(must(s->partial_receive("t")).has_value());
}

TEST_P(MetaStoreConformance, ASnapshotReadsWhatWasCommittedWhenItBegan) {
  ASSERT_OK(s->begin());
  const DatasetId ds = must(s->create_dataset("d", 1));
  ASSERT_OK(s->put_inode(ds, file(2, 1), 10));
  ASSERT_OK(s->commit());
  ASSERT_OK(s->begin_snapshot());
  EXPECT_EQ(must(s->inode(ds, 2))->size, 1u);
  ASSERT_OK(s->end_snapshot());
  EXPECT_FALSE(s->in_transaction());
}

INSTANTIATE_TEST_SUITE_P(Stores, MetaStoreConformance, ::testing::Values(k_sqlite_stores, k_postgres_stores),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace anyfs::testing
