#include "anyfs/layers/path_filter.h"

#include <gtest/gtest.h>

#include "anyfs/memory_fs.h"
#include "support/result_matchers.h"

namespace anyfs {
namespace {

class PathFilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(inner->mkdirs("/pub/docs"));
    ASSERT_OK(inner->mkdirs("/secret"));
    ASSERT_OK(inner->write_file("/pub/readme.txt", "hi"));
    ASSERT_OK(inner->write_file("/pub/id.key", "k"));
    ASSERT_OK(inner->write_file("/secret/plans", "p"));
    ASSERT_OK(inner->symlink("/secret/plans", "/pub/shortcut"));
  }
  std::shared_ptr<Fs> filtered(PathFilterOptions options) {
    auto fs = make_path_filter(inner, std::move(options));
    EXPECT_TRUE(fs.has_value());
    return *fs;
  }
  std::shared_ptr<Fs> inner = make_memory_fs();
};

std::vector<std::string> names(Fs& fs, const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs.read_dir(dir).value_or(std::vector<DirEntry>{})) out.push_back(e.name);
  return out;
}

TEST_F(PathFilterTest, DeniedPathsAreInvisibleEverywhere) {
  auto fs = filtered({{{FilterAction::Deny, "/secret"}, {FilterAction::Deny, "*.key"}}});
  EXPECT_EQ(names(*fs, "/"), (std::vector<std::string>{"pub"}));
  EXPECT_EQ(names(*fs, "/pub"), (std::vector<std::string>{"docs", "readme.txt", "shortcut"}));
  EXPECT_ERR(fs->stat("/secret"), NotFound);
  EXPECT_ERR(fs->read_file("/secret/plans"), NotFound);
  EXPECT_ERR(fs->read_file("/pub/id.key"), NotFound);
  EXPECT_ERR(fs->write_file("/pub/new.key", "x"), NotFound);
  EXPECT_ERR(fs->mkdir("/secret/x"), NotFound);
  EXPECT_FALSE(inner->exists("/pub/new.key"));
}

TEST_F(PathFilterTest, ASymlinkCannotLeadAroundARule) {
  auto fs = filtered({{{FilterAction::Deny, "/secret"}}});
  EXPECT_TRUE(fs->lstat("/pub/shortcut")->is_symlink());
  EXPECT_ERR(fs->read_file("/pub/shortcut"), NotFound);
  EXPECT_ERR(fs->read_file("/pub/../secret/plans"), NotFound);
}

TEST_F(PathFilterTest, PermissionModeSaysPermission) {
  auto fs = filtered({{{FilterAction::Deny, "/secret"}}, FilterAction::Allow, Errc::Permission});
  EXPECT_ERR(fs->read_file("/secret/plans"), Permission);
}

TEST_F(PathFilterTest, AllowListWithDefaultDenyAndFirstMatchWins) {
  auto fs =
      filtered({{{FilterAction::Allow, "/pub/*.txt"}, {FilterAction::Deny, "/pub/*"}, {FilterAction::Allow, "/pub"}},
                FilterAction::Deny});
  EXPECT_EQ(*fs->read_file("/pub/readme.txt"), "hi");
  EXPECT_ERR(fs->stat("/pub/docs"), NotFound);
  EXPECT_ERR(fs->stat("/secret/plans"), NotFound);
  EXPECT_EQ(names(*fs, "/pub"), (std::vector<std::string>{"readme.txt"}));
}

TEST_F(PathFilterTest, RenamesIntoOrOutOfDeniedPlacesAreRefused) {
  auto fs = filtered({{{FilterAction::Deny, "/secret"}}});
  EXPECT_ERR(fs->rename("/pub/readme.txt", "/secret/readme.txt"), NotFound);
  EXPECT_ERR(fs->rename("/secret/plans", "/pub/plans"), NotFound);
  EXPECT_TRUE(inner->exists("/pub/readme.txt"));
  EXPECT_TRUE(inner->exists("/secret/plans"));
}

TEST_F(PathFilterTest, BadOptionsAreRejected) {
  EXPECT_ERR(make_path_filter(inner, {{{FilterAction::Deny, ""}}}), InvalidArgument);
  EXPECT_ERR(make_path_filter(inner, {{}, FilterAction::Allow, Errc::Io}), InvalidArgument);
}

}  // namespace
}  // namespace anyfs
