// The mount against what Linux filesystems do under the same kernel, found by
// running ordinary programs through it: direct I/O beside the page cache,
// rewinddir, open directories that lose their name, access and change times,
// device nodes, set-id bits after writes by others, and file handles (NFS
// export). Where the kernel's own rule decides, the test runs the same steps
// in a local directory and expects the same result.
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/falloc.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <dirent.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <thread>

#include "fuse/mount_fixture.h"

namespace anyfs::testing {
namespace {

// --- direct I/O --------------------------------------------------------------------

// Linux AIO through its system calls (no libaio): direct writes in flight
// while another descriptor reads the same range through the page cache.
class Aio {
 public:
  Aio() { ok_ = ::syscall(SYS_io_setup, 8, &ctx_) == 0; }
  ~Aio() {
    if (ok_) ::syscall(SYS_io_destroy, ctx_);
  }
  bool ok() const { return ok_; }
  // Writes `len` bytes at `off` with O_DIRECT semantics of `fd`; waits for it.
  long write(int fd, const void* buf, std::size_t len, off_t off) {
    iocb cb{};
    cb.aio_fildes = static_cast<std::uint32_t>(fd);
    cb.aio_lio_opcode = IOCB_CMD_PWRITE;
    cb.aio_buf = reinterpret_cast<std::uint64_t>(buf);
    cb.aio_nbytes = len;
    cb.aio_offset = off;
    iocb* list[1] = {&cb};
    if (::syscall(SYS_io_submit, ctx_, 1, list) != 1) return -errno;
    io_event ev{};
    if (::syscall(SYS_io_getevents, ctx_, 1, 1, &ev, nullptr) != 1) return -errno;
    return static_cast<long>(ev.res);
  }

 private:
  aio_context_t ctx_ = 0;
  bool ok_ = false;
};

TEST_F(MountTest, DirectWritesAreSeenByBufferedReadersOfTheSameRange) {
  constexpr std::size_t k_block = 64 << 10;
  constexpr int k_blocks = 4;
  spit(at("/img"), std::string(k_block * k_blocks, '\0'));
  Fd direct(::open(at("/img").c_str(), O_RDWR | O_DIRECT));
  ASSERT_TRUE(direct.valid()) << std::strerror(errno);
  Fd reader(::open(at("/img").c_str(), O_RDONLY));
  Fd checker(::open(at("/img").c_str(), O_RDONLY));
  ASSERT_TRUE(reader.valid());
  ASSERT_TRUE(checker.valid());
  Aio aio;
  ASSERT_TRUE(aio.ok()) << std::strerror(errno);
  // A reader keeps the whole range in the page cache while the writes fly.
  std::atomic<bool> done{false};
  std::thread busy([&] {
    std::vector<char> buf(k_block * k_blocks);
    while (!done) (void)!::pread(reader.get(), buf.data(), buf.size(), 0);
  });
  void* mem = nullptr;
  ASSERT_EQ(::posix_memalign(&mem, 4096, k_block), 0);
  std::unique_ptr<char, decltype(&std::free)> block(static_cast<char*>(mem), &std::free);
  std::vector<char> got(k_block);
  int stale = 0;
  for (int round = 1; round <= 300 && stale == 0; ++round) {
    const char fill = static_cast<char>('A' + round % 50);
    const off_t off = static_cast<off_t>((round % k_blocks) * k_block);
    std::memset(block.get(), fill, k_block);
    ASSERT_EQ(aio.write(direct.get(), block.get(), k_block, off), static_cast<long>(k_block));
    ASSERT_EQ(::pread(checker.get(), got.data(), k_block, off), static_cast<ssize_t>(k_block));
    for (std::size_t i = 0; i < k_block; ++i)
      if (got[i] != fill) {
        ADD_FAILURE() << "round " << round << ": byte " << off + static_cast<off_t>(i)
                      << " is stale after the direct write returned";
        stale++;
        break;
      }
  }
  done = true;
  busy.join();
}

// --- directories -------------------------------------------------------------------

TEST_F(MountTest, RewinddirShowsNamesMadeSinceTheDirectoryWasOpened) {
  ASSERT_EQ(::mkdir(at("/d").c_str(), 0755), 0);
  DIR* dir = ::opendir(at("/d").c_str());
  ASSERT_NE(dir, nullptr);
  int seen = 0;
  while (::readdir(dir) != nullptr) seen++;
  EXPECT_EQ(seen, 2);  // . and ..
  constexpr int k_files = 10000;
  for (int i = 0; i < k_files; ++i) {
    int fd = ::open(at("/d/f" + std::to_string(i)).c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    ::close(fd);
  }
  ::rewinddir(dir);
  std::set<std::string> names;
  while (dirent* e = ::readdir(dir)) names.insert(e->d_name);
  ::closedir(dir);
  EXPECT_EQ(names.size(), static_cast<std::size_t>(k_files + 2));
  EXPECT_TRUE(names.contains("f0"));
  EXPECT_TRUE(names.contains("f9999"));
}

TEST_F(MountTest, AnOpenDirectoryReplacedByRenameStillAnswersFstat) {
  ASSERT_EQ(::mkdir(at("/a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(at("/b").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir(at("/gone").c_str(), 0700), 0);
  Fd b(::open(at("/b").c_str(), O_RDONLY | O_DIRECTORY));
  Fd gone(::open(at("/gone").c_str(), O_RDONLY | O_DIRECTORY));
  ASSERT_TRUE(b.valid());
  ASSERT_TRUE(gone.valid());
  ASSERT_EQ(::rename(at("/a").c_str(), at("/b").c_str()), 0);
  ASSERT_EQ(::rmdir(at("/gone").c_str()), 0);
  for (Fd* held : {&b, &gone}) {
    const int fd = held->get();
    struct stat st {};
    ASSERT_EQ(::fstat(fd, &st), 0) << std::strerror(errno);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    EXPECT_EQ(st.st_nlink, 0u);
    // Its listing is empty, and nothing can be made in it.
    DIR* d = ::fdopendir(::dup(fd));
    ASSERT_NE(d, nullptr);
    int n = 0;
    while (dirent* e = ::readdir(d)) n += std::string(e->d_name) != "." && std::string(e->d_name) != "..";
    ::closedir(d);
    EXPECT_EQ(n, 0);
    EXPECT_EQ(errno_of(::openat(fd, "x", O_CREAT | O_WRONLY, 0644)), ENOENT);
    held->reset();
  }
  EXPECT_OK(dataset_->sync());
  expect_sound(*pool_);
}

// --- times -------------------------------------------------------------------------

std::int64_t atime_of(const std::string& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return -1;
  return static_cast<std::int64_t>(st.st_atim.tv_sec);
}

void read_through(const std::string& p) {
  int fd = ::open(p.c_str(), O_RDONLY);
  char buf[64];
  while (fd >= 0 && ::read(fd, buf, sizeof buf) > 0) {
  }
  if (fd >= 0) ::close(fd);
}

void set_times(const std::string& p, std::int64_t atime, std::int64_t mtime) {
  timespec ts[2] = {{static_cast<time_t>(atime), 0}, {static_cast<time_t>(mtime), 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), ts, 0), 0);
}

TEST_F(MountTest, ReadingUpdatesAtimeAsRelatimeDoes) {
  spit(at("/f"), "some bytes");
  const std::int64_t now = ::time(nullptr);
  // atime older than mtime: the next read moves it.
  set_times(at("/f"), now - 7200, now - 3600);
  read_through(at("/f"));
  EXPECT_GE(atime_of(at("/f")), now - 5);
  // Now newer than mtime and ctime, less than a day old: reads leave it.
  struct stat first {};
  ASSERT_EQ(::stat(at("/f").c_str(), &first), 0);
  read_through(at("/f"));
  struct stat second {};
  ASSERT_EQ(::stat(at("/f").c_str(), &second), 0);
  EXPECT_EQ(second.st_atim.tv_nsec, first.st_atim.tv_nsec);
  EXPECT_EQ(second.st_atim.tv_sec, first.st_atim.tv_sec);
  // Older than the last change (utimensat moves ctime): moved again.
  set_times(at("/f"), now - 2 * 86400, now - 3 * 86400);
  read_through(at("/f"));
  EXPECT_GE(atime_of(at("/f")), now - 5);
  // A directory's atime moves when it is listed.
  ASSERT_EQ(::mkdir(at("/d").c_str(), 0755), 0);
  set_times(at("/d"), now - 7200, now - 3600);
  DIR* dir = ::opendir(at("/d").c_str());
  ASSERT_NE(dir, nullptr);
  while (::readdir(dir) != nullptr) {
  }
  ::closedir(dir);
  EXPECT_GE(atime_of(at("/d")), now - 5);
  // The API sees what the mount showed.
  EXPECT_GE(must(dataset_->stat("/f")).atime_ns / 1'000'000'000, now - 5);
}

TEST_F(MountTest, AtimeOffNeverMovesAtime) {
  ASSERT_OK(pool_->set_property("", "atime", "off"));
  spit(at("/f"), "some bytes");
  const std::int64_t now = ::time(nullptr);
  set_times(at("/f"), now - 7200, now - 3600);
  read_through(at("/f"));
  EXPECT_EQ(atime_of(at("/f")), now - 7200);
}

TEST_F(MountTest, TimesAreTheSameAfterUnmountAndMount) {
  ASSERT_EQ(::mkdir(at("/d").c_str(), 0755), 0);
  for (int i = 0; i < 3; ++i) {
    spit(at("/d/f" + std::to_string(i)), std::string(100000 + i, 'x'));
    int fd = ::open(at("/d/f" + std::to_string(i)).c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "tail", 4), 4);
    ::close(fd);
  }
  ASSERT_EQ(::chmod(at("/d/f1").c_str(), 0600), 0);
  ASSERT_EQ(::truncate(at("/d/f2").c_str(), 10), 0);
  auto times = [&](const std::string& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0);
    return std::vector<std::int64_t>{st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_ctim.tv_sec, st.st_ctim.tv_nsec,
                                     static_cast<std::int64_t>(st.st_size)};
  };
  std::vector<std::vector<std::int64_t>> before;
  for (int i = 0; i < 3; ++i) before.push_back(times(at("/d/f" + std::to_string(i))));
  ASSERT_OK(mount_->stop());
  mount_ = must(Mount::start(pool_, dataset_, mnt_, mount_options()));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(times(at("/d/f" + std::to_string(i))), before[i]) << "f" << i;
}

// --- device nodes and set-id bits --------------------------------------------------

class DevMount : public MountTest {
  MountOptions mount_options() override { return {.allow_other = true, .devices = true, .setuid = true}; }
};

TEST_F(DevMount, DeviceNodesOpenWhenMountedWithDev) {
  if (!root()) GTEST_SKIP() << "needs root to make device nodes";
  ASSERT_EQ(::mknod(at("/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  Fd fd(::open(at("/null").c_str(), O_RDWR));
  ASSERT_TRUE(fd.valid()) << std::strerror(errno);
  EXPECT_EQ(::write(fd.get(), "gone", 4), 4);
  char c;
  EXPECT_EQ(::read(fd.get(), &c, 1), 0);
  fd.reset();
  std::ifstream mounts("/proc/self/mounts");
  std::string line;
  bool found = false;
  while (std::getline(mounts, line))
    if (line.find(" " + mnt_ + " ") != std::string::npos) {
      found = true;
      EXPECT_EQ(line.find("nodev"), std::string::npos) << line;
      EXPECT_EQ(line.find("nosuid"), std::string::npos) << line;
    }
  EXPECT_TRUE(found);
}

// What a write, a truncate or a hole punch by `uid:gid` leaves of `mode` on a
// file owned by `owner`:`group` in directory `dir`.
struct SetIdCase {
  uid_t owner;
  gid_t group;
  std::uint32_t mode;
  uid_t uid;
  gid_t gid;
};

enum class DataChange { Append, Truncate, Ftruncate, PunchHole, OpenTruncate };

std::uint32_t mode_after(const std::string& dir, const SetIdCase& c, DataChange change) {
  const std::string p = dir + "/target";
  ::unlink(p.c_str());
  spit(p, std::string(8192, 'x'));
  if (::chown(p.c_str(), c.owner, c.group) != 0 || ::chmod(p.c_str(), c.mode) != 0) return 0xffffffff;
  int rc = as_user(c.uid, c.gid, [&] {
    switch (change) {
      case DataChange::Append: {
        int fd = ::open(p.c_str(), O_WRONLY | O_APPEND);
        if (fd < 0) return errno;
        int r = ::write(fd, "y", 1) == 1 ? 0 : errno;
        ::close(fd);
        return r;
      }
      case DataChange::Truncate: return errno_of(::truncate(p.c_str(), 100));
      case DataChange::Ftruncate: {
        int fd = ::open(p.c_str(), O_WRONLY);
        if (fd < 0) return errno;
        int r = errno_of(::ftruncate(fd, 50));
        ::close(fd);
        return r;
      }
      case DataChange::PunchHole: {
        int fd = ::open(p.c_str(), O_WRONLY);
        if (fd < 0) return errno;
        int r = errno_of(::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096));
        ::close(fd);
        return r;
      }
      case DataChange::OpenTruncate: {
        int fd = ::open(p.c_str(), O_WRONLY | O_TRUNC);
        if (fd < 0) return errno;
        ::close(fd);
        return 0;
      }
    }
    return 0;
  });
  if (rc != 0) return 0xfffffffe;
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0xfffffffd;
  return st.st_mode & 07777;
}

TEST_F(MountTest, SetIdBitsAfterChangesByOthersAreWhatALocalFilesystemLeaves) {
  if (!root()) GTEST_SKIP() << "needs root to act as other users";
  const std::string local = tmp_.str() + "/local";
  ASSERT_EQ(::mkdir(local.c_str(), 0777), 0);
  ASSERT_EQ(::chmod(local.c_str(), 0777), 0);
  ASSERT_EQ(::chmod(at("/").c_str(), 0777), 0);
  const std::vector<SetIdCase> cases = {
      {0, 0, 06666, 1000, 1001},        // a stranger: both bits go
      {0, 1001, 06666, 1000, 1001},     // in the group, no group-exec: set-group-ID stays
      {0, 1001, 06776, 1000, 1001},     // in the group, group-exec: both go
      {1000, 1001, 06766, 1000, 1001},  // the owner: set-user-ID goes
      {1000, 1001, 06666, 0, 0},        // root keeps both (CAP_FSETID)
  };
  int compared = 0;
  for (const auto& c : cases)
    for (DataChange change : {DataChange::Append, DataChange::Truncate, DataChange::Ftruncate, DataChange::PunchHole,
                          DataChange::OpenTruncate}) {
      const std::uint32_t want = mode_after(local, c, change);
      if (want >= 0xfffffff0 && change == DataChange::PunchHole) continue;  // the local file system cannot punch
      ASSERT_LT(want, 0xfffffff0u) << "the local step failed";
      EXPECT_EQ(mode_after(mnt_, c, change), want)
          << "mode " << std::oct << c.mode << std::dec << " owned by " << c.owner << ":" << c.group << ", change "
          << static_cast<int>(change) << " by " << c.uid << ":" << c.gid;
      compared++;
    }
  EXPECT_GE(compared, 20);
}

// --- file handles ------------------------------------------------------------------

struct Handle {
  file_handle head;
  unsigned char bytes[MAX_HANDLE_SZ];
};

TEST_F(MountTest, FileHandlesOpenAfterTheKernelForgetsTheInode) {
  if (!root()) GTEST_SKIP() << "open_by_handle_at needs CAP_DAC_READ_SEARCH";
  ASSERT_EQ(::mkdir(at("/dir").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(at("/dir/sub").c_str(), 0755), 0);
  spit(at("/dir/sub/f"), "by handle");
  Handle file{}, sub{};
  int mount_id = 0;
  file.head.handle_bytes = MAX_HANDLE_SZ;
  sub.head.handle_bytes = MAX_HANDLE_SZ;
  ASSERT_EQ(::name_to_handle_at(AT_FDCWD, at("/dir/sub/f").c_str(), &file.head, &mount_id, 0), 0)
      << std::strerror(errno);
  ASSERT_EQ(::name_to_handle_at(AT_FDCWD, at("/dir/sub").c_str(), &sub.head, &mount_id, 0), 0);
  // Drop the kernel's dentries and inodes: the handles must be decoded by
  // asking the daemon.
  ::sync();
  {
    std::ofstream drop("/proc/sys/vm/drop_caches");
    drop << "2\n";
  }
  Fd root_fd(::open(mnt_.c_str(), O_RDONLY | O_DIRECTORY));
  ASSERT_TRUE(root_fd.valid());
  Fd fd(::open_by_handle_at(root_fd.get(), &file.head, O_RDONLY));
  ASSERT_TRUE(fd.valid()) << std::strerror(errno);
  char buf[32] = {};
  EXPECT_EQ(::read(fd.get(), buf, sizeof buf), 9);
  EXPECT_EQ(std::string(buf, 9), "by handle");
  fd.reset();
  {
    std::ofstream drop("/proc/sys/vm/drop_caches");
    drop << "2\n";
  }
  Fd dfd(::open_by_handle_at(root_fd.get(), &sub.head, O_RDONLY | O_DIRECTORY));
  ASSERT_TRUE(dfd.valid()) << std::strerror(errno);
  EXPECT_EQ(errno_of(::faccessat(dfd.get(), "f", F_OK, 0)), 0);
  dfd.reset();
  // A handle to a removed file is stale.
  ASSERT_EQ(::unlink(at("/dir/sub/f").c_str()), 0);
  EXPECT_EQ(errno_of(::open_by_handle_at(root_fd.get(), &file.head, O_RDONLY)), ESTALE);
}

}  // namespace
}  // namespace anyfs::testing
