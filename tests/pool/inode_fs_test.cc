// A dataset through its inode-level interface (anyfs/inode_fs.h), as the FUSE
// mount uses it: names by (directory, name), objects by number, owners from
// the caller, loops refused, reflinked ranges, holes, numbers that outlive
// their objects, and the txlog still naming paths.
#include <gtest/gtest.h>

#include "anyfs/pool.h"
#include "support/must.h"
#include "support/result_matchers.h"
#include "support/temp_dir.h"

namespace anyfs::testing {
namespace {

class InodeFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = must(Pool::create(tmp_.str() + "/p.anyfs"));
    ds_ = must(pool_->dataset());
  }
  Stat make(std::uint64_t dir, const std::string& name, FileKind kind = FileKind::Regular, std::uint32_t mode = 0644) {
    NewObject what;
    what.kind = kind;
    what.mode = mode;
    what.uid = 1000;
    what.gid = 100;
    if (kind == FileKind::Symlink) what.target = "target";
    return must(ds_->make(dir, name, what));
  }
  std::string read_all(std::uint64_t ino) {
    auto f = must(ds_->open(ino, OpenFlags::Read));
    std::string out(must(f->stat()).size, '\0');
    must(f->pread(out, 0));
    return out;
  }
  void write(std::uint64_t ino, const std::string& data, std::uint64_t at = 0) {
    auto f = must(ds_->open(ino, OpenFlags::Write));
    must(f->pwrite(data, at));
  }

  TempDir tmp_;
  std::shared_ptr<Pool> pool_;
  std::shared_ptr<Dataset> ds_;
};

TEST_F(InodeFsTest, ObjectsAreMadeFoundAndListedByNumber) {
  Stat dir = make(k_root_ino, "d", FileKind::Directory, 0755);
  Stat file = make(dir.ino, "f");
  Stat link = make(dir.ino, "l", FileKind::Symlink);
  Stat fifo = make(dir.ino, "p", FileKind::Fifo, 0600);
  EXPECT_EQ(must(ds_->lookup(k_root_ino, "d")).ino, dir.ino);
  EXPECT_EQ(must(ds_->lookup(dir.ino, "f")).ino, file.ino);
  EXPECT_EQ(file.uid, 1000u);
  EXPECT_EQ(file.gid, 100u);
  EXPECT_EQ(must(ds_->readlink(link.ino)), "target");
  EXPECT_EQ(must(ds_->getattr(fifo.ino)).kind, FileKind::Fifo);
  EXPECT_EQ(must(ds_->getattr(dir.ino)).nlink, 2u);
  EXPECT_EQ(must(ds_->getattr(k_root_ino)).nlink, 3u);
  auto names = must(ds_->list(dir.ino));
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0].name, "f");
  // The path calls see the same objects.
  EXPECT_EQ(must(ds_->stat("/d/f")).ino, file.ino);
  EXPECT_EQ(must(ds_->lstat("/d/p")).kind, FileKind::Fifo);
  // Errors.
  EXPECT_ERR(ds_->lookup(dir.ino, "missing"), NotFound);
  EXPECT_ERR(ds_->lookup(file.ino, "x"), NotDir);
  EXPECT_ERR(ds_->make(dir.ino, "f", {}), Exists);
  EXPECT_ERR(ds_->make(dir.ino, "..", {}), InvalidArgument);
  EXPECT_ERR(ds_->make(dir.ino, "a/b", {}), InvalidPath);
  EXPECT_ERR(ds_->make(dir.ino, std::string(256, 'n'), {}), NameTooLong);
  EXPECT_ERR(ds_->readlink(file.ino), InvalidArgument);
  EXPECT_ERR(ds_->getattr(999999), NotFound);
}

TEST_F(InodeFsTest, SetGroupIdDirectoriesPassOnTheirGroup) {
  Stat shared = make(k_root_ino, "shared", FileKind::Directory, 02775);
  ASSERT_OK(ds_->setattr(shared.ino, {.gid = 4242}));
  Stat file = make(shared.ino, "f");
  Stat sub = make(shared.ino, "sub", FileKind::Directory, 0755);
  EXPECT_EQ(file.gid, 4242u);
  EXPECT_EQ(file.mode & 02000, 0u);
  EXPECT_EQ(sub.gid, 4242u);
  EXPECT_EQ(sub.mode, 02755u);
  // And through the path API too.
  ASSERT_OK(ds_->mkdir("/shared/by-path", 0700));
  EXPECT_EQ(must(ds_->stat("/shared/by-path")).gid, 4242u);
}

TEST_F(InodeFsTest, SetattrChangesEverythingInOneCall) {
  Stat f = make(k_root_ino, "f");
  write(f.ino, "0123456789");
  Stat after = must(ds_->setattr(f.ino, {.mode = 0600, .uid = 7, .gid = 8, .size = 4,
                                          .atime = TimeSpec::at(1000), .mtime = TimeSpec::omit()}));
  EXPECT_EQ(after.mode, 0600u);
  EXPECT_EQ(after.uid, 7u);
  EXPECT_EQ(after.gid, 8u);
  EXPECT_EQ(after.size, 4u);
  EXPECT_EQ(after.atime_ns, 1000);
  EXPECT_EQ(read_all(f.ino), "0123");
  EXPECT_ERR(ds_->setattr(k_root_ino, {.size = 0}), IsDir);
}

TEST_F(InodeFsTest, RenameRefusesLoopsAndKeepsItsFlags) {
  Stat a = make(k_root_ino, "a", FileKind::Directory);
  Stat b = make(a.ino, "b", FileKind::Directory);
  Stat c = make(b.ino, "c", FileKind::Directory);
  EXPECT_ERR(ds_->rename(k_root_ino, "a", c.ino, "a", RenameFlags::None), InvalidArgument);
  EXPECT_ERR(ds_->rename(k_root_ino, "a", a.ino, "x", RenameFlags::None), InvalidArgument);
  // Over a non-empty ancestor of the source: not empty (as Linux).
  EXPECT_ERR(ds_->rename(b.ino, "c", k_root_ino, "a", RenameFlags::None), NotEmpty);
  // The same checks after the cache of where directories hang is cold.
  auto reopened = must(pool_->dataset());
  ASSERT_OK(ds_->sync());
  ds_.reset();
  must(pool_->close());
  pool_ = must(Pool::open(tmp_.str() + "/p.anyfs"));
  ds_ = must(pool_->dataset());
  EXPECT_ERR(ds_->rename(k_root_ino, "a", c.ino, "a", RenameFlags::None), InvalidArgument);
  // Moves that are fine.
  Stat f = make(c.ino, "f");
  ASSERT_OK(ds_->rename(c.ino, "f", k_root_ino, "g", RenameFlags::None));
  EXPECT_EQ(must(ds_->lookup(k_root_ino, "g")).ino, f.ino);
  ASSERT_OK(ds_->rename(a.ino, "b", k_root_ino, "b", RenameFlags::None));
  EXPECT_EQ(must(ds_->getattr(a.ino)).nlink, 2u);
  EXPECT_EQ(must(ds_->stat("/b/c")).ino, c.ino);
  make(k_root_ino, "h");
  EXPECT_ERR(ds_->rename(k_root_ino, "g", k_root_ino, "h", RenameFlags::NoReplace), Exists);
  ASSERT_OK(ds_->rename(k_root_ino, "g", k_root_ino, "b", RenameFlags::Exchange));
  EXPECT_EQ(must(ds_->lookup(k_root_ino, "b")).ino, f.ino);
  EXPECT_EQ(must(ds_->stat("/g/c")).ino, c.ino);
  ASSERT_OK(ds_->sync());
  EXPECT_TRUE(must(pool_->verify()).ok());
}

TEST_F(InodeFsTest, UnlinkChecksKindsAndKeepsOpenFiles) {
  Stat d = make(k_root_ino, "d", FileKind::Directory);
  make(d.ino, "inner");
  Stat f = make(k_root_ino, "f");
  write(f.ino, "kept");
  EXPECT_ERR(ds_->unlink(k_root_ino, "d", false), IsDir);
  EXPECT_ERR(ds_->unlink(k_root_ino, "f", true), NotDir);
  EXPECT_ERR(ds_->unlink(k_root_ino, "d", true), NotEmpty);
  auto handle = must(ds_->open(f.ino, OpenFlags::ReadWrite));
  ASSERT_OK(ds_->unlink(k_root_ino, "f", false));
  EXPECT_EQ(must(ds_->getattr(f.ino)).nlink, 0u);
  std::string buf(4, '\0');
  EXPECT_EQ(must(handle->pread(buf, 0)), 4u);
  EXPECT_EQ(buf, "kept");
  ASSERT_OK(handle->close());
  EXPECT_ERR(ds_->getattr(f.ino), NotFound) << "the number outlives its object";
  EXPECT_ERR(ds_->open(f.ino, OpenFlags::Read), NotFound);
}

TEST_F(InodeFsTest, LinkAndOpenFollowTheRules) {
  Stat f = make(k_root_ino, "f");
  Stat d = make(k_root_ino, "d", FileKind::Directory);
  EXPECT_EQ(must(ds_->link(f.ino, d.ino, "again")).nlink, 2u);
  EXPECT_ERR(ds_->link(d.ino, k_root_ino, "dirlink"), NotPermitted);
  EXPECT_ERR(ds_->link(f.ino, d.ino, "again"), Exists);
  EXPECT_ERR(ds_->open(d.ino, OpenFlags::Write), IsDir);
  EXPECT_ERR(ds_->open(f.ino, OpenFlags::Write | OpenFlags::Create), InvalidArgument);
  write(f.ino, "abc");
  auto t = must(ds_->open(f.ino, OpenFlags::Write | OpenFlags::Truncate));
  EXPECT_EQ(must(t->stat()).size, 0u);
}

TEST_F(InodeFsTest, CloneRangeSharesChunksAndPunchHoleZeroes) {
  Stat a = make(k_root_ino, "a");
  Stat b = make(k_root_ino, "b");
  std::string data;
  for (int i = 0; data.size() < (1 << 20); ++i) data += std::to_string(i * 7919) + ",";
  write(a.ino, data);
  write(b.ino, std::string(100, '.'));
  ASSERT_OK(ds_->sync());
  const auto before = must(pool_->stats());
  EXPECT_EQ(must(ds_->clone_range(a.ino, 0, b.ino, 50, data.size())), data.size());
  EXPECT_EQ(read_all(b.ino), std::string(50, '.') + data);
  EXPECT_EQ(must(ds_->clone_range(a.ino, data.size(), b.ino, 0, 10)), 0u) << "past the end: nothing";
  EXPECT_ERR(ds_->clone_range(a.ino, 0, a.ino, 10, 100), InvalidArgument);
  EXPECT_ERR(ds_->clone_range(a.ino, 0, k_root_ino, 0, 100), IsDir);
  ASSERT_OK(ds_->sync());
  EXPECT_EQ(must(pool_->stats()).chunk_raw_bytes, before.chunk_raw_bytes) << "no data stored again";
  // A hole in the middle of the clone leaves the source alone.
  ASSERT_OK(ds_->punch_hole(b.ino, 1000, 5000));
  std::string b_now = read_all(b.ino);
  EXPECT_EQ(b_now.size(), 50 + data.size());
  EXPECT_EQ(b_now.substr(1000, 5000), std::string(5000, '\0'));
  EXPECT_EQ(b_now.substr(6000), data.substr(5950));
  EXPECT_EQ(read_all(a.ino), data);
  ASSERT_OK(ds_->sync());
  EXPECT_TRUE(must(pool_->verify()).ok());
}

TEST_F(InodeFsTest, ChangesByNumberAreLoggedUnderTheirPaths) {
  Stat d = make(k_root_ino, "docs", FileKind::Directory);
  Stat f = make(d.ino, "notes");
  write(f.ino, "x");
  Stat other = make(k_root_ino, "other");
  write(f.ino, "y", 1);
  ASSERT_OK(ds_->set_xattr(other.ino, "user.k", "v", XattrFlags::None));
  ASSERT_OK(ds_->rename(d.ino, "notes", k_root_ino, "moved", RenameFlags::None));
  ASSERT_OK(ds_->sync());
  std::vector<std::string> details;
  for (const auto& e : must(pool_->log({}))) details.push_back(e.op + " " + e.detail);
  auto has = [&](const std::string& s) { return std::find(details.begin(), details.end(), s) != details.end(); };
  EXPECT_TRUE(has("mkdir /docs"));
  EXPECT_TRUE(has("create /docs/notes"));
  // (the write is in the create's row: the txlog keeps one row per run of
  // operations on one path)
  EXPECT_TRUE(has("write /docs/notes")) << ::testing::PrintToString(details);
  EXPECT_TRUE(has("set_xattr /other"));
  EXPECT_TRUE(has("rename /docs/notes -> /moved"));
}

TEST_F(InodeFsTest, AViewOfThePastIsReadOnlyByNumberToo) {
  Stat f = make(k_root_ino, "f");
  ASSERT_OK(pool_->snapshot("", "s"));
  auto past = must(pool_->dataset_at("", AsOf::at_snapshot("s")));
  EXPECT_EQ(must(past->lookup(k_root_ino, "f")).ino, f.ino);
  EXPECT_ERR(past->make(k_root_ino, "g", {}), ReadOnly);
  EXPECT_ERR(past->setattr(f.ino, {.mode = 0600}), ReadOnly);
  EXPECT_ERR(past->open(f.ino, OpenFlags::Write), ReadOnly);
  EXPECT_ERR(past->unlink(k_root_ino, "f", false), ReadOnly);
}

}  // namespace
}  // namespace anyfs::testing

namespace anyfs::testing {
namespace {

// A commit inside a call (sync=always) trims the inode cache when it is over
// its limit; the call's own nodes must survive it. (The cache used to be
// trimmed there, and a create then lost the node it had just made: the path
// call threw out of the pool, the inode call read freed memory.)
TEST(InodeCacheTrim, ACommitInsideACallKeepsTheCallsNodes) {
  TempDir tmp;
  auto pool = must(Pool::create(tmp.str() + "/p.anyfs"));
  auto ds = must(pool->dataset());
  const int files = 70'000;  // over the cache's limit of 65,536 kept nodes
  ASSERT_OK(ds->mkdir("/d"));
  for (int i = 0; i < files; ++i) ASSERT_OK(ds->write_file("/d/" + std::to_string(i), ""));
  ASSERT_OK(pool->set_property("", "sync", "always"));
  for (int i = 0; i < files; ++i) ASSERT_OK(ds->stat("/d/" + std::to_string(i)));  // all cached again
  auto f = ds->open("/new-by-path", OpenFlags::Write | OpenFlags::Create);
  ASSERT_OK(f);
  ASSERT_OK((*f)->close());
  for (int i = 0; i < files; ++i) ASSERT_OK(ds->stat("/d/" + std::to_string(i)));
  NewObject what;
  auto made = ds->make(k_root_ino, "new-by-inode", what);
  ASSERT_OK(made);
  EXPECT_EQ(made->nlink, 1u);
  EXPECT_EQ(must(ds->lookup(k_root_ino, "new-by-inode")).ino, made->ino);
}

}  // namespace
}  // namespace anyfs::testing
