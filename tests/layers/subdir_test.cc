#include "anyfs/layers/subdir.h"

#include <gtest/gtest.h>

#include "anyfs/memory_fs.h"
#include "support/result_matchers.h"

namespace anyfs {
namespace {

class SubdirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(inner->mkdirs("/srv/jail/data"));
    ASSERT_OK(inner->write_file("/srv/jail/data/f", "inside"));
    ASSERT_OK(inner->write_file("/etc-passwd", "outside"));
    auto made = make_subdir(inner, "/srv/jail");
    ASSERT_OK(made);
    fs = *made;
  }
  std::shared_ptr<Fs> inner = make_memory_fs();
  std::shared_ptr<Fs> fs;
};

TEST_F(SubdirTest, SeesOnlyTheSubtree) {
  EXPECT_EQ(*fs->read_file("/data/f"), "inside");
  EXPECT_ERR(fs->read_file("/etc-passwd"), NotFound);
  EXPECT_ERR(fs->read_file("/../../etc-passwd"), NotFound);
  ASSERT_OK(fs->write_file("/new", "n"));
  EXPECT_EQ(*inner->read_file("/srv/jail/new"), "n");
}

TEST_F(SubdirTest, SymlinksResolveInsideTheSubtree) {
  ASSERT_OK(fs->symlink("/data/f", "/abs"));
  ASSERT_OK(fs->symlink("../../../../etc-passwd", "/climb"));
  EXPECT_EQ(*fs->read_file("/abs"), "inside");
  EXPECT_ERR(fs->read_file("/climb"), NotFound);
  ASSERT_OK(fs->write_file("/climb", "made inside"));
  EXPECT_EQ(*inner->read_file("/etc-passwd"), "outside");
  EXPECT_EQ(*inner->read_file("/srv/jail/etc-passwd"), "made inside");
}

TEST_F(SubdirTest, ItsRootCannotBeRemovedOrRenamed) {
  ASSERT_OK(inner->remove_all("/srv/jail/data"));
  EXPECT_ERR(fs->remove("/"), Busy);
  EXPECT_ERR(fs->rename("/", "/x"), Busy);
  EXPECT_TRUE(inner->stat("/srv/jail")->is_dir());
}

TEST_F(SubdirTest, ErrorsNameTheCallersPath) {
  auto r = fs->stat("/data/missing");
  ASSERT_ERR(r, NotFound);
  EXPECT_EQ(r.error().path, "/data/missing");
}

TEST_F(SubdirTest, MissingOrNonDirectorySubtreeIsRefused) {
  EXPECT_ERR(make_subdir(inner, "/nope"), NotFound);
  EXPECT_ERR(make_subdir(inner, "/etc-passwd"), NotDir);
}

}  // namespace
}  // namespace anyfs
