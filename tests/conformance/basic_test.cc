// Conformance: attributes, directories, files, symlinks, links, truncate, statfs.
#include "conformance/fs_conformance.h"

namespace anyfs::testing {
namespace {

std::vector<std::string> names(const std::vector<DirEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.name);
  return out;
}

TEST_P(FsConformance, RootIsAnEmptyDirectory) {
  auto st = fs().stat("/");
  ASSERT_OK(st);
  EXPECT_TRUE(st->is_dir());
  auto entries = fs().read_dir("/");
  ASSERT_OK(entries);
  EXPECT_TRUE(entries->empty());
}

TEST_P(FsConformance, WrittenFileReadsBack) {
  REQUIRE_WRITABLE();
  ASSERT_OK(fs().write_file("/hello.txt", "hello world"));
  EXPECT_EQ(get("/hello.txt"), "hello world");
  auto st = fs().stat("/hello.txt");
  ASSERT_OK(st);
  EXPECT_TRUE(st->is_regular());
  EXPECT_EQ(st->size, 11u);
  EXPECT_EQ(st->nlink, 1u);
}

TEST_P(FsConformance, WriteFileReplacesLongerContent) {
  REQUIRE_WRITABLE();
  put("/f", "a much longer first version");
  ASSERT_OK(fs().write_file("/f", "short"));
  EXPECT_EQ(get("/f"), "short");
}

TEST_P(FsConformance, CreateUsesTheGivenModeExactly) {
  REQUIRE_WRITABLE();
  ASSERT_OK(fs().write_file("/f", "x", 0666));
  ASSERT_OK(fs().mkdir("/d", 0777));
  EXPECT_EQ(fs().stat("/f")->mode, 0666u);
  EXPECT_EQ(fs().stat("/d")->mode, 0777u);
}

TEST_P(FsConformance, AppendHelperAddsToTheEnd) {
  REQUIRE_WRITABLE();
  ASSERT_OK(fs().append("/log", "one "));
  ASSERT_OK(fs().append("/log", "two"));
  EXPECT_EQ(get("/log"), "one two");
}

TEST_P(FsConformance, ReadRangeReturnsTheSlice) {
  put("/f", "0123456789");
  auto r = fs().read_range("/f", 3, 4);
  ASSERT_OK(r);
  EXPECT_EQ(*r, "3456");
  EXPECT_EQ(*fs().read_range("/f", 8, 10), "89");
  EXPECT_EQ(*fs().read_range("/f", 20, 10), "");
}

TEST_P(FsConformance, ReadFileOfDirectoryIsIsDir) {
  ASSERT_OK(seed().mkdir("/d"));
  EXPECT_ERR(fs().read_file("/d"), IsDir);
}

TEST_P(FsConformance, MissingFileIsNotFound) {
  EXPECT_ERR(fs().stat("/nope"), NotFound);
  EXPECT_ERR(fs().lstat("/nope"), NotFound);
  EXPECT_ERR(fs().read_file("/nope"), NotFound);
  EXPECT_ERR(fs().stat("/nope/deeper"), NotFound);
  EXPECT_FALSE(fs().exists("/nope"));
}

TEST_P(FsConformance, FileUsedAsDirectoryIsNotDir) {
  put("/f", "x");
  EXPECT_ERR(fs().stat("/f/x"), NotDir);
  EXPECT_ERR(fs().read_dir("/f"), NotDir);
  if (writable()) {
    EXPECT_ERR(fs().mkdir("/f/x"), NotDir);
    EXPECT_ERR(fs().write_file("/f/x", "y"), NotDir);
  }
}

TEST_P(FsConformance, MkdirMakesADirectory) {
  REQUIRE_WRITABLE();
  ASSERT_OK(fs().mkdir("/d"));
  EXPECT_TRUE(fs().stat("/d")->is_dir());
  EXPECT_ERR(fs().mkdir("/d"), Exists);
  EXPECT_ERR(fs().mkdir("/missing/d"), NotFound);
  EXPECT_ERR(fs().mkdir("/"), Exists);
}

// Found by fs_ops_fuzz: Linux keeps only the permission and sticky bits of
// mkdir's mode (set-user-ID and set-group-ID come from elsewhere, if at all).
TEST_P(FsConformance, MkdirKeepsOnlyPermissionAndStickyBits) {
  REQUIRE_WRITABLE();
  ASSERT_OK(fs().mkdir("/u", 04755));
  EXPECT_EQ(fs().stat("/u")->mode & 07777, 0755u);
  ASSERT_OK(fs().mkdir("/t", 01777));
  EXPECT_EQ(fs().stat("/t")->mode & 07777, 01777u);
}

TEST_P(FsConformance, MkdirOverADanglingSymlinkIsExists) {
  REQUIRE_WRITABLE();
  ASSERT_OK(seed().symlink("/nowhere", "/l"));
  EXPECT_ERR(fs().mkdir("/l"), Exists);
}

TEST_P(FsConformance, MkdirsMakesParentsAndAcceptsExisting) {
  REQUIRE_WRITABLE();
  ASSERT_OK(fs().mkdirs("/a/b/c"));
  EXPECT_TRUE(fs().stat("/a/b/c")->is_dir());
  ASSERT_OK(fs().mkdirs("/a/b/c"));
  ASSERT_OK(fs().write_file("/a/file", "x"));
  EXPECT_ERR(fs().mkdirs("/a/file/d"), NotDir);
}

TEST_P(FsConformance, DirectoryLinkCountIsTwoPlusSubdirectories) {
  REQUIRE_WRITABLE();
  ASSERT_OK(fs().mkdir("/d"));
  EXPECT_EQ(fs().stat("/d")->nlink, 2u);
  ASSERT_OK(fs().mkdir("/d/x"));
  ASSERT_OK(fs().mkdir("/d/y"));
  ASSERT_OK(fs().write_file("/d/f", ""));
  EXPECT_EQ(fs().stat("/d")->nlink, 4u);
  ASSERT_OK(fs().remove("/d/x"));
  EXPECT_EQ(fs().stat("/d")->nlink, 3u);
}

TEST_P(FsConformance, ReadDirListsEntriesSortedWithKinds) {
  ASSERT_OK(seed().mkdir("/d"));
  ASSERT_OK(seed().write_file("/d/b", "1"));
  ASSERT_OK(seed().mkdir("/d/a"));
  ASSERT_OK(seed().symlink("b", "/d/c"));
  auto entries = fs().read_dir("/d");
  ASSERT_OK(entries);
  ASSERT_EQ(names(*entries), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ((*entries)[0].kind, FileKind::Directory);
  EXPECT_EQ((*entries)[1].kind, FileKind::Regular);
  EXPECT_EQ((*entries)[2].kind, FileKind::Symlink);
  EXPECT_ERR(fs().read_dir("/none"), NotFound);
}

TEST_P(FsConformance, RemoveDeletesFilesAndEmptyDirectories) {
  REQUIRE_WRITABLE();
  put("/f", "x");
  ASSERT_OK(seed().mkdir("/d"));
  ASSERT_OK(fs().remove("/f"));
  ASSERT_OK(fs().remove("/d"));
  EXPECT_FALSE(fs().exists("/f"));
  EXPECT_FALSE(fs().exists("/d"));
  EXPECT_ERR(fs().remove("/f"), NotFound);
  EXPECT_ERR(fs().remove("/"), Busy);
}

TEST_P(FsConformance, RemoveOfNonEmptyDirectoryIsNotEmpty) {
  REQUIRE_WRITABLE();
  ASSERT_OK(seed().mkdir("/d"));
  put("/d/f", "x");
  EXPECT_ERR(fs().remove("/d"), NotEmpty);
  EXPECT_EQ(get("/d/f"), "x");
}

TEST_P(FsConformance, RemoveOfSymlinkKeepsItsTarget) {
  REQUIRE_WRITABLE();
  put("/target", "kept");
  ASSERT_OK(seed().symlink("/target", "/l"));
  ASSERT_OK(fs().remove("/l"));
  EXPECT_EQ(get("/target"), "kept");
  EXPECT_FALSE(fs().exists("/l"));
}

// Issue 15: a target is data; only following it checks its components.
TEST_P(FsConformance, SymlinkTargetsMayHoldComponentsOfAnyLength) {
  REQUIRE_WRITABLE();
  const std::string target = std::string(300, 'x') + "/" + std::string(300, 'y');
  ASSERT_OK(seed().symlink(target, "/l"));
  EXPECT_EQ(fs().readlink("/l").value_or(""), target);
  EXPECT_EQ(fs().lstat("/l").value_or(Stat{}).size, target.size());
  EXPECT_ERR(fs().stat("/l"), NameTooLong);
  EXPECT_ERR(seed().symlink(std::string(4096, 'z'), "/too-long"), NameTooLong);
}

TEST_P(FsConformance, RemoveAllRemovesATreeAndCountsIt) {
  REQUIRE_WRITABLE();
  ASSERT_OK(seed().mkdirs("/t/a/b"));
  put("/t/a/f", "1");
  put("/t/a/b/g", "2");
  ASSERT_OK(seed().symlink("/t", "/t/a/loop"));
  auto n = fs().remove_all("/t");
  ASSERT_OK(n);
  EXPECT_EQ(*n, 6u);
  EXPECT_FALSE(fs().exists("/t"));
  EXPECT_EQ(*fs().remove_all("/t"), 0u);
}

TEST_P(FsConformance, StatFollowsSymlinksAndLstatDoesNot) {
  put("/target", "12345");
  ASSERT_OK(seed().symlink("target", "/l"));
  auto st = fs().stat("/l");
  ASSERT_OK(st);
  EXPECT_TRUE(st->is_regular());
  EXPECT_EQ(st->size, 5u);
  auto lst = fs().lstat("/l");
  ASSERT_OK(lst);
  EXPECT_TRUE(lst->is_symlink());
  EXPECT_EQ(lst->size, 6u);  // the length of "target"
  EXPECT_EQ(*fs().readlink("/l"), "target");
}

TEST_P(FsConformance, DanglingSymlinkExistsButDoesNotResolve) {
  ASSERT_OK(seed().symlink("/nowhere", "/l"));
  EXPECT_ERR(fs().stat("/l"), NotFound);
  EXPECT_OK(fs().lstat("/l"));
  EXPECT_TRUE(fs().exists("/l"));
}

TEST_P(FsConformance, SymlinkErrors) {
  REQUIRE_WRITABLE();
  put("/f", "x");
  EXPECT_ERR(fs().symlink("t", "/f"), Exists);
  EXPECT_ERR(fs().symlink("", "/empty"), NotFound);
  EXPECT_ERR(fs().readlink("/f"), InvalidArgument);
  EXPECT_ERR(fs().readlink("/none"), NotFound);
  EXPECT_ERR(fs().symlink("t", "/none/l"), NotFound);
}

TEST_P(FsConformance, SymlinkLoopIsLoop) {
  ASSERT_OK(seed().symlink("/b", "/a"));
  ASSERT_OK(seed().symlink("/a", "/b"));
  EXPECT_ERR(fs().stat("/a"), Loop);
  EXPECT_ERR(fs().read_file("/a/x"), Loop);
  ASSERT_OK(seed().symlink("self", "/self"));
  EXPECT_ERR(fs().stat("/self"), Loop);
}

TEST_P(FsConformance, FortySymlinksResolveAndFortyOneDoNot) {
  put("/end", "reached");
  for (int i = 0; i < 41; ++i) {
    std::string target = i == 0 ? "/end" : "/l" + std::to_string(i - 1);
    ASSERT_OK(seed().symlink(target, "/l" + std::to_string(i)));
  }
  EXPECT_EQ(get("/l39"), "reached");    // 40 hops
  EXPECT_ERR(fs().stat("/l40"), Loop);  // 41 hops
}

TEST_P(FsConformance, HardLinksShareContentAndCount) {
  REQUIRE_WRITABLE();
  put("/a", "shared");
  ASSERT_OK(fs().link("/a", "/b"));
  EXPECT_EQ(fs().stat("/a")->nlink, 2u);
  EXPECT_EQ(fs().stat("/a")->ino, fs().stat("/b")->ino);
  ASSERT_OK(fs().write_file("/b", "changed"));
  EXPECT_EQ(get("/a"), "changed");
  ASSERT_OK(fs().remove("/a"));
  EXPECT_EQ(fs().stat("/b")->nlink, 1u);
  EXPECT_EQ(get("/b"), "changed");
}

TEST_P(FsConformance, LinkErrors) {
  REQUIRE_WRITABLE();
  put("/f", "x");
  ASSERT_OK(seed().mkdir("/d"));
  EXPECT_ERR(fs().link("/d", "/d2"), NotPermitted);
  EXPECT_ERR(fs().link("/f", "/d"), Exists);
  EXPECT_ERR(fs().link("/none", "/g"), NotFound);
  EXPECT_ERR(fs().link("/f", "/none/g"), NotFound);
}

// Found by fs_ops_fuzz: Linux refuses an existing new name (EEXIST) before it
// looks at what the source is (EPERM for a directory), the root included.
TEST_P(FsConformance, LinkOntoAnExistingNameIsExistsEvenForADirectory) {
  REQUIRE_WRITABLE();
  ASSERT_OK(seed().mkdir("/d"));
  EXPECT_ERR(fs().link("/d", "/d"), Exists);
  EXPECT_ERR(fs().link("/", "/"), Exists);
  EXPECT_ERR(fs().link("/", "/d"), Exists);
  EXPECT_ERR(fs().link("/", "/new"), NotPermitted);
  // Both must name entries (our rule: Linux would follow ".."); the new name is checked first.
  EXPECT_ERR(fs().link("/d/..", "/new"), InvalidArgument);
  EXPECT_ERR(fs().link("/..", "/" + std::string(256, 'n') + "/x"), NameTooLong);
}

TEST_P(FsConformance, LinkOfASymlinkLinksTheSymlinkItself) {
  REQUIRE_WRITABLE();
  put("/f", "x");
  ASSERT_OK(seed().symlink("/f", "/l"));
  ASSERT_OK(fs().link("/l", "/l2"));
  EXPECT_TRUE(fs().lstat("/l2")->is_symlink());
  EXPECT_EQ(fs().lstat("/l")->nlink, 2u);
  EXPECT_EQ(fs().stat("/f")->nlink, 1u);
}

TEST_P(FsConformance, ChmodChownUtimensSetAttributes) {
  REQUIRE_WRITABLE();
  put("/f", "x");
  ASSERT_OK(fs().chmod("/f", 0600));
  EXPECT_EQ(fs().stat("/f")->mode, 0600u);
  ASSERT_OK(fs().chmod("/f", 0104755));  // the kind bits are ignored
  EXPECT_EQ(fs().stat("/f")->mode, 04755u);
  auto before = *fs().stat("/f");
  ASSERT_OK(fs().chown("/f", before.uid, static_cast<std::uint32_t>(-1)));
  EXPECT_EQ(fs().stat("/f")->gid, before.gid);
  ASSERT_OK(fs().utimens("/f", TimeSpec::at(1'000'000'000), TimeSpec::at(2'500'000'000)));
  auto st = *fs().stat("/f");
  EXPECT_EQ(st.atime_ns, 1'000'000'000);
  EXPECT_EQ(st.mtime_ns, 2'500'000'000);
  ASSERT_OK(fs().utimens("/f", TimeSpec::omit(), TimeSpec::now()));
  st = *fs().stat("/f");
  EXPECT_EQ(st.atime_ns, 1'000'000'000);
  EXPECT_GT(st.mtime_ns, 2'500'000'000);
  EXPECT_ERR(fs().chmod("/none", 0600), NotFound);
  EXPECT_ERR(fs().utimens("/none", TimeSpec::now(), TimeSpec::now()), NotFound);
}

TEST_P(FsConformance, ChmodFollowsSymlinks) {
  REQUIRE_WRITABLE();
  put("/f", "x");
  ASSERT_OK(seed().symlink("/f", "/l"));
  ASSERT_OK(fs().chmod("/l", 0640));
  EXPECT_EQ(fs().stat("/f")->mode, 0640u);
  EXPECT_TRUE(fs().lstat("/l")->is_symlink());
}

TEST_P(FsConformance, WritingAFileAdvancesItsMtime) {
  REQUIRE_WRITABLE();
  put("/f", "x");
  ASSERT_OK(fs().utimens("/f", TimeSpec::at(0), TimeSpec::at(0)));
  ASSERT_OK(fs().write_file("/f", "y"));
  EXPECT_GT(fs().stat("/f")->mtime_ns, 0);
}

TEST_P(FsConformance, TruncateShrinksAndGrowsWithZeros) {
  REQUIRE_WRITABLE();
  put("/f", "0123456789");
  ASSERT_OK(fs().truncate("/f", 4));
  EXPECT_EQ(get("/f"), "0123");
  ASSERT_OK(fs().truncate("/f", 8));
  EXPECT_EQ(get("/f"), std::string("0123\0\0\0\0", 8));
  ASSERT_OK(seed().mkdir("/d"));
  EXPECT_ERR(fs().truncate("/d", 0), IsDir);
  EXPECT_ERR(fs().truncate("/none", 0), NotFound);
}

TEST_P(FsConformance, SparseTruncateToATerabyteCostsNoSpace) {
  REQUIRE_WRITABLE();
  put("/sparse", "head");
  constexpr std::uint64_t k_tib = 1ull << 40;
  ASSERT_OK(fs().truncate("/sparse", k_tib));
  auto st = fs().stat("/sparse");
  ASSERT_OK(st);
  EXPECT_EQ(st->size, k_tib);
  EXPECT_LT(st->blocks * 512, 1u << 20);
  auto tail = fs().read_range("/sparse", k_tib - 5, 100);
  ASSERT_OK(tail);
  EXPECT_EQ(*tail, std::string(5, '\0'));
  EXPECT_EQ(*fs().read_range("/sparse", 0, 4), "head");
}

TEST_P(FsConformance, StatfsReportsSaneFigures) {
  auto sf = fs().statfs();
  ASSERT_OK(sf);
  EXPECT_GT(sf->block_size, 0u);
  EXPECT_GE(sf->total_blocks, sf->free_blocks);
  EXPECT_EQ(sf->max_name_length, 255u);
  EXPECT_OK(fs().sync());
}

TEST_P(FsConformance, InodeNumbersAreDistinct) {
  put("/a", "1");
  put("/b", "2");
  ASSERT_OK(seed().mkdir("/c"));
  auto a = fs().stat("/a")->ino, b = fs().stat("/b")->ino, c = fs().stat("/c")->ino;
  EXPECT_NE(a, b);
  EXPECT_NE(b, c);
  EXPECT_NE(a, c);
}

TEST_P(FsConformance, MutationsFailWithReadOnlyOnAReadOnlyFs) {
  if (writable()) GTEST_SKIP() << "writable subject";
  put("/f", "x");
  EXPECT_ERR(fs().write_file("/g", "x"), ReadOnly);
  EXPECT_ERR(fs().mkdir("/d"), ReadOnly);
  EXPECT_ERR(fs().remove("/f"), ReadOnly);
  EXPECT_ERR(fs().rename("/f", "/g"), ReadOnly);
  EXPECT_ERR(fs().chmod("/f", 0600), ReadOnly);
  EXPECT_ERR(fs().set_xattr("/f", "user.a", "1"), ReadOnly);
  EXPECT_ERR(fs().open("/f", OpenFlags::Write), ReadOnly);
  EXPECT_EQ(get("/f"), "x");
}

}  // namespace
}  // namespace anyfs::testing
