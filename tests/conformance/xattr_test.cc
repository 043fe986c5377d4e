// Conformance: extended attributes.
#include "conformance/fs_conformance.h"

namespace anyfs::testing {
namespace {

TEST_P(FsConformance, XattrsSetGetListRemove) {
  REQUIRE_WRITABLE();
  put("/f", "x");
  ASSERT_OK(fs().set_xattr("/f", "user.b", "2"));
  ASSERT_OK(fs().set_xattr("/f", "user.a", std::string("bin\0ary", 7)));
  EXPECT_EQ(*fs().get_xattr("/f", "user.a"), std::string("bin\0ary", 7));
  EXPECT_EQ(*fs().list_xattr("/f"), (std::vector<std::string>{"user.a", "user.b"}));
  ASSERT_OK(fs().remove_xattr("/f", "user.a"));
  EXPECT_ERR(fs().get_xattr("/f", "user.a"), NoData);
  EXPECT_ERR(fs().remove_xattr("/f", "user.a"), NoData);
  EXPECT_EQ(*fs().list_xattr("/f"), (std::vector<std::string>{"user.b"}));
}

TEST_P(FsConformance, XattrCreateAndReplaceFlags) {
  REQUIRE_WRITABLE();
  put("/f", "x");
  ASSERT_OK(fs().set_xattr("/f", "user.k", "1", XattrFlags::Create));
  EXPECT_ERR(fs().set_xattr("/f", "user.k", "2", XattrFlags::Create), Exists);
  ASSERT_OK(fs().set_xattr("/f", "user.k", "3", XattrFlags::Replace));
  EXPECT_ERR(fs().set_xattr("/f", "user.other", "4", XattrFlags::Replace), NoData);
  EXPECT_EQ(*fs().get_xattr("/f", "user.k"), "3");
}

TEST_P(FsConformance, XattrNameAndValueLimits) {
  REQUIRE_WRITABLE();
  put("/f", "x");
  EXPECT_ERR(fs().set_xattr("/f", "nonamespace", "v"), Unsupported);
  EXPECT_ERR(fs().set_xattr("/f", "user." + std::string(260, 'n'), "v"), Range);
  EXPECT_ERR(fs().set_xattr("/f", "", "v"), Range);
  EXPECT_ERR(fs().set_xattr("/f", "user.big", std::string(65537, 'v')), ArgTooBig);
  ASSERT_OK(fs().set_xattr("/f", "user.medium", std::string(3000, 'v')));
  EXPECT_EQ(fs().get_xattr("/f", "user.medium")->size(), 3000u);
  EXPECT_ERR(fs().get_xattr("/none", "user.a"), NotFound);
}

TEST_P(FsConformance, XattrsFollowSymlinksAndWorkOnDirectories) {
  REQUIRE_WRITABLE();
  put("/f", "x");
  ASSERT_OK(seed().symlink("/f", "/l"));
  ASSERT_OK(seed().mkdir("/d"));
  ASSERT_OK(fs().set_xattr("/l", "user.via", "link"));
  EXPECT_EQ(*fs().get_xattr("/f", "user.via"), "link");
  ASSERT_OK(fs().set_xattr("/d", "user.dir", "yes"));
  EXPECT_EQ(*fs().get_xattr("/d", "user.dir"), "yes");
}

TEST_P(FsConformance, XattrsAreReadableFromSeededFiles) {
  put("/f", "x");
  ASSERT_OK(seed().set_xattr("/f", "user.seeded", "s"));
  EXPECT_EQ(*fs().get_xattr("/f", "user.seeded"), "s");
  EXPECT_EQ(*fs().list_xattr("/f"), (std::vector<std::string>{"user.seeded"}));
}

}  // namespace
}  // namespace anyfs::testing
