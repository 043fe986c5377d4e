// Conformance: the path attack list. Every Fs must keep every path inside its own
// root. The fixture puts files holding "OUTSIDE" in the host directory just above
// the subject's root (see fs_conformance.cc); no path may ever read them.
#include <atomic>
#include <chrono>
#include <thread>

#include "conformance/fs_conformance.h"

namespace anyfs::testing {
namespace {

TEST_P(FsConformance, DotDotNeverClimbsAboveTheRoot) {
  put("/f", "inside");
  EXPECT_EQ(get("/../f"), "inside");
  EXPECT_EQ(get("/../../../../../../f"), "inside");
  EXPECT_EQ(get("../../f"), "inside");
  EXPECT_ERR(fs().stat("/../secret"), NotFound);
  EXPECT_TRUE(fs().stat("/..")->is_dir());
  EXPECT_EQ(fs().stat("/..")->ino, fs().stat("/")->ino);
}

TEST_P(FsConformance, DotsAndSlashesNormalise) {
  ASSERT_OK(seed().mkdirs("/a/b"));
  put("/a/b/c", "deep");
  EXPECT_EQ(get("//a///b/./c"), "deep");
  EXPECT_EQ(get("/a/./b/../b/c"), "deep");
  EXPECT_EQ(get("a/b/c"), "deep");
  EXPECT_EQ(get("/a/b/c/"), "deep");
}

TEST_P(FsConformance, EncodedAndTripledDotsAreOrdinaryNames) {
  REQUIRE_WRITABLE();
  ASSERT_OK(fs().write_file("/%2e%2e", "percent"));
  ASSERT_OK(fs().write_file("/...", "three"));
  ASSERT_OK(fs().write_file("/..%2f", "mixed"));
  EXPECT_EQ(get("/%2e%2e"), "percent");
  EXPECT_EQ(get("/..."), "three");
  EXPECT_EQ(get("/..%2f"), "mixed");
  EXPECT_EQ(get("/%2e%2e/%2e%2e/secret"), "<NotDir>");
}

TEST_P(FsConformance, NulBytesAreRejected) {
  std::string p("/a\0b", 4);
  EXPECT_ERR(fs().stat(p), InvalidPath);
  EXPECT_ERR(fs().open(p, OpenFlags::Read), InvalidPath);
  if (writable()) {
    EXPECT_ERR(fs().write_file(p, "x"), InvalidPath);
  }
  EXPECT_ERR(fs().stat(""), InvalidPath);
}

TEST_P(FsConformance, OverlongNamesAndPathsAreNameTooLong) {
  std::string name255(255, 'n'), name256(256, 'n');
  EXPECT_ERR(fs().stat("/" + name256), NameTooLong);
  std::string long_path;
  while (long_path.size() < 4100) long_path += "/abcdefgh";
  EXPECT_ERR(fs().stat(long_path), NameTooLong);
  if (!writable()) return;
  ASSERT_OK(fs().write_file("/" + name255, "max"));
  EXPECT_EQ(get("/" + name255), "max");
  EXPECT_ERR(fs().write_file("/" + name256, "x"), NameTooLong);
  EXPECT_ERR(fs().mkdir("/" + name256), NameTooLong);
}

TEST_P(FsConformance, AbsoluteSymlinksResolveInsideTheRoot) {
  put("/f", "inside");
  ASSERT_OK(seed().mkdir("/d"));
  ASSERT_OK(seed().symlink("/f", "/d/abs"));
  ASSERT_OK(seed().symlink("/", "/d/root"));
  EXPECT_EQ(get("/d/abs"), "inside");
  EXPECT_EQ(get("/d/root/f"), "inside");
  EXPECT_EQ(get("/d/root/../../f"), "inside");
}

TEST_P(FsConformance, SymlinksCannotEscape) {
  put("/f", "inside");
  ASSERT_OK(seed().mkdir("/d"));
  ASSERT_OK(seed().symlink("../../../../../secret", "/d/rel"));
  ASSERT_OK(seed().symlink("/../../../secret", "/d/abs"));
  ASSERT_OK(seed().symlink("../../../../..", "/d/up"));
  ASSERT_OK(seed().symlink(outside_dir() + "/secret", "/d/host"));
  EXPECT_ERR(fs().read_file("/d/rel"), NotFound);
  EXPECT_ERR(fs().read_file("/d/abs"), NotFound);
  EXPECT_ERR(fs().read_file("/d/host"), NotFound);
  EXPECT_EQ(get("/d/up/f"), "inside");
  EXPECT_ERR(fs().read_file("/d/up/secret"), NotFound);
  if (writable()) {
    ASSERT_OK(fs().write_file("/d/rel", "created inside"));
    EXPECT_EQ(get("/secret"), "created inside");
  }
}

TEST_P(FsConformance, DotDotAfterASymlinkIsPhysical) {
  ASSERT_OK(seed().mkdirs("/x/y"));
  put("/x/marker", "x");
  ASSERT_OK(seed().mkdir("/a"));
  ASSERT_OK(seed().symlink("/x/y", "/a/l"));
  EXPECT_EQ(get("/a/l/../marker"), "x");
}

TEST_P(FsConformance, NamingCallsRefuseATrailingDotDot) {
  REQUIRE_WRITABLE();
  ASSERT_OK(seed().mkdirs("/a/b"));
  EXPECT_ERR(fs().mkdir("/a/b/.."), InvalidArgument);
  EXPECT_ERR(fs().remove("/a/b/.."), InvalidArgument);
  EXPECT_ERR(fs().symlink("t", "/a/."), InvalidArgument);
  EXPECT_TRUE(fs().stat("/a/b")->is_dir());
}

// A thread keeps swapping /d between a real directory and a symlink that climbs
// with "..", while readers resolve /d/f. Every read must see an inside file.
TEST_P(FsConformance, SwapsDuringResolutionNeverEscape) {
  REQUIRE_WRITABLE();
  put("/f", "root-f");
  ASSERT_OK(seed().mkdir("/real"));
  put("/real/f", "real-f");
  ASSERT_OK(seed().symlink("../../../../../../..", "/link"));
  ASSERT_OK(seed().rename("/real", "/d"));
  std::atomic<bool> stop{false};
  std::atomic<int> outside{0}, reads{0};
  std::thread swapper([&] {
    // Swap until the readers have had their chance (bounded in count and time).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (int i = 0; (i < 2000 || reads < 4000) && std::chrono::steady_clock::now() < deadline; ++i)
      (void)fs().rename("/link", "/d", RenameFlags::Exchange);
    stop = true;
  });
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!stop) {
        for (const char* p : {"/d/f", "/d/../f", "/d/secret", "/d/d/f"}) {
          auto r = fs().read_file(p);
          if (r && *r == "OUTSIDE") outside++;
          reads++;
        }
      }
    });
  }
  swapper.join();
  for (auto& t : readers) t.join();
  EXPECT_EQ(outside.load(), 0);
  EXPECT_GT(reads.load(), 0);
}

}  // namespace
}  // namespace anyfs::testing

namespace anyfs::testing {
namespace {

TEST_P(FsConformance, ResolveGivesTheCanonicalPath) {
  ASSERT_OK(seed().mkdirs("/x/y"));
  put("/x/y/f", "1");
  ASSERT_OK(seed().symlink("/x/y", "/l"));
  ASSERT_OK(seed().symlink("f", "/x/y/rel"));
  auto r = fs().resolve("/l/../y/./rel");
  ASSERT_OK(r);
  EXPECT_EQ(r->path, "/x/y/f");
  EXPECT_TRUE(r->exists);
  EXPECT_EQ(fs().resolve("/l", Follow::No)->path, "/l");
  auto missing = fs().resolve("/l/new");
  ASSERT_OK(missing);
  EXPECT_EQ(missing->path, "/x/y/new");
  EXPECT_FALSE(missing->exists);
  EXPECT_ERR(fs().resolve("/nope/new"), NotFound);
  EXPECT_ERR(fs().resolve("/x/y/f/g"), NotDir);
}

TEST_P(FsConformance, ResolveUnderARootStaysInside) {
  ASSERT_OK(seed().mkdirs("/jail/d"));
  put("/secret", "s");
  ASSERT_OK(seed().symlink("/d", "/jail/abs"));
  ASSERT_OK(seed().symlink("../../../secret", "/jail/up"));
  EXPECT_EQ(fs().resolve("/abs", Follow::Yes, "/jail")->path, "/d");
  EXPECT_EQ(fs().resolve("/../../..", Follow::Yes, "/jail")->path, "/");
  auto up = fs().resolve("/up", Follow::Yes, "/jail");
  ASSERT_OK(up);
  EXPECT_EQ(up->path, "/secret");  // inside the jail: /jail/secret, which does not exist
  EXPECT_FALSE(up->exists);
  EXPECT_ERR(fs().resolve("/x", Follow::Yes, "/missing"), NotFound);
}

}  // namespace
}  // namespace anyfs::testing
