#include "anyfs/layers/overlay.h"

#include <gtest/gtest.h>

#include "anyfs/memory_fs.h"
#include "support/result_matchers.h"

namespace anyfs {
namespace {

class OverlayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(lower->mkdirs("/d/sub"));
    ASSERT_OK(lower->write_file("/d/x", "lower x"));
    ASSERT_OK(lower->write_file("/d/sub/y", "lower y"));
    ASSERT_OK(lower->write_file("/top", "lower top", 0640));
    ASSERT_OK(lower->set_xattr("/top", "user.tag", "t"));
  }
  std::vector<std::string> names(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs->read_dir(dir).value_or(std::vector<DirEntry>{})) out.push_back(e.name);
    return out;
  }
  std::shared_ptr<Fs> lower = make_memory_fs();
  std::shared_ptr<Fs> upper = make_memory_fs();
  std::shared_ptr<Fs> fs = make_overlay(upper, lower);
};

TEST_F(OverlayTest, ReadsFallThroughToTheLower) {
  EXPECT_EQ(*fs->read_file("/d/sub/y"), "lower y");
  EXPECT_EQ(names("/d"), (std::vector<std::string>{"sub", "x"}));
  EXPECT_TRUE(upper->read_dir("/")->empty());
}

TEST_F(OverlayTest, AWriteCopiesUpAndLeavesTheLowerAlone) {
  ASSERT_OK(fs->append("/top", " + upper"));
  EXPECT_EQ(*fs->read_file("/top"), "lower top + upper");
  EXPECT_EQ(*lower->read_file("/top"), "lower top");
  EXPECT_EQ(*upper->read_file("/top"), "lower top + upper");
  EXPECT_EQ(upper->stat("/top")->mode, 0640u);
  EXPECT_EQ(*upper->get_xattr("/top", "user.tag"), "t");
}

TEST_F(OverlayTest, ChmodCopiesUpParentsFirst) {
  ASSERT_OK(fs->chmod("/d/sub/y", 0600));
  EXPECT_TRUE(upper->stat("/d/sub")->is_dir());
  EXPECT_EQ(*upper->read_file("/d/sub/y"), "lower y");
  EXPECT_EQ(lower->stat("/d/sub/y")->mode, 0644u);
  EXPECT_EQ(names("/d"), (std::vector<std::string>{"sub", "x"}));
}

TEST_F(OverlayTest, RemovingALowerNameLeavesAWhiteout) {
  ASSERT_OK(fs->remove("/d/x"));
  EXPECT_FALSE(fs->exists("/d/x"));
  EXPECT_EQ(names("/d"), (std::vector<std::string>{"sub"}));
  EXPECT_TRUE(lower->exists("/d/x"));
  EXPECT_TRUE(upper->exists("/d/.wh.x"));
  ASSERT_OK(fs->write_file("/d/x", "again"));
  EXPECT_EQ(*fs->read_file("/d/x"), "again");
  EXPECT_FALSE(upper->exists("/d/.wh.x"));
}

TEST_F(OverlayTest, ADirectoryRecreatedOverAWhiteoutIsOpaque) {
  ASSERT_OK(fs->remove_all("/d"));
  ASSERT_OK(fs->mkdir("/d"));
  EXPECT_TRUE(names("/d").empty());
  EXPECT_EQ(fs->stat("/d")->nlink, 2u);
}

TEST_F(OverlayTest, RenamingADirectoryCopiesItsSubtreeUp) {
  ASSERT_OK(fs->rename("/d", "/e"));
  EXPECT_FALSE(fs->exists("/d"));
  EXPECT_EQ(names("/e"), (std::vector<std::string>{"sub", "x"}));
  EXPECT_EQ(*fs->read_file("/e/sub/y"), "lower y");
  EXPECT_TRUE(lower->exists("/d/sub/y"));
}

TEST_F(OverlayTest, ReservedNamesAreRefused) {
  EXPECT_ERR(fs->write_file("/.wh.x", "x"), InvalidArgument);
  EXPECT_ERR(fs->mkdir("/d/.wh..wh..opq"), InvalidArgument);
  ASSERT_OK(fs->remove("/top"));
  EXPECT_ERR(fs->stat("/.wh.top"), NotFound);  // markers never show
}

TEST_F(OverlayTest, CopyUpKeepsHoles) {
  ASSERT_OK(lower->truncate("/top", 1ull << 30));
  ASSERT_OK(fs->chmod("/top", 0600));
  auto st = upper->stat("/top");
  ASSERT_OK(st);
  EXPECT_EQ(st->size, 1ull << 30);
  EXPECT_LT(st->blocks * 512, 1u << 20);
  EXPECT_EQ(*fs->read_range("/top", 0, 9), "lower top");
}

TEST_F(OverlayTest, UpperAndLowerInodeNumbersNeverCollide) {
  ASSERT_OK(fs->write_file("/new", "n"));
  auto a = fs->stat("/new")->ino, b = fs->stat("/top")->ino;
  EXPECT_NE(a % 2, b % 2);
}

}  // namespace
}  // namespace anyfs
