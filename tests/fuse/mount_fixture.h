// What the mount tests share: a pool mounted at a fresh directory, and helpers
// to act as another user and read or write files through the kernel.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "anyfs/mount.h"
#include "anyfs/pool.h"
#include "support/must.h"
#include "support/result_matchers.h"
#include "support/temp_dir.h"
#include "util/fd.h"

namespace anyfs::testing {

inline std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void spit(const std::string& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}

// Runs `body` in a child process as uid:gid; returns its result (0 or an errno).
// The child only makes system calls: it was forked from a threaded process.
inline int as_user(uid_t uid, gid_t gid, const std::function<int()>& body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    gid_t groups[] = {gid};
    if (::setgroups(1, groups) != 0 || ::setresgid(gid, gid, gid) != 0 || ::setresuid(uid, uid, uid) != 0) _exit(250);
    _exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 251;
}

inline int errno_of(int rc) { return rc < 0 ? errno : 0; }

inline void expect_sound(Pool& pool) {
  auto report = must(pool.verify());
  EXPECT_TRUE(report.problems.empty()) << report.problems.front();
}

class MountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto r = fuse_available(); !r) GTEST_SKIP() << "no FUSE here: " << r.error().to_string();
    pool_ = must(Pool::create(tmp_.str() + "/p.anyfs", create_options()));
    dataset_ = must(pool_->dataset());
    mnt_ = tmp_.str() + "/mnt";
    std::filesystem::create_directories(mnt_);
    ::chmod(tmp_.str().c_str(), 0755);  // other users must reach the mountpoint
    mount_ = must(Mount::start(pool_, dataset_, mnt_, mount_options()));
  }
  void TearDown() override {
    if (mount_) {
      EXPECT_OK(mount_->stop());
    }
  }
  virtual PoolCreateOptions create_options() { return {}; }
  virtual MountOptions mount_options() { return {.allow_other = true, .debug = std::getenv("ANYFS_FUSE_DEBUG") != nullptr}; }

  std::string at(const std::string& p) const { return mnt_ + p; }
  static bool root() { return ::geteuid() == 0; }

  TempDir tmp_;
  std::shared_ptr<Pool> pool_;
  std::shared_ptr<Dataset> dataset_;
  std::string mnt_;
  std::unique_ptr<Mount> mount_;
};

}  // namespace anyfs::testing
