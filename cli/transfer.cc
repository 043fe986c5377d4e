#include "transfer.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fmt/format.h>

#include <iostream>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "anyfs/inode_fs.h"
#include "fs/path.h"
#include "util/fd.h"

namespace anyfs::cli {
namespace {

constexpr std::size_t k_piece = 1 << 20;

// The one transfer buffer of this thread: allocating (and zeroing) 1 MiB per file
// cost an import of 8,000 small files more than a second.
std::span<char> piece_buffer() {
  thread_local std::unique_ptr<char[]> buffer(new char[k_piece]);
  return {buffer.get(), k_piece};
}

// Streams everything readable from `fd` into `file`.
Result<std::uint64_t> pump_in(int fd, File& file, const std::string& what) {
  std::span<char> buf = piece_buffer();
  std::uint64_t at = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno(errno, what, "read");
    }
    if (n == 0) break;
    ANYFS_TRY(file.pwrite(std::string_view(buf.data(), static_cast<std::size_t>(n)), at));
    at += static_cast<std::uint64_t>(n);
  }
  return at;
}

Result<void> write_all(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno(errno, what, "write");
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

TimeSpec to_spec(const timespec& t) { return TimeSpec::at(static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec); }

timespec from_ns(std::int64_t ns) {
  return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

Result<void> copy_xattrs_in(const std::string& host, Fs& fs, const std::string& p) {
  ssize_t size = ::llistxattr(host.c_str(), nullptr, 0);
  if (size <= 0) return {};
  std::string names(static_cast<std::size_t>(size), '\0');
  size = ::llistxattr(host.c_str(), names.data(), names.size());
  if (size <= 0) return {};
  names.resize(static_cast<std::size_t>(size));
  for (std::size_t at = 0; at < names.size();) {
    std::string name(names.c_str() + at);
    at += name.size() + 1;
    ssize_t vs = ::lgetxattr(host.c_str(), name.c_str(), nullptr, 0);
    if (vs < 0) continue;
    std::string value(static_cast<std::size_t>(vs), '\0');
    vs = ::lgetxattr(host.c_str(), name.c_str(), value.data(), value.size());
    if (vs < 0) continue;
    value.resize(static_cast<std::size_t>(vs));
    auto set = fs.set_xattr(p, name, value);
    // Namespaces the pool does not keep (system.*) are left behind quietly.
    if (!set && set.error().code != Errc::Unsupported) return set;
  }
  return {};
}

struct Importer {
  Fs& fs;
  const ProgressFn& progress;
  const WarnFn& warn;
  TreeCounts counts;
  std::map<std::pair<dev_t, ino_t>, std::string> seen;  // host inode → first path in the pool

  // Objects are created with their final mode (the Fs API checks no permission
  // bits), so only what differs from a new object's defaults is set here: each
  // call is an operation, logged and numbered.
  Result<void> attributes(const std::string& host, const std::string& p, const struct stat& st) {
    if (S_ISLNK(st.st_mode)) return symlink_attributes(p, st);
    ANYFS_CHECK(copy_xattrs_in(host, fs, p));
    if (::geteuid() == 0 && (st.st_uid != ::geteuid() || st.st_gid != ::getegid()))
      ANYFS_CHECK(fs.chown(p, st.st_uid, st.st_gid));
    ANYFS_CHECK(fs.utimens(p, to_spec(st.st_atim), to_spec(st.st_mtim)));
    return {};
  }

  // A symlink's own owner and times. The path calls (chown, utimens, xattrs)
  // follow symlinks, so they would change what it points at: the inode calls
  // of a pool set the link itself. Its xattrs are not copied (Linux keeps
  // none in user.* on a symlink).
  Result<void> symlink_attributes(const std::string& p, const struct stat& st) {
    auto* inodes = dynamic_cast<InodeFs*>(&fs);
    if (inodes == nullptr) return {};  // a host directory or a layer: the link keeps its own
    AttrChange change;
    if (::geteuid() == 0 && (st.st_uid != ::geteuid() || st.st_gid != ::getegid())) {
      change.uid = st.st_uid;
      change.gid = st.st_gid;
    }
    change.atime = to_spec(st.st_atim);
    change.mtime = to_spec(st.st_mtim);
    ANYFS_TRY(inodes->setattr(ANYFS_TRY(fs.lstat(p)).ino, change));
    return {};
  }

  Result<void> object(const std::string& host, const std::string& p) {
    struct stat st {};
    if (::lstat(host.c_str(), &st) != 0) return fail_errno(errno, host, "lstat");
    if (S_ISDIR(st.st_mode)) return directory(host, p, st);
    if (S_ISLNK(st.st_mode)) {
      std::string target(4096, '\0');
      ssize_t n = ::readlink(host.c_str(), target.data(), target.size());
      if (n < 0) return fail_errno(errno, host, "readlink");
      target.resize(static_cast<std::size_t>(n));
      ANYFS_CHECK(fs.symlink(target, p));
      counts.symlinks++;
    } else if (S_ISREG(st.st_mode)) {
      auto key = std::make_pair(st.st_dev, st.st_ino);
      if (st.st_nlink > 1) {
        if (auto it = seen.find(key); it != seen.end()) {
          ANYFS_CHECK(fs.link(it->second, p));
          counts.hardlinks++;
          progress(counts);
          return {};
        }
        seen.emplace(key, p);
      }
      Fd fd(::open(host.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
      if (!fd.valid()) return fail_errno(errno, host, "open");
      auto file = ANYFS_TRY(fs.open(p, OpenFlags::Write | OpenFlags::Create | OpenFlags::Exclusive, st.st_mode & 07777));
      counts.bytes += ANYFS_TRY(pump_in(fd.get(), *file, host));
      ANYFS_CHECK(file->close());
      counts.files++;
    } else {
      counts.skipped++;
      warn(host, S_ISSOCK(st.st_mode) ? "socket skipped" : S_ISFIFO(st.st_mode) ? "FIFO skipped" : "device skipped");
      return {};
    }
    ANYFS_CHECK(attributes(host, p, st));
    progress(counts);
    return {};
  }

  Result<void> directory(const std::string& host, const std::string& p, const struct stat& st) {
    auto made = fs.mkdir(p, st.st_mode & 07777);
    if (!made) {
      // Importing into an existing directory (the root, say): it takes the mode.
      if (!(made.error().code == Errc::Exists && fs.stat(p).value_or(Stat{}).kind == FileKind::Directory)) return made;
      ANYFS_CHECK(fs.chmod(p, st.st_mode & 07777));
    }
    counts.dirs++;
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(host.c_str()), ::closedir);
    if (!dir) return fail_errno(errno, host, "opendir");
    std::vector<std::string> names;
    while (dirent* e = ::readdir(dir.get())) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
    }
    std::sort(names.begin(), names.end());
    for (const auto& name : names) ANYFS_CHECK(object(host + "/" + name, path::child(p, name)));
    // A directory's own times are set after its children, which change them.
    return attributes(host, p, st);
  }
};

struct Exporter {
  Fs& fs;
  const ProgressFn& progress;
  const WarnFn& warn;
  TreeCounts counts;
  std::map<std::uint64_t, std::string> seen;  // pool inode → first host path

  Result<void> attributes(const std::string& p, const std::string& host, const Stat& st) {
    if (st.kind == FileKind::Symlink) {
      // The link's own owner and times (from lstat), never its target's: it may
      // point out of the pool, or nowhere. The xattr calls follow, so none.
      if (::geteuid() == 0) (void)::lchown(host.c_str(), st.uid, st.gid);
      timespec times[2] = {from_ns(st.atime_ns), from_ns(st.mtime_ns)};
      if (::utimensat(AT_FDCWD, host.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
        return fail_errno(errno, host, "utimensat");
      return {};
    }
    for (const auto& name : ANYFS_TRY(fs.list_xattr(p))) {
      std::string value = ANYFS_TRY(fs.get_xattr(p, name));
      if (::lsetxattr(host.c_str(), name.c_str(), value.data(), value.size(), 0) != 0)
        warn(host, fmt::format("xattr {} not kept: {}", name, std::strerror(errno)));
    }
    if (::geteuid() == 0) (void)::lchown(host.c_str(), st.uid, st.gid);
    if (::chmod(host.c_str(), st.mode & 07777) != 0) return fail_errno(errno, host, "chmod");
    timespec times[2] = {from_ns(st.atime_ns), from_ns(st.mtime_ns)};
    if (::utimensat(AT_FDCWD, host.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) return fail_errno(errno, host, "utimensat");
    return {};
  }

  Result<void> object(const std::string& p, const std::string& host) {
    Stat st = ANYFS_TRY(fs.lstat(p));
    switch (st.kind) {
      case FileKind::Directory: {
        if (::mkdir(host.c_str(), 0700) != 0 && errno != EEXIST) return fail_errno(errno, host, "mkdir");
        counts.dirs++;
        for (const auto& e : ANYFS_TRY(fs.read_dir(p))) ANYFS_CHECK(object(path::child(p, e.name), host + "/" + e.name));
        break;
      }
      case FileKind::Symlink: {
        std::string target = ANYFS_TRY(fs.readlink(p));
        if (::symlink(target.c_str(), host.c_str()) != 0) return fail_errno(errno, host, "symlink");
        counts.symlinks++;
        break;
      }
      case FileKind::Regular: {
        if (st.nlink > 1) {
          if (auto it = seen.find(st.ino); it != seen.end()) {
            if (::link(it->second.c_str(), host.c_str()) != 0) return fail_errno(errno, host, "link");
            counts.hardlinks++;
            progress(counts);
            return {};
          }
          seen.emplace(st.ino, host);
        }
        Fd fd(::open(host.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
        if (!fd.valid()) return fail_errno(errno, host, "create");
        auto file = ANYFS_TRY(fs.open(p, OpenFlags::Read));
        std::span<char> buf = piece_buffer();
        for (std::uint64_t at = 0;;) {
          std::size_t n = ANYFS_TRY(file->pread(buf, at));
          if (n == 0) break;
          ANYFS_CHECK(write_all(fd.get(), std::string_view(buf.data(), n), host));
          at += n;
          counts.bytes += n;
        }
        counts.files++;
        break;
      }
      default:
        counts.skipped++;
        warn(p, "special file skipped");
        return {};
    }
    ANYFS_CHECK(attributes(p, host, st));
    progress(counts);
    return {};
  }
};

}  // namespace

Result<std::uint64_t> copy_in(const std::string& source, Fs& fs, const std::string& path, std::uint32_t mode) {
  Fd owned;
  int fd = STDIN_FILENO;
  if (source != "-") {
    owned = Fd(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
    if (!owned.valid()) return fail_errno(errno, source, "cannot read the local file");
    fd = owned.get();
  }
  auto file = ANYFS_TRY(fs.open(path, OpenFlags::Write | OpenFlags::Create | OpenFlags::Truncate, mode));
  std::uint64_t n = ANYFS_TRY(pump_in(fd, *file, source));
  ANYFS_CHECK(file->close());
  return n;
}

Result<void> copy_out(Fs& fs, const std::string& path, std::ostream& out) {
  auto file = ANYFS_TRY(fs.open(path, OpenFlags::Read));
  Stat st = ANYFS_TRY(file->stat());
  if (st.kind == FileKind::Directory) return fail(Errc::IsDir, path, "is a directory");
  std::span<char> buf = piece_buffer();
  for (std::uint64_t at = 0;;) {
    std::size_t n = ANYFS_TRY(file->pread(buf, at));
    if (n == 0) break;
    out.write(buf.data(), static_cast<std::streamsize>(n));
    if (!out) return fail(Errc::Io, "", "writing the output failed");
    at += n;
  }
  return {};
}

Result<TreeCounts> import_tree(const std::string& host_dir, Fs& fs, const std::string& dest, const ProgressFn& progress,
                               const WarnFn& warn) {
  struct stat st {};
  if (::lstat(host_dir.c_str(), &st) != 0) return fail_errno(errno, host_dir, "cannot read the host directory");
  Importer importer{fs, progress, warn, {}, {}};
  if (S_ISDIR(st.st_mode))
    ANYFS_CHECK(importer.directory(host_dir, dest, st));
  else
    ANYFS_CHECK(importer.object(host_dir, dest));
  return importer.counts;
}

Result<TreeCounts> export_tree(Fs& fs, const std::string& src, const std::string& host_dir,
                               const ProgressFn& progress, const WarnFn& warn) {
  Exporter exporter{fs, progress, warn, {}, {}};
  Stat st = ANYFS_TRY(fs.lstat(src));
  std::string target = host_dir;
  if (st.kind != FileKind::Directory) {
    struct stat hs {};
    if (::stat(host_dir.c_str(), &hs) == 0 && S_ISDIR(hs.st_mode)) target = host_dir + "/" + path::split(src)->back();
  }
  ANYFS_CHECK(exporter.object(src, target));
  return exporter.counts;
}

}  // namespace anyfs::cli
