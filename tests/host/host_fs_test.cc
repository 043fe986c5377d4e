#include "anyfs/host_fs.h"

#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <atomic>
#include <cstddef>
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

// Makes openat2 fail with ENOSYS in this process, as on kernels before 5.6.
bool pretend_openat2_is_missing() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program{static_cast<unsigned short>(std::size(filter)), filter};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

TEST(HostFsDeathTest, WithoutOpenat2OpeningIsUnsupportedNotUnconfined) {
  testing::TempDir tmp;
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        if (!pretend_openat2_is_missing()) std::_Exit(3);
        auto fs = open_host_fs(tmp.str());
        std::_Exit(fs ? 1 : fs.error().code == Errc::Unsupported ? 0 : 2);
      },
      ::testing::ExitedWithCode(0), "");
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
