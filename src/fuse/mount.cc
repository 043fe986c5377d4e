// Mount: a libfuse session over a Server, served by libfuse's multithreaded
// loop on a thread of its own. Unmounting is the kernel's business: a detach
// (umount2 MNT_DETACH, or fusermount3 -u -z without root) ends the connection
// once nothing is inside, the loop then returns, and the pool is committed.
#include "anyfs/mount.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <thread>
#include <vector>

#include "fuse/lowlevel.h"
#include "util/mutex.h"

extern char** environ;

namespace anyfs {
namespace {

// fsname is one mount option: no commas or spaces in it.
std::string option_safe(std::string s) {
  std::replace_if(s.begin(), s.end(), [](char c) { return c == ',' || c == ' ' || c == '\\'; }, '_');
  return s;
}

class MountImpl final : public Mount {
 public:
  MountImpl(std::shared_ptr<Pool> pool, std::shared_ptr<Dataset> dataset, std::string mountpoint,
            const MountOptions& options)
      : mountpoint_(std::move(mountpoint)),
        options_(options),
        server_(std::make_unique<fuse::Server>(std::move(pool), std::move(dataset), options)) {}

  ~MountImpl() override { (void)stop(); }

  Result<void> begin() {
    std::vector<std::string> words{"anyfs", "-o",
                                   "default_permissions,fsname=anyfs:" + option_safe(options_.source) +
                                       ",subtype=anyfs"};
    if (options_.allow_other) words.back() += ",allow_other";
    if (options_.read_only) words.back() += ",ro";
    if (options_.devices) words.back() += ",dev";
    if (options_.setuid) words.back() += ",suid";
    if (options_.debug) words.push_back("-d");
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
    data_ = fuse::session_data(*server_, options_.cache_seconds, options_.writeback_cache);
    fuse_lowlevel_ops ops = fuse::operations();
    se_ = fuse_session_new(&args, &ops, sizeof ops, data_);
    fuse_opt_free_args(&args);
    if (se_ == nullptr) return fail(Errc::InvalidArgument, mountpoint_, "libfuse refused the mount options");
    fuse::attach_session(data_, se_);
    if (fuse_session_mount(se_, mountpoint_.c_str()) != 0) {
      fuse_session_destroy(se_);
      se_ = nullptr;
      return fail(Errc::Io, mountpoint_, "the kernel refused the mount (libfuse said why above)");
    }
    mounted_ = true;
    loop_ = std::thread([this] {
      fuse_loop_config* config = fuse_loop_cfg_create();
      const unsigned threads = std::max(1u, options_.max_threads);
      fuse_loop_cfg_set_max_threads(config, threads);
      fuse_loop_cfg_set_idle_threads(config, threads);  // no thread churn between bursts
      loop_result_ = fuse_session_loop_mt(se_, config);
      fuse_loop_cfg_destroy(config);
    });
    widen_readahead();
    return {};
  }

  // The kernel reads ahead at most its default (128 KiB) on a FUSE mount, in
  // requests that size; 1 MiB makes sequential reads 2-3x faster (see
  // docs/PERFORMANCE.md, "Mount"). Needs root (sysfs); otherwise stays as is.
  void widen_readahead() {
    struct stat st {};
    if (::stat(mountpoint_.c_str(), &st) != 0) return;  // served by the loop just started
    std::string knob = "/sys/class/bdi/" + std::to_string(major(st.st_dev)) + ":" +
                       std::to_string(minor(st.st_dev)) + "/read_ahead_kb";
    int fd = ::open(knob.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    (void)!::write(fd, "1024", 4);
    ::close(fd);
  }

  // The kernel writes back what it caches (pages, and with the writeback
  // cache the times it keeps) only while the connection lives: an unmount
  // ends the connection first. Sync it while the daemon still serves.
  void flush_kernel() {
    int fd = ::open(mountpoint_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    (void)::syncfs(fd);
    ::close(fd);
  }

  Result<void> wait() override {
    MutexLock lock(wait_mu_);
    if (loop_.joinable()) loop_.join();
    if (se_ != nullptr) {
      fuse_session_unmount(se_);  // the kernel already let go: this closes the device
      fuse_session_destroy(se_);
      se_ = nullptr;
    }
    if (data_ != nullptr) {
      fuse::free_session_data(data_);
      data_ = nullptr;
    }
    auto synced = server_->sync();
    if (loop_result_ != 0)
      return fail(Errc::Io, mountpoint_, "the FUSE session ended with an error");
    return synced;
  }

  Result<void> stop() override {
    {
      MutexLock lock(stop_mu_);
      if (mounted_ && !stopping_) {
        stopping_ = true;
        flush_kernel();
        (void)unmount(mountpoint_, true);  // fails harmlessly if the kernel already let go
      }
    }
    return wait();
  }

  const std::string& mountpoint() const override { return mountpoint_; }

 private:
  const std::string mountpoint_;
  const MountOptions options_;
  std::unique_ptr<fuse::Server> server_;
  void* data_ = nullptr;
  fuse_session* se_ = nullptr;
  std::thread loop_;
  int loop_result_ = 0;
  bool mounted_ = false;
  Mutex stop_mu_;
  bool stopping_ GUARDED_BY(stop_mu_) = false;
  Mutex wait_mu_;  // one waiter tears the session down
};

}  // namespace

Result<void> unmount(const std::string& mountpoint, bool lazy) {
  // What the kernel caches (with the writeback cache, file times too) reaches
  // the daemon only while the connection lives; an unmount ends it first.
  if (int fd = ::open(mountpoint.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); fd >= 0) {
    (void)::syncfs(fd);
    ::close(fd);
  }
  if (::geteuid() == 0) {
    if (::umount2(mountpoint.c_str(), lazy ? MNT_DETACH : 0) == 0) return {};
    if (errno == EBUSY) return fail(Errc::Busy, mountpoint, "in use; close what uses it, or unmount lazily");
    return fail_errno(errno, mountpoint, "umount");
  }
  std::vector<const char*> argv{"fusermount3", "-u", "-q"};
  if (lazy) argv.push_back("-z");
  argv.push_back(mountpoint.c_str());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawnp(&pid, "fusermount3", nullptr, nullptr, const_cast<char**>(argv.data()), environ) != 0)
    return fail(Errc::NotFound, "fusermount3", "cannot run fusermount3 (Debian package fuse3)");
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return fail(Errc::Busy, mountpoint, "fusermount3 -u failed (in use, or not mounted)");
  return {};
}

Result<void> fuse_available() {
  int fd = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (fd < 0) return fail_errno(errno, "/dev/fuse", "cannot open the FUSE device");
  ::close(fd);
  return {};
}

Result<std::unique_ptr<Mount>> Mount::start(std::shared_ptr<Pool> pool, std::shared_ptr<Dataset> dataset,
                                            const std::string& mountpoint, const MountOptions& options) {
  ANYFS_CHECK(fuse_available());
  struct stat st {};
  if (::stat(mountpoint.c_str(), &st) != 0) return fail_errno(errno, mountpoint, "mountpoint");
  if (!S_ISDIR(st.st_mode)) return fail(Errc::NotDir, mountpoint, "the mountpoint is not a directory");
  if ((options.devices || options.setuid) && ::geteuid() != 0)
    return fail(Errc::NotPermitted, mountpoint, "only root may mount with dev or suid (device nodes and set-id programs)");
  auto mount = std::make_unique<MountImpl>(std::move(pool), std::move(dataset), mountpoint, options);
  ANYFS_CHECK(mount->begin());
  return std::unique_ptr<Mount>(std::move(mount));
}

}  // namespace anyfs
