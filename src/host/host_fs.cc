// HostFs: every path goes to the kernel through openat2(RESOLVE_IN_ROOT) from a
// descriptor of the root; see include/anyfs/host_fs.h for the guarantees.
#include "anyfs/host_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "fs/checks.h"
#include "fs/path.h"
#include "fs/resolve.h"
#include "util/fd.h"

namespace anyfs {
namespace {

constexpr std::uint64_t k_resolve_flags = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
constexpr int k_max_walk_retries = 10000;

int sys_openat2(int dirfd, const char* p, open_how* how) {
  return static_cast<int>(syscall(SYS_openat2, dirfd, p, how, sizeof(*how)));
}

FileKind kind_of(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return FileKind::Regular;
    case S_IFDIR: return FileKind::Directory;
    case S_IFLNK: return FileKind::Symlink;
    case S_IFIFO: return FileKind::Fifo;
    case S_IFCHR: return FileKind::CharDevice;
    case S_IFBLK: return FileKind::BlockDevice;
    case S_IFSOCK: return FileKind::Socket;
    default: return FileKind::Other;
  }
}

std::int64_t ns_of(const statx_timestamp& t) { return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec; }

Result<Stat> stat_fd(int fd, std::string_view p) {
  struct statx sx {};
  if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0)
    return fail_errno(errno, std::string(p));
  Stat st;
  st.kind = kind_of(sx.stx_mode);
  st.mode = sx.stx_mode & 07777;
  st.uid = sx.stx_uid;
  st.gid = sx.stx_gid;
  st.nlink = sx.stx_nlink;
  st.size = sx.stx_size;
  st.blocks = sx.stx_blocks;
  st.ino = sx.stx_ino;
  st.atime_ns = ns_of(sx.stx_atime);
  st.mtime_ns = ns_of(sx.stx_mtime);
  st.ctime_ns = ns_of(sx.stx_ctime);
  st.btime_ns = (sx.stx_mask & STATX_BTIME) ? ns_of(sx.stx_btime) : 0;
  st.rdev = makedev(sx.stx_rdev_major, sx.stx_rdev_minor);
  return st;
}

timespec to_timespec(TimeSpec t) {
  switch (t.kind) {
    case TimeSpec::Kind::Now: return {0, UTIME_NOW};
    case TimeSpec::Kind::Omit: return {0, UTIME_OMIT};
    case TimeSpec::Kind::Set: break;
  }
  std::int64_t sec = t.ns / 1'000'000'000;
  std::int64_t nsec = t.ns % 1'000'000'000;
  if (nsec < 0) {
    nsec += 1'000'000'000;
    sec -= 1;
  }
  return {static_cast<time_t>(sec), static_cast<long>(nsec)};
}

class HostFile final : public File {
 public:
  HostFile(Fd fd, OpenFlags flags, std::string p) : fd_(std::move(fd)), flags_(flags), path_(std::move(p)) {}

  Result<std::size_t> pread(std::span<char> buf, std::uint64_t offset) override {
    std::shared_lock lock(mu_);
    ANYFS_CHECK(check_open());
    if (!wants_read(flags_)) return fail(Errc::BadHandle, path_, "handle is not open for reading");
    for (;;) {
      ssize_t n = ::pread(fd_.get(), buf.data(), buf.size(), static_cast<off_t>(offset));
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) return fail_errno(errno, path_);
    }
  }

  Result<std::size_t> pwrite(std::string_view data, std::uint64_t offset) override {
    std::shared_lock lock(mu_);
    ANYFS_CHECK(check_writable());
    if (offset > static_cast<std::uint64_t>(INT64_MAX)) return fail(Errc::FileTooBig, path_);
    std::size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::pwrite(fd_.get(), data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail_errno(errno, path_);
      }
      done += static_cast<std::size_t>(n);
    }
    return done;
  }

  Result<std::uint64_t> append(std::string_view data) override {
    std::unique_lock lock(mu_);  // the offset read below must belong to this write
    ANYFS_CHECK(check_writable());
    iovec iov{const_cast<char*>(data.data()), data.size()};
    for (;;) {
      // RWF_APPEND makes the kernel place the data at the end atomically even on a
      // handle without O_APPEND; offset -1 moves the file position past it.
      ssize_t n = pwritev2(fd_.get(), &iov, 1, -1, RWF_APPEND);
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail_errno(errno, path_);
      }
      if (static_cast<std::size_t>(n) != data.size()) return fail(Errc::NoSpace, path_, "short append");
      off_t end = lseek(fd_.get(), 0, SEEK_CUR);
      return static_cast<std::uint64_t>(end) - data.size();
    }
  }

  Result<void> truncate(std::uint64_t size) override {
    std::shared_lock lock(mu_);
    ANYFS_CHECK(check_writable());
    if (size > static_cast<std::uint64_t>(INT64_MAX)) return fail(Errc::FileTooBig, path_);
    if (ftruncate(fd_.get(), static_cast<off_t>(size)) != 0) return fail_errno(errno, path_);
    return {};
  }

  Result<void> fsync() override {
    std::shared_lock lock(mu_);
    ANYFS_CHECK(check_open());
    if (::fsync(fd_.get()) != 0) return fail_errno(errno, path_);
    return {};
  }

  Result<Stat> stat() override {
    std::shared_lock lock(mu_);
    ANYFS_CHECK(check_open());
    return stat_fd(fd_.get(), path_);
  }

  Result<void> close() override {
    std::unique_lock lock(mu_);
    fd_.reset();
    return {};
  }

 private:
  Result<void> check_open() const {
    if (!fd_.valid()) return fail(Errc::BadHandle, path_, "handle is closed");
    return {};
  }
  Result<void> check_writable() const {
    ANYFS_CHECK(check_open());
    if (!wants_write(flags_)) return fail(Errc::BadHandle, path_, "handle is not open for writing");
    return {};
  }

  std::shared_mutex mu_;  // shared for I/O, exclusive to close and for append
  Fd fd_;                 // GUARDED_BY(mu_)
  const OpenFlags flags_;
  const std::string path_;
};

// A parent directory descriptor and the single name in it that a call is about.
struct Entry {
  Fd dir;
  std::string name;
  bool is_root = false;
};

class HostFs final : public Fs {
 public:
  HostFs(Fd root, std::string root_path, mode_t umask)
      : root_(std::move(root)), root_path_(std::move(root_path)), umask_(umask) {}

  Result<Stat> stat(std::string_view p) override {
    Fd fd = ANYFS_TRY(open_at(p, O_PATH, Follow::Yes));
    return stat_fd(fd.get(), p);
  }

  Result<Stat> lstat(std::string_view p) override {
    Fd fd = ANYFS_TRY(open_at(p, O_PATH, Follow::No));
    return stat_fd(fd.get(), p);
  }

  Result<std::vector<DirEntry>> read_dir(std::string_view p) override {
    Fd fd = ANYFS_TRY(open_at(p, O_RDONLY | O_DIRECTORY, Follow::Yes));
    DIR* dir = fdopendir(fd.get());
    if (dir == nullptr) return fail_errno(errno, std::string(p));
    fd.release();
    std::vector<DirEntry> out;
    errno = 0;
    while (dirent* d = readdir(dir)) {
      std::string_view name = d->d_name;
      if (name == "." || name == "..") continue;
      DirEntry e{std::string(name), FileKind::Other, d->d_ino};
      switch (d->d_type) {
        case DT_REG: e.kind = FileKind::Regular; break;
        case DT_DIR: e.kind = FileKind::Directory; break;
        case DT_LNK: e.kind = FileKind::Symlink; break;
        case DT_FIFO: e.kind = FileKind::Fifo; break;
        case DT_CHR: e.kind = FileKind::CharDevice; break;
        case DT_BLK: e.kind = FileKind::BlockDevice; break;
        case DT_SOCK: e.kind = FileKind::Socket; break;
        case DT_UNKNOWN: {
          struct stat st {};
          if (fstatat(dirfd(dir), d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) e.kind = kind_of(st.st_mode);
          break;
        }
        default: break;
      }
      out.push_back(std::move(e));
    }
    int err = errno;
    closedir(dir);
    if (err != 0) return fail_errno(err, std::string(p));
    std::sort(out.begin(), out.end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
    return out;
  }

  Result<void> mkdir(std::string_view p, std::uint32_t mode) override {
    Entry e = ANYFS_TRY(entry_of(p));
    if (e.is_root) return fail(Errc::Exists, std::string(p), "the root exists");
    if (mkdirat(e.dir.get(), e.name.c_str(), mode & 07777) != 0) return fail_errno(errno, std::string(p));
    return fix_mode(e, mode, p);
  }

  Result<void> remove(std::string_view p) override {
    Entry e = ANYFS_TRY(entry_of(p));
    if (e.is_root) return fail(Errc::Busy, std::string(p), "cannot remove the root");
    struct stat st {};
    if (fstatat(e.dir.get(), e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return fail_errno(errno, std::string(p));
    int flags = S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0;
    if (unlinkat(e.dir.get(), e.name.c_str(), flags) != 0) {
      if (errno != EISDIR && errno != ENOTDIR) return fail_errno(errno, std::string(p));
      // Replaced by the other kind since fstatat: remove what is there now.
      if (unlinkat(e.dir.get(), e.name.c_str(), flags ^ AT_REMOVEDIR) != 0) return fail_errno(errno, std::string(p));
    }
    return {};
  }

  Result<void> rename(std::string_view from, std::string_view to, RenameFlags flags) override {
    ANYFS_CHECK(path::check_names_entry(to));  // our own rule, checked before any lookup
    Entry a = ANYFS_TRY(entry_of(from));
    Entry b = ANYFS_TRY(entry_of(to));
    if (a.is_root || b.is_root) return fail(Errc::Busy, std::string(from), "cannot rename the root");
    unsigned kflags = flags == RenameFlags::NoReplace  ? RENAME_NOREPLACE
                      : flags == RenameFlags::Exchange ? RENAME_EXCHANGE
                                                       : 0;
    if (renameat2(a.dir.get(), a.name.c_str(), b.dir.get(), b.name.c_str(), kflags) != 0)
      return fail_errno(errno, std::string(from), "rename to " + std::string(to));
    return {};
  }

  Result<void> link(std::string_view existing, std::string_view new_path) override {
    ANYFS_CHECK(path::check_names_entry(new_path));  // our own rule, checked before any lookup
    Entry a = ANYFS_TRY(entry_of(existing));
    struct stat st {};
    // Linux looks the source up fully before it resolves the new name's parent.
    if (!a.is_root && fstatat(a.dir.get(), a.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return fail_errno(errno, std::string(existing));
    Entry b = ANYFS_TRY(entry_of(new_path));
    // An existing new name is refused before the source's kind, as Linux does.
    if (b.is_root) return fail(Errc::Exists, std::string(new_path), "the root exists");
    if (a.is_root) {
      if (fstatat(b.dir.get(), b.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
        return fail(Errc::Exists, std::string(new_path), "file exists");
      return fail(Errc::NotPermitted, std::string(existing), "cannot hard-link a directory");
    }
    if (linkat(a.dir.get(), a.name.c_str(), b.dir.get(), b.name.c_str(), 0) != 0)
      return fail_errno(errno, std::string(new_path));
    return {};
  }

  Result<void> symlink(std::string_view target, std::string_view link_path) override {
    ANYFS_CHECK(path::validate_symlink_target(target));
    Entry e = ANYFS_TRY(entry_of(link_path));
    if (e.is_root) return fail(Errc::Exists, std::string(link_path), "the root exists");
    if (symlinkat(std::string(target).c_str(), e.dir.get(), e.name.c_str()) != 0)
      return fail_errno(errno, std::string(link_path));
    return {};
  }

  Result<std::string> readlink(std::string_view p) override {
    Fd fd = ANYFS_TRY(open_at(p, O_PATH, Follow::No));
    Stat st = ANYFS_TRY(stat_fd(fd.get(), p));
    if (!st.is_symlink()) return fail(Errc::InvalidArgument, std::string(p), "not a symlink");
    std::string buf(st.size + 1, '\0');
    for (;;) {
      ssize_t n = readlinkat(fd.get(), "", buf.data(), buf.size());
      if (n < 0) return fail_errno(errno, std::string(p));
      if (static_cast<std::size_t>(n) < buf.size()) {
        buf.resize(static_cast<std::size_t>(n));
        return buf;
      }
      buf.resize(buf.size() * 2);
    }
  }

  Result<void> chmod(std::string_view p, std::uint32_t mode) override {
    Fd fd = ANYFS_TRY(open_at(p, O_PATH, Follow::Yes));
    if (::chmod(fd.proc_path().c_str(), mode & 07777) != 0) return fail_errno(errno, std::string(p));
    return {};
  }

  Result<void> chown(std::string_view p, std::uint32_t uid, std::uint32_t gid) override {
    Fd fd = ANYFS_TRY(open_at(p, O_PATH, Follow::Yes));
    if (fchownat(fd.get(), "", uid, gid, AT_EMPTY_PATH) != 0) return fail_errno(errno, std::string(p));
    return {};
  }

  Result<void> utimens(std::string_view p, TimeSpec atime, TimeSpec mtime) override {
    Fd fd = ANYFS_TRY(open_at(p, O_PATH, Follow::Yes));
    timespec times[2] = {to_timespec(atime), to_timespec(mtime)};
    if (utimensat(AT_FDCWD, fd.proc_path().c_str(), times, 0) != 0) return fail_errno(errno, std::string(p));
    return {};
  }

  Result<void> truncate(std::string_view p, std::uint64_t size) override {
    Fd fd = ANYFS_TRY(open_at(p, O_PATH, Follow::Yes));
    Stat st = ANYFS_TRY(stat_fd(fd.get(), p));
    if (st.is_dir()) return fail(Errc::IsDir, std::string(p), "is a directory");
    if (!st.is_regular()) return fail(Errc::InvalidArgument, std::string(p), "not a regular file");
    if (size > static_cast<std::uint64_t>(INT64_MAX)) return fail(Errc::FileTooBig, std::string(p));
    if (::truncate(fd.proc_path().c_str(), static_cast<off_t>(size)) != 0) return fail_errno(errno, std::string(p));
    return {};
  }

  Result<std::string> get_xattr(std::string_view p, std::string_view name) override {
    ANYFS_CHECK(check_xattr_name(p, name));
    Fd fd = ANYFS_TRY(open_at(p, O_PATH, Follow::Yes));
    std::string key(name);
    for (;;) {
      ssize_t size = getxattr(fd.proc_path().c_str(), key.c_str(), nullptr, 0);
      if (size < 0) return fail_errno(errno, std::string(p), "xattr " + key);
      std::string value(static_cast<std::size_t>(size), '\0');
      ssize_t n = getxattr(fd.proc_path().c_str(), key.c_str(), value.data(), value.size());
      if (n >= 0) {
        value.resize(static_cast<std::size_t>(n));
        return value;
      }
      if (errno != ERANGE) return fail_errno(errno, std::string(p), "xattr " + key);
    }
  }

  Result<void> set_xattr(std::string_view p, std::string_view name, std::string_view value, XattrFlags flags) override {
    ANYFS_CHECK(check_xattr_name(p, name));
    ANYFS_CHECK(check_xattr_value(p, value));
    Fd fd = ANYFS_TRY(open_at(p, O_PATH, Follow::Yes));
    int kflags = flags == XattrFlags::Create ? XATTR_CREATE : flags == XattrFlags::Replace ? XATTR_REPLACE : 0;
    if (setxattr(fd.proc_path().c_str(), std::string(name).c_str(), value.data(), value.size(), kflags) != 0)
      return fail_errno(errno, std::string(p), "xattr " + std::string(name));
    return {};
  }

  Result<std::vector<std::string>> list_xattr(std::string_view p) override {
    Fd fd = ANYFS_TRY(open_at(p, O_PATH, Follow::Yes));
    std::string buf;
    for (;;) {
      ssize_t size = listxattr(fd.proc_path().c_str(), nullptr, 0);
      if (size < 0) return fail_errno(errno, std::string(p));
      buf.assign(static_cast<std::size_t>(size), '\0');
      ssize_t n = listxattr(fd.proc_path().c_str(), buf.data(), buf.size());
      if (n >= 0) {
        buf.resize(static_cast<std::size_t>(n));
        break;
      }
      if (errno != ERANGE) return fail_errno(errno, std::string(p));
    }
    std::vector<std::string> out;
    for (std::size_t start = 0; start < buf.size();) {
      std::size_t end = buf.find('\0', start);
      if (end == std::string::npos) end = buf.size();
      if (end > start) out.emplace_back(buf.substr(start, end - start));
      start = end + 1;
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  Result<void> remove_xattr(std::string_view p, std::string_view name) override {
    ANYFS_CHECK(check_xattr_name(p, name));
    Fd fd = ANYFS_TRY(open_at(p, O_PATH, Follow::Yes));
    if (removexattr(fd.proc_path().c_str(), std::string(name).c_str()) != 0)
      return fail_errno(errno, std::string(p), "xattr " + std::string(name));
    return {};
  }

  Result<StatFs> statfs() override {
    struct statfs sf {};
    if (fstatfs(root_.get(), &sf) != 0) return fail_errno(errno, root_path_);
    StatFs out;
    out.block_size = static_cast<std::uint64_t>(sf.f_bsize);
    out.total_blocks = sf.f_blocks;
    out.free_blocks = sf.f_bfree;
    out.avail_blocks = sf.f_bavail;
    out.total_files = sf.f_files;
    out.free_files = sf.f_ffree;
    out.max_name_length = static_cast<std::uint64_t>(sf.f_namelen);
    return out;
  }

  Result<void> sync() override {
    Fd fd = ANYFS_TRY(open_at("/", O_RDONLY | O_DIRECTORY, Follow::Yes));
    if (syncfs(fd.get()) != 0) return fail_errno(errno, root_path_);
    return {};
  }

  Result<FileHandle> open(std::string_view p, OpenFlags flags, std::uint32_t mode) override {
    ANYFS_CHECK(check_open_flags(p, flags));
    int kflags = O_NONBLOCK;  // a FIFO under the root must not hang the caller
    if (has(flags, OpenFlags::Read) && has(flags, OpenFlags::Write))
      kflags |= O_RDWR;
    else if (wants_write(flags))
      kflags |= O_WRONLY;
    else
      kflags |= O_RDONLY;
    if (has(flags, OpenFlags::Truncate)) kflags |= O_TRUNC;
    if (has(flags, OpenFlags::Append)) kflags |= O_APPEND;
    if (has(flags, OpenFlags::Directory)) kflags |= O_DIRECTORY;
    Follow follow = has(flags, OpenFlags::NoFollow) ? Follow::No : Follow::Yes;
    if (!has(flags, OpenFlags::Create)) {
      Fd fd = ANYFS_TRY(open_at(p, kflags, follow));
      return make_file(std::move(fd), flags, p);
    }
    // Create. If the umask would change the mode, create exclusively so we know
    // whether this call made the file and must set its mode.
    const bool exact = (mode & umask_ & 07777) == 0;
    if (exact || has(flags, OpenFlags::Exclusive)) {
      int extra = O_CREAT | (has(flags, OpenFlags::Exclusive) ? O_EXCL : 0);
      Fd fd = ANYFS_TRY(open_at(p, kflags | extra, follow, mode & 07777));
      if (!exact && fchmod(fd.get(), mode & 07777) != 0) return fail_errno(errno, std::string(p));
      return make_file(std::move(fd), flags, p);
    }
    // Exclusive creation never follows a final symlink, so follow it here: a
    // dangling symlink's target is created, as a plain O_CREAT would.
    std::string current(p);
    int hops = 0;
    for (int attempt = 0; attempt < 1000; ++attempt) {
      auto made = open_at(current, kflags | O_CREAT | O_EXCL, Follow::No, mode & 07777);
      if (made) {
        if (fchmod(made->get(), mode & 07777) != 0) return fail_errno(errno, std::string(p));
        return make_file(std::move(*made), flags, p);
      }
      if (made.error().code != Errc::Exists) return std::unexpected(made.error());
      auto existing = open_at(current, kflags, Follow::No);
      if (existing) return make_file(std::move(*existing), flags, p);
      if (existing.error().code == Errc::NotFound) continue;  // removed meanwhile: try again
      if (existing.error().code != Errc::Loop || follow == Follow::No) return std::unexpected(existing.error());
      auto target = readlink(current);
      if (!target) return std::unexpected(existing.error());
      if (++hops > k_max_symlink_hops) return fail(Errc::Loop, std::string(p), "too many levels of symbolic links");
      current = target->front() == '/' ? *target : path::child(parent_of(current), *target);
    }
    return fail(Errc::Busy, std::string(p), "the name keeps changing");
  }

 private:
  // The relative form of a virtual path for openat2 ("." for the root).
  static Result<std::string> relative(std::string_view p) {
    auto parts = ANYFS_TRY(path::split(p));
    if (parts.empty()) return std::string(".");
    return path::join(parts).substr(1);
  }

  // The virtual path of the directory holding the last component of `p`.
  static std::string parent_of(std::string_view p) {
    auto parts = path::split(p).value_or(std::vector<std::string>{});
    if (!parts.empty()) parts.pop_back();
    return path::join(parts);
  }

  Result<Fd> open_at(std::string_view p, int flags, Follow follow, std::uint32_t mode = 0) {
    std::string rel = ANYFS_TRY(relative(p));
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC | (follow == Follow::No ? O_NOFOLLOW : 0));
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = k_resolve_flags;
    for (int attempt = 0;; ++attempt) {
      int fd = sys_openat2(root_.get(), rel.c_str(), &how);
      if (fd >= 0) return Fd(fd);
      // EAGAIN: a rename anywhere on the system raced with a ".." in this walk;
      // the kernel asks us to retry rather than risk an escape. A long walk (40
      // symlinks full of "..") on a busy machine can lose that race many times,
      // so retry patiently, yielding the CPU after the first few tries.
      if ((errno == EAGAIN || errno == EINTR) && attempt < k_max_walk_retries) {
        if (attempt >= 8) std::this_thread::yield();
        continue;
      }
      if (errno == ENXIO && (flags & O_ACCMODE) != O_RDONLY)
        return fail(Errc::Busy, std::string(p), "FIFO without reader");
      return fail_errno(errno, std::string(p));
    }
  }

  // The parent directory (resolved, confined) and the last name of `p`.
  Result<Entry> entry_of(std::string_view p) {
    ANYFS_CHECK(path::check_names_entry(p));
    auto parts = ANYFS_TRY(path::split(p));
    Entry e;
    if (parts.empty()) {
      e.is_root = true;
      return e;
    }
    e.name = parts.back();
    parts.pop_back();
    e.dir = ANYFS_TRY(open_at(path::join(parts), O_PATH | O_DIRECTORY, Follow::Yes));
    return e;
  }

  // Applies `mode` exactly after a create that the umask may have narrowed.
  Result<void> fix_mode(const Entry& e, std::uint32_t mode, std::string_view p) {
    if ((mode & umask_ & 07777) == 0) return {};
    open_how how{};
    how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
    int fd = sys_openat2(e.dir.get(), e.name.c_str(), &how);
    if (fd < 0) return fail_errno(errno, std::string(p));
    Fd owned(fd);
    if (::chmod(owned.proc_path().c_str(), mode & 07777) != 0) return fail_errno(errno, std::string(p));
    return {};
  }

  static Result<FileHandle> make_file(Fd fd, OpenFlags flags, std::string_view p) {
    return std::make_unique<HostFile>(std::move(fd), flags, std::string(p));
  }

  Fd root_;
  const std::string root_path_;
  const mode_t umask_;
};

}  // namespace

Result<std::shared_ptr<Fs>> open_host_fs(const std::string& root) {
  int fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail_errno(errno, root);
  Fd root_fd(fd);
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = k_resolve_flags;
  int probe = sys_openat2(root_fd.get(), ".", &how);
  if (probe < 0) {
    if (errno == ENOSYS)
      return fail(Errc::Unsupported, root, "the kernel lacks openat2; HostFs will not run unconfined");
    return fail_errno(errno, root);
  }
  ::close(probe);
  mode_t mask = umask(0);
  umask(mask);
  return std::shared_ptr<Fs>(std::make_shared<HostFs>(std::move(root_fd), root, mask));
}

}  // namespace anyfs
