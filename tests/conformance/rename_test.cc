// Conformance: rename with the POSIX rules and the NoReplace / Exchange flags.
#include "conformance/fs_conformance.h"

namespace anyfs::testing {
namespace {

TEST_P(FsConformance, RenameMovesAFile) {
  REQUIRE_WRITABLE();
  put("/a", "content");
  ASSERT_OK(seed().mkdir("/d"));
  ASSERT_OK(fs().rename("/a", "/d/b"));
  EXPECT_FALSE(fs().exists("/a"));
  EXPECT_EQ(get("/d/b"), "content");
}

TEST_P(FsConformance, RenameReplacesAnExistingFile) {
  REQUIRE_WRITABLE();
  put("/a", "new");
  put("/b", "old");
  ASSERT_OK(fs().rename("/a", "/b"));
  EXPECT_EQ(get("/b"), "new");
  EXPECT_FALSE(fs().exists("/a"));
}

TEST_P(FsConformance, RenameDirectoryOverEmptyDirectory) {
  REQUIRE_WRITABLE();
  ASSERT_OK(seed().mkdirs("/src/inner"));
  ASSERT_OK(seed().mkdir("/dst"));
  ASSERT_OK(fs().rename("/src", "/dst"));
  EXPECT_TRUE(fs().stat("/dst/inner")->is_dir());
  EXPECT_FALSE(fs().exists("/src"));
}

TEST_P(FsConformance, RenameDirectoryOverNonEmptyDirectoryIsNotEmpty) {
  REQUIRE_WRITABLE();
  ASSERT_OK(seed().mkdir("/src"));
  ASSERT_OK(seed().mkdir("/dst"));
  put("/dst/f", "x");
  EXPECT_ERR(fs().rename("/src", "/dst"), NotEmpty);
  EXPECT_EQ(get("/dst/f"), "x");
}

TEST_P(FsConformance, RenameKindMismatchesFail) {
  REQUIRE_WRITABLE();
  put("/f", "x");
  ASSERT_OK(seed().mkdir("/d"));
  EXPECT_ERR(fs().rename("/f", "/d"), IsDir);
  EXPECT_ERR(fs().rename("/d", "/f"), NotDir);
}

TEST_P(FsConformance, RenameDirectoryIntoItsOwnSubtreeIsInvalid) {
  REQUIRE_WRITABLE();
  ASSERT_OK(seed().mkdirs("/a/b"));
  EXPECT_ERR(fs().rename("/a", "/a/b/c"), InvalidArgument);
  EXPECT_ERR(fs().rename("/a", "/a/c"), InvalidArgument);
  EXPECT_TRUE(fs().stat("/a/b")->is_dir());
}

TEST_P(FsConformance, RenameOntoAnAncestorIsNotEmpty) {
  REQUIRE_WRITABLE();
  ASSERT_OK(seed().mkdirs("/a/b"));
  EXPECT_ERR(fs().rename("/a/b", "/a"), NotEmpty);
}

TEST_P(FsConformance, RenameOntoAHardLinkOfItselfDoesNothing) {
  REQUIRE_WRITABLE();
  put("/a", "x");
  ASSERT_OK(seed().link("/a", "/b"));
  ASSERT_OK(fs().rename("/a", "/b"));
  EXPECT_TRUE(fs().exists("/a"));
  EXPECT_TRUE(fs().exists("/b"));
  ASSERT_OK(fs().rename("/a", "/a"));
  EXPECT_EQ(get("/a"), "x");
}

TEST_P(FsConformance, RenameErrors) {
  REQUIRE_WRITABLE();
  put("/f", "x");
  EXPECT_ERR(fs().rename("/none", "/g"), NotFound);
  EXPECT_ERR(fs().rename("/f", "/none/g"), NotFound);
  EXPECT_ERR(fs().rename("/", "/g"), Busy);
  EXPECT_ERR(fs().rename("/f", "/"), Busy);
  EXPECT_ERR(fs().rename("/f/..", "/g"), InvalidArgument);
}

// Found by fs_ops_fuzz: naming the root is Busy before the source is looked
// up, as in Linux (which checks both names' kinds before either lookup).
TEST_P(FsConformance, RenameOntoTheRootIsBusyEvenWhenTheSourceIsMissing) {
  REQUIRE_WRITABLE();
  EXPECT_ERR(fs().rename("/none", "/"), Busy);
  EXPECT_ERR(fs().rename("/none/", "//"), Busy);
  // Two bad names: the destination's is reported (fs_ops_fuzz found the Fs disagreeing).
  EXPECT_ERR(fs().rename("/../..", "/" + std::string(256, 'n') + "/x"), NameTooLong);
}

TEST_P(FsConformance, RenameNoReplaceRefusesAnExistingDestination) {
  REQUIRE_WRITABLE();
  put("/a", "a");
  put("/b", "b");
  EXPECT_ERR(fs().rename("/a", "/b", RenameFlags::NoReplace), Exists);
  EXPECT_EQ(get("/b"), "b");
  ASSERT_OK(fs().rename("/a", "/c", RenameFlags::NoReplace));
  EXPECT_EQ(get("/c"), "a");
}

TEST_P(FsConformance, RenameExchangeSwapsTwoNames) {
  REQUIRE_WRITABLE();
  put("/a", "A");
  ASSERT_OK(seed().mkdir("/d"));
  put("/d/inner", "I");
  ASSERT_OK(fs().rename("/a", "/d", RenameFlags::Exchange));
  EXPECT_EQ(get("/d"), "A");
  EXPECT_EQ(get("/a/inner"), "I");
  EXPECT_ERR(fs().rename("/a", "/none", RenameFlags::Exchange), NotFound);
}

TEST_P(FsConformance, RenameOfADirectoryUpdatesParentLinkCounts) {
  REQUIRE_WRITABLE();
  ASSERT_OK(seed().mkdirs("/p1/child"));
  ASSERT_OK(seed().mkdir("/p2"));
  ASSERT_OK(fs().rename("/p1/child", "/p2/child"));
  EXPECT_EQ(fs().stat("/p1")->nlink, 2u);
  EXPECT_EQ(fs().stat("/p2")->nlink, 3u);
}

TEST_P(FsConformance, RenameOfASymlinkMovesTheLinkNotItsTarget) {
  REQUIRE_WRITABLE();
  put("/t", "x");
  ASSERT_OK(seed().symlink("/t", "/l"));
  ASSERT_OK(fs().rename("/l", "/m"));
  EXPECT_TRUE(fs().lstat("/m")->is_symlink());
  EXPECT_EQ(get("/t"), "x");
}

}  // namespace
}  // namespace anyfs::testing
