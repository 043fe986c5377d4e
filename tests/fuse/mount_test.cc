// The FUSE mount, through the kernel: what the conformance suite (which runs
// over a mount too, see conformance/instances.cc) cannot say — owners and
// permission checks for other users, set-group-ID and sticky directories,
// caches that must not go stale, renameat2 flags, special files, reflinks by
// copy_file_range, holes, locks, the .anyfs/snapshots view, read-only and
// historical mounts, and a failing pool answering EIO instead of hanging.
#include <fcntl.h>
#include <grp.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "anyfs/mount.h"
#include "anyfs/pool.h"
#include "support/fault_vfs.h"
#include "support/must.h"
#include "support/result_matchers.h"
#include "support/temp_dir.h"
#include "fuse/mount_fixture.h"

namespace anyfs::testing {
namespace {

TEST_F(MountTest, NewObjectsBelongToTheCallingUser) {
  if (!root()) GTEST_SKIP() << "needs root to act as other users";
  ASSERT_EQ(::chmod(at("/").c_str(), 0777), 0);
  EXPECT_EQ(as_user(1000, 1001, [&] {
              int fd = ::open(at("/mine").c_str(), O_CREAT | O_WRONLY, 0640);
              if (fd < 0) return errno;
              ::close(fd);
              return errno_of(::mkdir(at("/mydir").c_str(), 0750));
            }),
            0);
  for (const char* p : {"/mine", "/mydir"}) {
    struct stat st {};
    ASSERT_EQ(::stat(at(p).c_str(), &st), 0) << p;
    EXPECT_EQ(st.st_uid, 1000u) << p;
    EXPECT_EQ(st.st_gid, 1001u) << p;
  }
  // The API sees the same owners.
  auto st = must(dataset_->stat("/mine"));
  EXPECT_EQ(st.uid, 1000u);
  EXPECT_EQ(st.mode, 0640u);
}

TEST_F(MountTest, SetGroupIdDirectoriesPassOnTheirGroup) {
  if (!root()) GTEST_SKIP() << "needs root to act as other users";
  ASSERT_EQ(::mkdir(at("/shared").c_str(), 0777), 0);
  ASSERT_EQ(::chown(at("/shared").c_str(), 0, 4242), 0);
  ASSERT_EQ(::chmod(at("/shared").c_str(), 02777), 0);
  EXPECT_EQ(as_user(1000, 1000, [&] {
              int fd = ::open(at("/shared/f").c_str(), O_CREAT | O_WRONLY, 0644);
              if (fd < 0) return errno;
              ::close(fd);
              return errno_of(::mkdir(at("/shared/sub").c_str(), 0755));
            }),
            0);
  struct stat f {}, d {};
  ASSERT_EQ(::stat(at("/shared/f").c_str(), &f), 0);
  ASSERT_EQ(::stat(at("/shared/sub").c_str(), &d), 0);
  EXPECT_EQ(f.st_gid, 4242u);
  EXPECT_EQ(f.st_uid, 1000u);
  EXPECT_EQ(d.st_gid, 4242u);
  EXPECT_TRUE(d.st_mode & S_ISGID) << "a new directory keeps passing the group on";
  EXPECT_FALSE(f.st_mode & S_ISGID);
}

TEST_F(MountTest, ModeBitsAreEnforcedForOtherUsers) {
  if (!root()) GTEST_SKIP() << "needs root to act as other users";
  spit(at("/private"), "secret");
  ASSERT_EQ(::chmod(at("/private").c_str(), 0600), 0);
  ASSERT_EQ(::chmod(at("/").c_str(), 0755), 0);
  EXPECT_EQ(as_user(1000, 1000, [&] { return errno_of(::open(at("/private").c_str(), O_RDONLY)); }), EACCES);
  EXPECT_EQ(as_user(1000, 1000, [&] { return errno_of(::open(at("/new").c_str(), O_CREAT | O_WRONLY, 0644)); }),
            EACCES);
  EXPECT_EQ(as_user(1000, 1000, [&] { return errno_of(::chmod(at("/private").c_str(), 0777)); }), EPERM);
  EXPECT_EQ(as_user(1000, 1000, [&] { return errno_of(::chown(at("/private").c_str(), 1000, 1000)); }), EPERM);
  // Opening the mode to others lets them in at once: no stale cached mode.
  ASSERT_EQ(::chmod(at("/private").c_str(), 0644), 0);
  EXPECT_EQ(as_user(1000, 1000, [&] {
              int fd = ::open(at("/private").c_str(), O_RDONLY);
              if (fd < 0) return errno;
              ::close(fd);
              return 0;
            }),
            0);
}

TEST_F(MountTest, StickyDirectoriesProtectOthersFiles) {
  if (!root()) GTEST_SKIP() << "needs root to act as other users";
  ASSERT_EQ(::mkdir(at("/tmp").c_str(), 01777), 0);
  ASSERT_EQ(::chmod(at("/tmp").c_str(), 01777), 0);
  EXPECT_EQ(as_user(1001, 1001, [&] {
              int fd = ::open(at("/tmp/theirs").c_str(), O_CREAT | O_WRONLY, 0666);
              if (fd < 0) return errno;
              ::close(fd);
              return 0;
            }),
            0);
  EXPECT_EQ(as_user(1000, 1000, [&] { return errno_of(::unlink(at("/tmp/theirs").c_str())); }), EPERM);
  EXPECT_EQ(as_user(1000, 1000, [&] { return errno_of(::rename(at("/tmp/theirs").c_str(), at("/tmp/x").c_str())); }),
            EPERM);
  EXPECT_EQ(as_user(1001, 1001, [&] { return errno_of(::unlink(at("/tmp/theirs").c_str())); }), 0);
}

TEST_F(MountTest, AttributesSeenThroughOtherNamesAndHandlesAreNeverStale) {
  spit(at("/a"), "12345");
  struct stat st {};
  ASSERT_EQ(::stat(at("/a").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);
  // link: the count is right through both names at once.
  ASSERT_EQ(::link(at("/a").c_str(), at("/b").c_str()), 0);
  ASSERT_EQ(::stat(at("/a").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
  // chmod and chown through one name show through the other.
  ASSERT_EQ(::chmod(at("/b").c_str(), 0600), 0);
  ASSERT_EQ(::chown(at("/b").c_str(), 7, 8), 0);
  ASSERT_EQ(::stat(at("/a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, 7u);
  EXPECT_EQ(st.st_gid, 8u);
  // A write through one handle: size through another handle and the path.
  int w = ::open(at("/a").c_str(), O_WRONLY);
  int r = ::open(at("/b").c_str(), O_RDONLY);
  ASSERT_GE(w, 0);
  ASSERT_GE(r, 0);
  ASSERT_EQ(::pwrite(w, "more bytes", 10, 5), 10);
  ASSERT_EQ(::fstat(r, &st), 0);
  EXPECT_EQ(st.st_size, 15);
  ASSERT_EQ(::stat(at("/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 15);
  char buf[32] = {};
  EXPECT_EQ(::pread(r, buf, sizeof buf, 0), 15);
  EXPECT_EQ(std::string(buf, 15), "12345more bytes");
  // rename over a name: the replaced file's count drops, seen through its handle.
  spit(at("/c"), "c");
  int c = ::open(at("/c").c_str(), O_RDONLY);
  ASSERT_GE(c, 0);
  ASSERT_EQ(::rename(at("/a").c_str(), at("/c").c_str()), 0);
  ASSERT_EQ(::fstat(c, &st), 0);
  EXPECT_EQ(st.st_nlink, 0u);
  ASSERT_EQ(::stat(at("/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
  // The API agrees with the kernel.
  EXPECT_EQ(must(dataset_->stat("/c")).nlink, 2u);
  for (int fd : {w, r, c}) ::close(fd);
}

TEST_F(MountTest, RenameNoReplaceAndExchange) {
  spit(at("/x"), "x");
  spit(at("/y"), "y");
  EXPECT_EQ(errno_of(::renameat2(AT_FDCWD, at("/x").c_str(), AT_FDCWD, at("/y").c_str(), RENAME_NOREPLACE)), EEXIST);
  ASSERT_EQ(::renameat2(AT_FDCWD, at("/x").c_str(), AT_FDCWD, at("/y").c_str(), RENAME_EXCHANGE), 0);
  EXPECT_EQ(slurp(at("/x")), "y");
  EXPECT_EQ(slurp(at("/y")), "x");
  ASSERT_EQ(::mkdir(at("/d").c_str(), 0755), 0);
  ASSERT_EQ(::renameat2(AT_FDCWD, at("/x").c_str(), AT_FDCWD, at("/d").c_str(), RENAME_EXCHANGE), 0);
  struct stat st {};
  ASSERT_EQ(::stat(at("/x").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(slurp(at("/d")), "y");
  EXPECT_EQ(errno_of(::renameat2(AT_FDCWD, at("/x").c_str(), AT_FDCWD, at("/nope").c_str(), RENAME_EXCHANGE)),
            ENOENT);
  EXPECT_EQ(errno_of(::rename(at("/x").c_str(), at("/x/inside").c_str())), EINVAL);
}

TEST_F(MountTest, AnUnlinkedOpenFileStaysReadableAndWritable) {
  spit(at("/f"), "still here");
  int fd = ::open(at("/f").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::unlink(at("/f").c_str()), 0);
  EXPECT_EQ(errno_of(::access(at("/f").c_str(), F_OK)), ENOENT);
  ASSERT_EQ(::pwrite(fd, "!", 1, 10), 1);
  char buf[16] = {};
  EXPECT_EQ(::pread(fd, buf, sizeof buf, 0), 11);
  EXPECT_EQ(std::string(buf, 11), "still here!");
  struct stat st {};
  ASSERT_EQ(::fstat(fd, &st), 0);
  EXPECT_EQ(st.st_nlink, 0u);
  ::close(fd);
  EXPECT_OK(dataset_->sync());
  expect_sound(*pool_);
}

TEST_F(MountTest, FifosAndDevicesAreCreatedWithMknod) {
  ASSERT_EQ(::mkfifo(at("/pipe").c_str(), 0640), 0);
  struct stat st {};
  ASSERT_EQ(::stat(at("/pipe").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(must(dataset_->lstat("/pipe")).kind, FileKind::Fifo);
  // The kernel runs the pipe: a reader and a writer meet through it.
  int rd = ::open(at("/pipe").c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(rd, 0);
  int wr = ::open(at("/pipe").c_str(), O_WRONLY | O_NONBLOCK);
  ASSERT_GE(wr, 0);
  ASSERT_EQ(::write(wr, "hi", 2), 2);
  char buf[4] = {};
  EXPECT_EQ(::read(rd, buf, sizeof buf), 2);
  ::close(rd);
  ::close(wr);
  if (root()) {
    ASSERT_EQ(::mknod(at("/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
    ASSERT_EQ(::stat(at("/null").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, makedev(1, 3));
    EXPECT_EQ(must(dataset_->lstat("/null")).rdev, makedev(1, 3));
    // Mounted nodev (FUSE's default): the device cannot be opened.
    EXPECT_EQ(errno_of(::open(at("/null").c_str(), O_RDONLY)), EACCES);
  }
}

TEST_F(MountTest, CopyFileRangeSharesChunksInsteadOfCopying) {
  std::string data;
  for (int i = 0; i < 4 << 20; i += 8) data += std::to_string(10000000 + i % 9999991).substr(0, 8);
  spit(at("/big"), data);
  ASSERT_OK(dataset_->sync());
  const auto before = must(pool_->stats());
  int in = ::open(at("/big").c_str(), O_RDONLY);
  int out = ::open(at("/copy").c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(in, 0);
  ASSERT_GE(out, 0);
  std::size_t copied = 0;
  while (copied < data.size()) {
    ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, data.size() - copied, 0);
    ASSERT_GT(n, 0) << std::strerror(errno);
    copied += static_cast<std::size_t>(n);
  }
  ::close(in);
  ::close(out);
  EXPECT_EQ(slurp(at("/copy")), data);
  ASSERT_OK(dataset_->sync());
  const auto after = must(pool_->stats());
  EXPECT_EQ(after.logical_bytes, before.logical_bytes + data.size());
  EXPECT_LT(after.chunk_raw_bytes, before.chunk_raw_bytes + data.size() / 100) << "the copy stored its data again";
  // A range into the middle of another file.
  spit(at("/target"), std::string(100, '.'));
  in = ::open(at("/big").c_str(), O_RDONLY);
  out = ::open(at("/target").c_str(), O_WRONLY);
  loff_t from = 1000, to = 10;
  ASSERT_EQ(::copy_file_range(in, &from, out, &to, 50, 0), 50);
  ::close(in);
  ::close(out);
  EXPECT_EQ(slurp(at("/target")), std::string(10, '.') + data.substr(1000, 50) + std::string(40, '.'));
  expect_sound(*pool_);
}

TEST_F(MountTest, PunchingAHoleZeroesTheRangeAndKeepsTheSize) {
  spit(at("/f"), std::string(1 << 20, 'x'));
  int fd = ::open(at("/f").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 8192), 0) << std::strerror(errno);
  EXPECT_EQ(errno_of(::fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 10)), EOPNOTSUPP);
  // posix_fallocate falls back to writing: it still works.
  EXPECT_EQ(::posix_fallocate(fd, 0, 2 << 20), 0);
  ::close(fd);
  std::string got = slurp(at("/f"));
  ASSERT_EQ(got.size(), 2u << 20);
  EXPECT_EQ(got.substr(0, 4096), std::string(4096, 'x'));
  EXPECT_EQ(got.substr(4096, 8192), std::string(8192, '\0'));
  EXPECT_EQ(got.substr(12288, (1 << 20) - 12288), std::string((1 << 20) - 12288, 'x'));
  expect_sound(*pool_);
}

TEST_F(MountTest, FlockAndFcntlLocksConflict) {
  spit(at("/lock"), "l");
  int a = ::open(at("/lock").c_str(), O_RDWR);
  int b = ::open(at("/lock").c_str(), O_RDWR);
  ASSERT_EQ(::flock(a, LOCK_EX | LOCK_NB), 0);
  EXPECT_EQ(errno_of(::flock(b, LOCK_EX | LOCK_NB)), EWOULDBLOCK);
  ASSERT_EQ(::flock(a, LOCK_UN), 0);
  EXPECT_EQ(::flock(b, LOCK_EX | LOCK_NB), 0);
  ::flock(b, LOCK_UN);
  // fcntl locks belong to processes: another process sees this one's.
  struct flock lk {};
  lk.l_type = F_WRLCK;
  lk.l_whence = SEEK_SET;
  lk.l_start = 0;
  lk.l_len = 10;
  ASSERT_EQ(::fcntl(a, F_SETLK, &lk), 0);
  const std::string path = at("/lock");
  EXPECT_EQ(as_user(::geteuid(), ::getegid(), [&] {
              int fd = ::open(path.c_str(), O_RDWR);
              struct flock mine {};
              mine.l_type = F_WRLCK;
              mine.l_whence = SEEK_SET;
              mine.l_start = 5;
              mine.l_len = 1;
              return errno_of(::fcntl(fd, F_SETLK, &mine));
            }),
            EAGAIN);
  ::close(a);
  ::close(b);
}

TEST_F(MountTest, UtimensHonoursNowAndOmit) {
  spit(at("/t"), "t");
  timespec set[2] = {{1000, 5}, {2000, 7}};
  ASSERT_EQ(::utimensat(AT_FDCWD, at("/t").c_str(), set, 0), 0);
  timespec keep_atime[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
  ASSERT_EQ(::utimensat(AT_FDCWD, at("/t").c_str(), keep_atime, 0), 0);
  struct stat st {};
  ASSERT_EQ(::stat(at("/t").c_str(), &st), 0);
  EXPECT_EQ(st.st_atim.tv_sec, 1000);
  EXPECT_EQ(st.st_atim.tv_nsec, 5);
  EXPECT_GT(st.st_mtim.tv_sec, 1'700'000'000);
}

TEST_F(MountTest, SnapshotsAppearUnderDotAnyfsAndStayAsTheyWere) {
  spit(at("/notes"), "monday");
  ASSERT_OK(pool_->snapshot("", "monday"));
  spit(at("/notes"), "tuesday, longer");
  EXPECT_EQ(slurp(at("/.anyfs/snapshots/monday/notes")), "monday");
  EXPECT_EQ(slurp(at("/notes")), "tuesday, longer");
  // Hidden from the root's listing, there by name.
  for (const auto& e : std::filesystem::directory_iterator(mnt_)) EXPECT_NE(e.path().filename(), ".anyfs");
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(at("/.anyfs/snapshots")))
    names.push_back(e.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"monday"});
  // Read-only, and a different inode from the live file.
  EXPECT_EQ(errno_of(::open(at("/.anyfs/snapshots/monday/notes").c_str(), O_WRONLY)), EROFS);
  EXPECT_EQ(errno_of(::unlink(at("/.anyfs/snapshots/monday/notes").c_str())), EROFS);
  struct stat live {}, old {};
  ASSERT_EQ(::stat(at("/notes").c_str(), &live), 0);
  ASSERT_EQ(::stat(at("/.anyfs/snapshots/monday/notes").c_str(), &old), 0);
  EXPECT_NE(live.st_ino, old.st_ino);
  EXPECT_EQ(old.st_size, 6);
  // mkdir takes a snapshot, rmdir destroys it (as in ZFS's .zfs/snapshot).
  ASSERT_EQ(::mkdir(at("/.anyfs/snapshots/tuesday").c_str(), 0755), 0);
  EXPECT_EQ(must(pool_->snapshots("")).size(), 2u);
  EXPECT_EQ(slurp(at("/.anyfs/snapshots/tuesday/notes")), "tuesday, longer");
  ASSERT_EQ(::rmdir(at("/.anyfs/snapshots/tuesday").c_str()), 0);
  EXPECT_EQ(must(pool_->snapshots("")).size(), 1u);
  // The name .anyfs is the view's, not a file's.
  EXPECT_EQ(errno_of(::mkdir(at("/.anyfs").c_str(), 0755)), EEXIST);
}

TEST_F(MountTest, StatfsDescribesThePool) {
  struct statvfs st {};
  ASSERT_EQ(::statvfs(mnt_.c_str(), &st), 0);
  EXPECT_EQ(st.f_namemax, 255u);
  EXPECT_GT(st.f_blocks, 0u);
  EXPECT_GT(st.f_ffree, 0u);
}

// When the connection ends with handles still open (an abort, or the kernel
// dropping the last releases of an unmount), the session closes them itself:
// an unlinked file still open is removed, and nothing leaks.
TEST_F(MountTest, AnAbortedConnectionStillReleasesItsOpenFiles) {
  if (!root()) GTEST_SKIP() << "needs root to abort a FUSE connection";
  ::mount("none", "/sys/fs/fuse/connections", "fusectl", 0, nullptr);  // usually mounted already
  struct stat mnt {};
  ASSERT_EQ(::stat(mnt_.c_str(), &mnt), 0);
  const std::string abort = "/sys/fs/fuse/connections/" + std::to_string(minor(mnt.st_dev)) + "/abort";
  if (::access(abort.c_str(), W_OK) != 0) GTEST_SKIP() << "no fusectl here (" << abort << ")";
  spit(at("/doomed"), "bytes");
  int fd = ::open(at("/doomed").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  int dir = ::open(at("/").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  const std::uint64_t ino = must(dataset_->stat("/doomed")).ino;
  ASSERT_EQ(::unlink(at("/doomed").c_str()), 0);
  EXPECT_EQ(must(dataset_->getattr(ino)).nlink, 0u) << "kept while open";
  spit(abort, "1");
  EXPECT_OK(mount_->wait());
  ::close(fd);
  ::close(dir);
  ::umount2(mnt_.c_str(), MNT_DETACH);
  EXPECT_ERR(dataset_->getattr(ino), NotFound) << "the session released the handle it was never told to";
  ASSERT_OK(dataset_->sync());
  expect_sound(*pool_);
}

class SnapdirVisible : public MountTest {
  MountOptions mount_options() override { return {.allow_other = true, .snapdir_visible = true}; }
};

TEST_F(SnapdirVisible, TheRootListsDotAnyfs) {
  bool seen = false;
  for (const auto& e : std::filesystem::directory_iterator(mnt_)) seen |= e.path().filename() == ".anyfs";
  EXPECT_TRUE(seen);
}

class ReadOnlyMount : public MountTest {
  MountOptions mount_options() override { return {.read_only = true, .allow_other = true}; }
};

TEST_F(ReadOnlyMount, RefusesEveryChangeWithEROFS) {
  EXPECT_EQ(errno_of(::mkdir(at("/d").c_str(), 0755)), EROFS);
  EXPECT_EQ(errno_of(::open(at("/f").c_str(), O_CREAT | O_WRONLY, 0644)), EROFS);
  EXPECT_EQ(errno_of(::chmod(at("/").c_str(), 0700)), EROFS);
}

// A mount of the past, against the API reading the same TID.
TEST(MountOfThePast, ShowsTheStateAsOfItsTid) {
  if (auto r = fuse_available(); !r) GTEST_SKIP() << "no FUSE here: " << r.error().to_string();
  TempDir tmp;
  auto pool = must(Pool::create(tmp.str() + "/p.anyfs", {.properties = {{"history", "all"}}}));
  auto live = must(pool->dataset());
  ASSERT_OK(live->write_file("/f", "first"));
  ASSERT_OK(live->mkdir("/d"));
  ASSERT_OK(live->sync());
  const std::uint64_t tid = must(pool->committed_tid());
  ASSERT_OK(live->write_file("/f", "second"));
  ASSERT_OK(live->remove("/d"));
  ASSERT_OK(live->sync());
  auto past = must(pool->dataset_at("", AsOf::at_tid(tid)));
  std::string mnt = tmp.str() + "/mnt";
  std::filesystem::create_directories(mnt);
  auto mount = must(Mount::start(pool, past, mnt, {.read_only = true}));
  EXPECT_EQ(slurp(mnt + "/f"), "first");
  EXPECT_TRUE(std::filesystem::is_directory(mnt + "/d"));
  EXPECT_EQ(errno_of(::open((mnt + "/f").c_str(), O_WRONLY)), EROFS);
  EXPECT_EQ(must(past->read_file("/f")), "first");
  EXPECT_OK(mount->stop());
}

// A pool whose storage fails answers EIO at once, and the mount still unmounts.
TEST(MountOfAFailingPool, AnswersEioInsteadOfHanging) {
  if (auto r = fuse_available(); !r) GTEST_SKIP() << "no FUSE here: " << r.error().to_string();
  TempDir tmp;
  const std::string path = tmp.str() + "/p.anyfs";
  must(must(Pool::create(path))->close());
  auto& vfs = FaultVfs::get();
  vfs.reset();
  auto pool = must(Pool::open(path, {.vfs = FaultVfs::k_name}));
  auto ds = must(pool->dataset());
  std::string mnt = tmp.str() + "/mnt";
  std::filesystem::create_directories(mnt);
  auto mount = must(Mount::start(pool, ds, mnt));
  spit(mnt + "/before", "ok");
  vfs.cut_at_sync(vfs.syncs() + 1);
  int fd = ::open((mnt + "/f").c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "data", 4), 4);
  EXPECT_EQ(errno_of(::fsync(fd)), EIO);
  ::close(fd);
  // Every later request is answered (with an error), none waits.
  struct stat st {};
  EXPECT_EQ(errno_of(::stat((mnt + "/new-name").c_str(), &st)), EIO);
  EXPECT_EQ(errno_of(::mkdir((mnt + "/d").c_str(), 0755)), EIO);
  EXPECT_FALSE(mount->stop()) << "the final commit cannot succeed either";
  vfs.reset();
}

}  // namespace
}  // namespace anyfs::testing
