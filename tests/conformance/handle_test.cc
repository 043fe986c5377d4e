// Conformance: File handles and open flags.
#include "conformance/fs_conformance.h"

namespace anyfs::testing {
namespace {

std::string read_all(File& f, std::size_t n = 64) {
  std::string buf(n, '\0');
  auto got = f.pread(std::span<char>(buf.data(), buf.size()), 0);
  if (!got) return "<" + std::string(errc_name(got.error().code)) + ">";
  buf.resize(*got);
  return buf;
}

TEST_P(FsConformance, WritesAreVisibleToOtherHandlesAtOnce) {
  REQUIRE_WRITABLE();
  auto w = fs().open("/f", OpenFlags::Write | OpenFlags::Create);
  ASSERT_OK(w);
  auto r = fs().open("/f", OpenFlags::Read);
  ASSERT_OK(r);
  ASSERT_OK((*w)->pwrite("visible", 0));
  EXPECT_EQ(read_all(**r), "visible");
  EXPECT_EQ(get("/f"), "visible");
}

TEST_P(FsConformance, UnlinkedFileStaysUsableThroughItsHandle) {
  REQUIRE_WRITABLE();
  put("/f", "still here");
  auto h = fs().open("/f", OpenFlags::ReadWrite);
  ASSERT_OK(h);
  ASSERT_OK(fs().remove("/f"));
  EXPECT_FALSE(fs().exists("/f"));
  EXPECT_EQ(read_all(**h), "still here");
  ASSERT_OK((*h)->pwrite("STILL", 0));
  EXPECT_EQ(read_all(**h), "STILL here");
  auto st = (*h)->stat();
  ASSERT_OK(st);
  EXPECT_EQ(st->nlink, 0u);
  EXPECT_OK((*h)->close());
}

TEST_P(FsConformance, HandleAccessModesAreEnforced) {
  put("/f", "data");
  auto r = fs().open("/f", OpenFlags::Read);
  ASSERT_OK(r);
  EXPECT_ERR((*r)->pwrite("x", 0), BadHandle);
  EXPECT_ERR((*r)->truncate(0), BadHandle);
  EXPECT_ERR((*r)->append("x"), BadHandle);
  if (!writable()) return;
  auto w = fs().open("/f", OpenFlags::Write);
  ASSERT_OK(w);
  char buf[4];
  EXPECT_ERR((*w)->pread(std::span<char>(buf, 4), 0), BadHandle);
}

TEST_P(FsConformance, ClosedHandleFailsWithBadHandle) {
  put("/f", "data");
  auto h = fs().open("/f", OpenFlags::Read);
  ASSERT_OK(h);
  ASSERT_OK((*h)->close());
  char buf[4];
  EXPECT_ERR((*h)->pread(std::span<char>(buf, 4), 0), BadHandle);
  EXPECT_ERR((*h)->stat(), BadHandle);
  EXPECT_OK((*h)->close());
}

TEST_P(FsConformance, AppendHandleWritesAtTheEnd) {
  REQUIRE_WRITABLE();
  put("/f", "abc");
  auto h = fs().open("/f", OpenFlags::Write | OpenFlags::Append);
  ASSERT_OK(h);
  ASSERT_OK((*h)->pwrite("def", 0));  // Append wins over the offset, as on Linux
  auto at = (*h)->append("gh");
  ASSERT_OK(at);
  EXPECT_EQ(*at, 6u);
  EXPECT_EQ(get("/f"), "abcdefgh");
}

TEST_P(FsConformance, AppendOnAPlainHandleReturnsItsOffset) {
  REQUIRE_WRITABLE();
  put("/f", "12345");
  auto h = fs().open("/f", OpenFlags::ReadWrite);
  ASSERT_OK(h);
  EXPECT_EQ(*(*h)->append("6"), 5u);
  EXPECT_EQ(*(*h)->append("78"), 6u);
  EXPECT_EQ(get("/f"), "12345678");
}

TEST_P(FsConformance, WritePastTheEndLeavesAHoleOfZeros) {
  REQUIRE_WRITABLE();
  auto h = fs().open("/f", OpenFlags::ReadWrite | OpenFlags::Create);
  ASSERT_OK(h);
  ASSERT_OK((*h)->pwrite("end", 100000));
  EXPECT_EQ((*h)->stat()->size, 100003u);
  auto hole = fs().read_range("/f", 50000, 10);
  EXPECT_EQ(*hole, std::string(10, '\0'));
  EXPECT_EQ(*fs().read_range("/f", 100000, 10), "end");
}

TEST_P(FsConformance, HandleTruncateAndReadPastEnd) {
  REQUIRE_WRITABLE();
  put("/f", "0123456789");
  auto h = fs().open("/f", OpenFlags::ReadWrite);
  ASSERT_OK(h);
  ASSERT_OK((*h)->truncate(3));
  EXPECT_EQ(read_all(**h), "012");
  char buf[4];
  EXPECT_EQ(*(*h)->pread(std::span<char>(buf, 4), 1000), 0u);
  EXPECT_OK((*h)->fsync());
}

TEST_P(FsConformance, OpenFlagErrors) {
  put("/f", "x");
  ASSERT_OK(seed().mkdir("/d"));
  ASSERT_OK(seed().symlink("/f", "/l"));
  EXPECT_ERR(fs().open("/none", OpenFlags::Read), NotFound);
  EXPECT_ERR(fs().open("/f", OpenFlags::Read | OpenFlags::Directory), NotDir);
  EXPECT_ERR(fs().open("/l", OpenFlags::Read | OpenFlags::NoFollow), Loop);
  EXPECT_ERR(fs().open("/f", OpenFlags::Read | OpenFlags::Truncate), InvalidArgument);
  EXPECT_TRUE(fails_with(fs().open("/d", OpenFlags::Write), writable() ? Errc::IsDir : Errc::ReadOnly));
  if (writable()) {
    EXPECT_ERR(fs().open("/f", OpenFlags::Write | OpenFlags::Create | OpenFlags::Exclusive), Exists);
    EXPECT_ERR(fs().open("/none/f", OpenFlags::Write | OpenFlags::Create), NotFound);
  }
  auto dir = fs().open("/d", OpenFlags::Read | OpenFlags::Directory);
  ASSERT_OK(dir);
  char buf[4];
  EXPECT_ERR((*dir)->pread(std::span<char>(buf, 4), 0), IsDir);
  EXPECT_TRUE((*dir)->stat()->is_dir());
}

TEST_P(FsConformance, OpenWithTruncateEmptiesTheFile) {
  REQUIRE_WRITABLE();
  put("/f", "old content");
  auto h = fs().open("/f", OpenFlags::Write | OpenFlags::Truncate);
  ASSERT_OK(h);
  EXPECT_EQ(get("/f"), "");
}

TEST_P(FsConformance, CreateThroughADanglingSymlinkCreatesTheTarget) {
  REQUIRE_WRITABLE();
  ASSERT_OK(seed().symlink("/made", "/l"));
  auto h = fs().open("/l", OpenFlags::Write | OpenFlags::Create);
  ASSERT_OK(h);
  ASSERT_OK((*h)->pwrite("via link", 0));
  EXPECT_EQ(get("/made"), "via link");
  ASSERT_OK(seed().symlink("/made2", "/l2"));
  EXPECT_ERR(fs().open("/l2", OpenFlags::Write | OpenFlags::Create | OpenFlags::Exclusive), Exists);
  EXPECT_FALSE(fs().exists("/made2"));
}

TEST_P(FsConformance, HandleStatTracksTheFile) {
  REQUIRE_WRITABLE();
  auto h = fs().open("/f", OpenFlags::ReadWrite | OpenFlags::Create, 0600);
  ASSERT_OK(h);
  ASSERT_OK((*h)->pwrite(std::string(5000, 'z'), 0));
  auto st = (*h)->stat();
  ASSERT_OK(st);
  EXPECT_EQ(st->size, 5000u);
  EXPECT_EQ(st->mode, 0600u);
  EXPECT_EQ(st->ino, fs().stat("/f")->ino);
}

}  // namespace
}  // namespace anyfs::testing

namespace anyfs::testing {
namespace {

// Regression (found by the differential soak, seed 35): an overlay directory
// handle reported the upper layer's link count instead of the merged one.
TEST_P(FsConformance, DirectoryHandleStatAgreesWithPathStat) {
  ASSERT_OK(seed().mkdirs("/d/x"));
  auto h = fs().open("/d", OpenFlags::Read | OpenFlags::Directory);
  ASSERT_OK(h);
  EXPECT_EQ((*h)->stat()->ino, fs().stat("/d")->ino);
  if (writable()) {  // (on an overlay this copies /d up: a new inode number, as in overlayfs)
    ASSERT_OK(fs().mkdir("/d/y"));
  }
  auto by_handle = (*h)->stat();
  auto by_path = fs().stat("/d");
  ASSERT_OK(by_handle);
  ASSERT_OK(by_path);
  EXPECT_EQ(by_handle->nlink, by_path->nlink);
  EXPECT_EQ(by_handle->nlink, writable() ? 4u : 3u);
}

}  // namespace
}  // namespace anyfs::testing
