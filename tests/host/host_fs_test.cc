#include "anyfs/host_fs.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support/result_matchers.h"
#include "support/temp_dir.h"

namespace anyfs {
namespace {

namespace stdfs = std::filesystem;

TEST(HostFs, OpeningAMissingOrNonDirectoryRootFails) {
  testing::TempDir tmp;
  EXPECT_ERR(open_host_fs(tmp.str() + "/missing"), NotFound);
  std::ofstream(tmp.str() + "/file") << "x";
  EXPECT_ERR(open_host_fs(tmp.str() + "/file"), NotDir);
}

TEST(HostFs, ModesAreExactWhateverTheUmask) {
  testing::TempDir tmp;
  mode_t old = umask(077);
  auto fs = open_host_fs(tmp.str());
  ASSERT_OK(fs);
  ASSERT_OK((*fs)->mkdir("/d", 0755));
  ASSERT_OK((*fs)->write_file("/f", "x", 0664));
  umask(old);
  EXPECT_EQ((*fs)->stat("/d")->mode, 0755u);
  EXPECT_EQ((*fs)->stat("/f")->mode, 0664u);
  EXPECT_EQ(stdfs::status(tmp.path() / "f").permissions(), static_cast<stdfs::perms>(0664));
}

// Another process (here: a thread using the host's own calls, not the Fs) keeps
// swapping a directory for a symlink to an outside directory. The kernel's
// RESOLVE_IN_ROOT must keep every HostFs read inside.
TEST(HostFs, SymlinksSwappedInFromOutsideNeverLeadOut) {
  testing::TempDir tmp;
  stdfs::create_directories(tmp.path() / "root/real");
  stdfs::create_directories(tmp.path() / "outside");
  std::ofstream(tmp.path() / "outside/f") << "OUTSIDE";
  std::ofstream(tmp.path() / "root/real/f") << "inside";
  stdfs::create_directory_symlink(tmp.path() / "outside", tmp.path() / "root/abs");
  stdfs::create_directory_symlink("../../outside", tmp.path() / "root/rel");
  auto fs = open_host_fs((tmp.path() / "root").string());
  ASSERT_OK(fs);
  std::atomic<bool> stop{false};
  std::thread swapper([&] {
    const auto d = tmp.path() / "root/d";
    for (int i = 0; i < 20000 && !stop; ++i) {
      const char* from = i % 3 == 0 ? "real" : i % 3 == 1 ? "abs" : "rel";
      std::error_code ec;
      stdfs::rename(tmp.path() / "root" / from, d, ec);
      stdfs::rename(d, tmp.path() / "root" / from, ec);
    }
  });
  int outside = 0;
  for (int i = 0; i < 20000; ++i) {
    auto r = (*fs)->read_file("/d/f");
    if (r && *r == "OUTSIDE") ++outside;

  }
  stop = true;
  swapper.join();
  EXPECT_EQ(outside, 0);
}

}  // namespace
}  // namespace anyfs
