// The libfuse low-level operations: each request becomes one Server call, and
// its Result one reply — an Errc is already an errno (error.h), so errors map
// one to one, in reply_error() only. Every request gets a reply, whatever
// happens below (a pool that failed answers EIO; nothing waits forever).
#include "fuse/lowlevel.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "fs/checks.h"
#include "util/clock.h"
#include "util/mutex.h"

namespace anyfs::fuse {
namespace {

// Handles, in fuse_file_info::fh.
struct OpenFile {
  FileHandle file;
  bool direct = false;  // opened O_DIRECT: its writes bypass the page cache
};
struct OpenDir {
  FileHandle dir;                 // holds the directory while open (empty for .anyfs)
  std::vector<DirEntry> entries;  // one listing is one state, read again at offset 0
  bool fresh = true;              // entries were read by opendir and not served yet
};

// Handles the kernel holds. A session that ends with some still open (a lazy
// unmount, an aborted connection) never gets their releases: the session
// closes them itself, so files are released before the pool closes.
class Handles {
 public:
  template <class T>
  std::uint64_t add(std::unique_ptr<T> h) {
    MutexLock lock(mu_);
    auto key = reinterpret_cast<std::uint64_t>(h.get());
    if constexpr (std::is_same_v<T, OpenFile>)
      files_.emplace(key, std::move(h));
    else
      dirs_.emplace(key, std::move(h));
    return key;
  }
  OpenFile& file(std::uint64_t key) {
    MutexLock lock(mu_);
    return *files_.at(key);
  }
  OpenDir& dir(std::uint64_t key) {
    MutexLock lock(mu_);
    return *dirs_.at(key);
  }
  std::unique_ptr<OpenFile> take_file(std::uint64_t key) {
    MutexLock lock(mu_);
    return take(files_, key);
  }
  std::unique_ptr<OpenDir> take_dir(std::uint64_t key) {
    MutexLock lock(mu_);
    return take(dirs_, key);
  }

 private:
  template <class Map>
  static typename Map::mapped_type take(Map& map, std::uint64_t key) {
    auto node = map.extract(key);
    return node ? std::move(node.mapped()) : nullptr;
  }
  Mutex mu_;
  std::unordered_map<std::uint64_t, std::unique_ptr<OpenFile>> files_ GUARDED_BY(mu_);
  std::unordered_map<std::uint64_t, std::unique_ptr<OpenDir>> dirs_ GUARDED_BY(mu_);
};

struct Session {
  Server* server = nullptr;
  fuse_session* se = nullptr;  // for notifications to the kernel
  double timeout = 0;
  bool allow_writeback = true;
  bool writeback = false;  // the kernel agreed to cache writes (op_init)
  Handles handles;
};

Session& session(fuse_req_t req) { return *static_cast<Session*>(fuse_req_userdata(req)); }
Server& server(fuse_req_t req) { return *session(req).server; }

void reply_error(fuse_req_t req, const Error& e) { fuse_reply_err(req, to_errno(e.code)); }

// Runs a handler so that no exception escapes into libfuse without a reply.
template <class F>
void guarded(fuse_req_t req, F&& handler) {
  try {
    handler();
  } catch (const std::bad_alloc&) {
    fuse_reply_err(req, ENOMEM);
  } catch (const std::exception&) {
    fuse_reply_err(req, EIO);
  }
}

mode_t type_bits(FileKind kind) {
  switch (kind) {
    case FileKind::Directory: return S_IFDIR;
    case FileKind::Symlink: return S_IFLNK;
    case FileKind::Fifo: return S_IFIFO;
    case FileKind::CharDevice: return S_IFCHR;
    case FileKind::BlockDevice: return S_IFBLK;
    case FileKind::Socket: return S_IFSOCK;
    case FileKind::Regular:
    case FileKind::Other: break;
  }
  return S_IFREG;
}

timespec to_timespec(std::int64_t ns) {
  return {static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

struct stat to_stat(const Stat& s) {
  struct stat st {};
  st.st_ino = s.ino;
  st.st_mode = type_bits(s.kind) | s.mode;
  st.st_nlink = s.nlink;
  st.st_uid = s.uid;
  st.st_gid = s.gid;
  st.st_size = static_cast<off_t>(s.size);
  st.st_blocks = static_cast<blkcnt_t>(s.blocks);
  st.st_blksize = 1 << 20;  // programs size their buffers by this: large I/O pays less per request
  st.st_rdev = static_cast<dev_t>(s.rdev);
  st.st_atim = to_timespec(s.atime_ns);
  st.st_mtim = to_timespec(s.mtime_ns);
  st.st_ctim = to_timespec(s.ctime_ns);
  return st;
}

// `negative`: a lookup's missing name is cached too (every change passes
// through the kernel, which drops the negative entry when it makes the name).
void reply_entry(fuse_req_t req, const Result<Stat>& r, bool negative = false) {
  double t = session(req).timeout;
  if (!r) {
    if (negative && r.error().code == Errc::NotFound) {
      fuse_entry_param e{};
      e.entry_timeout = t;
      fuse_reply_entry(req, &e);
      return;
    }
    return reply_error(req, r.error());
  }
  fuse_entry_param e{};
  e.ino = r->ino;
  e.generation = 1;  // numbers are never reused (inode_fs.h)
  e.attr = to_stat(*r);
  e.attr_timeout = t;
  e.entry_timeout = t;
  fuse_reply_entry(req, &e);
}

void reply_attr(fuse_req_t req, const Result<Stat>& r) {
  if (!r) return reply_error(req, r.error());
  struct stat st = to_stat(*r);
  fuse_reply_attr(req, &st, session(req).timeout);
}

void reply_void(fuse_req_t req, const Result<void>& r) { fuse_reply_err(req, r ? 0 : to_errno(r.error().code)); }

// With the kernel's writeback cache, the kernel places appends itself (from
// the size it caches) and may read pages of a file opened write-only to fill
// them: handles are read-write and never Append.
OpenFlags open_flags(int flags, bool writeback) {
  OpenFlags out = OpenFlags::None;
  switch (flags & O_ACCMODE) {
    case O_WRONLY: out = writeback ? OpenFlags::ReadWrite : OpenFlags::Write; break;
    case O_RDWR: out = OpenFlags::ReadWrite; break;
    default: out = OpenFlags::Read; break;
  }
  if ((flags & O_APPEND) && !writeback) out = out | OpenFlags::Append;
  if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY) out = out | OpenFlags::Truncate;
  if (flags & O_NOATIME) out = out | OpenFlags::NoAtime;
  // The kernel's writeback cache keeps a file's modification and change
  // times itself and sends them (setattr): a write stored later must not
  // replace them with the time it reached the pool.
  if (writeback) out = out | OpenFlags::CallerTimes;
  return out;
}

NewObject new_object(fuse_req_t req, FileKind kind, mode_t mode) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  NewObject what;
  what.kind = kind;
  what.mode = mode & 07777;
  what.uid = ctx->uid;
  what.gid = ctx->gid;
  return what;
}

OpenFile& file_of(fuse_req_t req, fuse_file_info* fi) { return session(req).handles.file(fi->fh); }

// The mode a regular file keeps after the caller of `req` changed its
// contents (write, truncate, hole punch): set-user-ID goes, and set-group-ID
// when the group may execute or the caller is not in the file's group — the
// rule Linux applies on local filesystems (FUSE's kernel side keeps
// set-group-ID without group-execute). Root keeps both (CAP_FSETID).
std::uint32_t without_privileges(fuse_req_t req, const Stat& st) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  if (ctx->uid == 0 || st.kind != FileKind::Regular || (st.mode & (S_ISUID | S_ISGID)) == 0) return st.mode;
  std::uint32_t mode = st.mode & ~static_cast<std::uint32_t>(S_ISUID);
  if (!(mode & S_ISGID)) return mode;
  bool in_group = ctx->gid == st.gid;
  if (!in_group && !(mode & S_IXGRP)) {
    gid_t groups[256];
    const int n = std::min(fuse_req_getgroups(req, 256, groups), 256);
    for (int i = 0; i < n; ++i) in_group |= groups[i] == st.gid;
  }
  if ((mode & S_IXGRP) || !in_group) mode &= ~static_cast<std::uint32_t>(S_ISGID);
  return mode;
}

// Whether a mode change in `req` is the kernel dropping set-id bits for a
// write or truncate by someone other than the owner: no one else may chmod
// (the kernel checks that first), so such a change can be nothing else.
bool drops_privileges(fuse_req_t req, const Stat& st, std::uint32_t mode) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  constexpr std::uint32_t k_setid = S_ISUID | S_ISGID;
  return ctx->uid != 0 && ctx->uid != st.uid && (mode & ~k_setid) == (st.mode & ~k_setid) &&
         (mode & k_setid & ~st.mode) == 0;
}

// --- operations ---------------------------------------------------------------------

void op_init(void* userdata, fuse_conn_info* conn) {
  auto* s = static_cast<Session*>(userdata);
  conn->max_write = 1 << 20;
  conn->max_readahead = 1 << 20;
  conn->want |= FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO;
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  // File handles (name_to_handle_at, NFS export): the kernel finds an inode
  // it forgot by looking up "." and ".." in it (op_lookup).
  if (conn->capable & FUSE_CAP_EXPORT_SUPPORT) conn->want |= FUSE_CAP_EXPORT_SUPPORT;
  // Locks stay in the kernel (no getlk/setlk/flock here): the pool has one
  // writer, this mount, so every locker is on this machine (docs/MOUNT.md).
  conn->want &= ~(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);
  // The kernel keeps written pages and the size, and writes back in large
  // requests: attributes stay valid after a write (no GETATTR per stat).
  if (s->allow_writeback && !s->server->read_only() && (conn->capable & FUSE_CAP_WRITEBACK_CACHE)) {
    conn->want |= FUSE_CAP_WRITEBACK_CACHE;
    s->writeback = true;
  }
}

void op_destroy(void* userdata) { (void)static_cast<Session*>(userdata)->server->sync(); }

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  guarded(req, [&] {
    // "." and ".." come only from the kernel's export operations.
    if (std::strcmp(name, ".") == 0) return reply_entry(req, server(req).getattr(parent));
    if (std::strcmp(name, "..") == 0) return reply_entry(req, server(req).parent(parent));
    reply_entry(req, server(req).lookup(parent, name), true);
  });
}

void op_forget(fuse_req_t req, fuse_ino_t, uint64_t) { fuse_reply_none(req); }
void op_forget_multi(fuse_req_t req, size_t, fuse_forget_data*) { fuse_reply_none(req); }

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  guarded(req, [&] { reply_attr(req, server(req).getattr(ino)); });
}

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
  guarded(req, [&] {
    AttrChange c;
    if (to_set & FUSE_SET_ATTR_MODE) {
      c.mode = attr->st_mode & 07777;
      auto st = server(req).getattr(ino);
      if (!st) return reply_error(req, st.error());
      if (drops_privileges(req, *st, *c.mode)) c.mode = without_privileges(req, *st) & *c.mode;
    }
    if (to_set & FUSE_SET_ATTR_UID) c.uid = attr->st_uid;
    if (to_set & FUSE_SET_ATTR_GID) c.gid = attr->st_gid;
    if (to_set & FUSE_SET_ATTR_SIZE) c.size = static_cast<std::uint64_t>(attr->st_size);
    auto time_of = [](const timespec& ts) {
      return TimeSpec::at(static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec);
    };
    if (to_set & FUSE_SET_ATTR_ATIME_NOW) c.atime = TimeSpec::now();
    else if (to_set & FUSE_SET_ATTR_ATIME) c.atime = time_of(attr->st_atim);
    if (to_set & FUSE_SET_ATTR_MTIME_NOW) c.mtime = TimeSpec::now();
    else if (to_set & FUSE_SET_ATTR_MTIME) c.mtime = time_of(attr->st_mtim);
    // With the writeback cache the kernel keeps its own change time and sends
    // it: what a stat showed before an unmount is what it shows after.
    if (to_set & FUSE_SET_ATTR_CTIME) c.ctime = time_of(attr->st_ctim);
    reply_attr(req, server(req).setattr(ino, c));
  });
}

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  guarded(req, [&] {
    auto r = server(req).readlink(ino);
    if (!r) return reply_error(req, r.error());
    fuse_reply_readlink(req, r->c_str());
  });
}

void op_mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  guarded(req, [&] {
    FileKind kind;
    switch (mode & S_IFMT) {
      case S_IFREG: case 0: kind = FileKind::Regular; break;
      case S_IFIFO: kind = FileKind::Fifo; break;
      case S_IFCHR: kind = FileKind::CharDevice; break;
      case S_IFBLK: kind = FileKind::BlockDevice; break;
      case S_IFSOCK: kind = FileKind::Socket; break;
      default: return (void)fuse_reply_err(req, EINVAL);
    }
    NewObject what = new_object(req, kind, mode);
    what.rdev = rdev;
    reply_entry(req, server(req).make(parent, name, what));
  });
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  guarded(req, [&] { reply_entry(req, server(req).make(parent, name, new_object(req, FileKind::Directory, mode))); });
}

void op_symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  guarded(req, [&] {
    NewObject what = new_object(req, FileKind::Symlink, 0777);
    what.target = target;
    reply_entry(req, server(req).make(parent, name, what));
  });
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  guarded(req, [&] { reply_void(req, server(req).unlink(parent, name, false)); });
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  guarded(req, [&] { reply_void(req, server(req).unlink(parent, name, true)); });
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent, const char* newname,
               unsigned int flags) {
  guarded(req, [&] {
    RenameFlags f = RenameFlags::None;
    if (flags == RENAME_NOREPLACE) f = RenameFlags::NoReplace;
    else if (flags == RENAME_EXCHANGE) f = RenameFlags::Exchange;
    else if (flags != 0) return (void)fuse_reply_err(req, EINVAL);
    reply_void(req, server(req).rename(parent, name, newparent, newname, f));
  });
}

void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  guarded(req, [&] { reply_entry(req, server(req).link(ino, newparent, newname)); });
}

void open_reply(fuse_req_t req, fuse_file_info* fi, Result<FileHandle> r, const fuse_entry_param* entry) {
  if (!r) return reply_error(req, r.error());
  auto& handles = session(req).handles;
  auto open = std::make_unique<OpenFile>(std::move(*r));
  open->direct = (fi->flags & O_DIRECT) != 0;
  fi->fh = handles.add(std::move(open));
  // The page cache stays valid across opens: nothing changes a file behind
  // the kernel's back (the mount is the only writer).
  fi->keep_cache = 1;
  int sent = entry ? fuse_reply_create(req, entry, fi) : fuse_reply_open(req, fi);
  if (sent != 0) (void)handles.take_file(fi->fh);  // the opener was interrupted: nobody will release it
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  guarded(req, [&] {
    const OpenFlags flags = open_flags(fi->flags, session(req).writeback);
    if (has(flags, OpenFlags::Truncate)) {
      // An O_TRUNC open arrives whole (the kernel does not truncate first).
      auto st = server(req).getattr(ino);
      if (!st) return reply_error(req, st.error());
      if (std::uint32_t mode = without_privileges(req, *st); mode != st->mode) {
        AttrChange c;
        c.mode = mode;
        if (auto r = server(req).setattr(ino, c); !r) return reply_error(req, r.error());
      }
    }
    open_reply(req, fi, server(req).open(ino, flags), nullptr);
  });
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
  guarded(req, [&] {
    auto made = server(req).make(parent, name, new_object(req, FileKind::Regular, mode));
    if (!made) return reply_error(req, made.error());
    fuse_entry_param e{};
    e.ino = made->ino;
    e.generation = 1;
    e.attr = to_stat(*made);
    e.attr_timeout = e.entry_timeout = session(req).timeout;
    OpenFlags flags = open_flags(fi->flags & ~O_TRUNC, session(req).writeback);
    open_reply(req, fi, server(req).open(made->ino, flags), &e);
  });
}

// Read buffers, most recently used on top: reads mostly take turns (the pool
// has one lock), so one or two buffers stay in the CPU cache for the kernel's
// copy, where a buffer per thread went cold (sequential reads 1.5-2x slower).
class BufferStack {
 public:
  std::vector<char> take(std::size_t size) {
    std::vector<char> buf;
    {
      MutexLock lock(mu_);
      if (!free_.empty()) {
        buf = std::move(free_.back());
        free_.pop_back();
      }
    }
    if (buf.size() < size) buf.resize(size);
    return buf;
  }
  void give(std::vector<char> buf) {
    MutexLock lock(mu_);
    free_.push_back(std::move(buf));
  }

 private:
  Mutex mu_;
  std::vector<std::vector<char>> free_ GUARDED_BY(mu_);
};

void op_read(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  static BufferStack buffers;
  guarded(req, [&] {
    std::vector<char> buf = buffers.take(size);
    auto n = file_of(req, fi).file->pread(std::span<char>(buf.data(), size), static_cast<std::uint64_t>(off));
    if (n)
      fuse_reply_buf(req, buf.data(), *n);
    else
      reply_error(req, n.error());
    buffers.give(std::move(buf));
  });
}

void op_write(fuse_req_t req, fuse_ino_t ino, const char* data, size_t size, off_t off, fuse_file_info* fi) {
  guarded(req, [&] {
    OpenFile& open = file_of(req, fi);
    auto n = open.file->pwrite(std::string_view(data, size), static_cast<std::uint64_t>(off));
    if (!n) return reply_error(req, n.error());
    // A direct write bypassed the page cache, which another descriptor may
    // have filled with the old bytes meanwhile (the kernel drops the range
    // before an asynchronous direct write, not after): drop it before the
    // write returns, so every read after it is current. Other threads serve
    // the reads whose pages this waits for.
    if (open.direct && session(req).se != nullptr && *n > 0)
      (void)fuse_lowlevel_notify_inval_inode(session(req).se, ino, off, static_cast<off_t>(*n));
    fuse_reply_write(req, *n);
  });
}

void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  guarded(req, [&] {
    std::unique_ptr<OpenFile> handle = session(req).handles.take_file(fi->fh);
    if (handle) (void)handle->file->close();  // the kernel does not look at release errors
    fuse_reply_err(req, 0);
  });
}

void op_fsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info* fi) {
  guarded(req, [&] { reply_void(req, file_of(req, fi).file->fsync()); });
}

// The entries of directory `ino` as readdir serves them: ".", "..", the names.
Result<std::vector<DirEntry>> listing(fuse_req_t req, fuse_ino_t ino) {
  auto names = ANYFS_TRY(server(req).list(ino));
  std::vector<DirEntry> entries;
  entries.reserve(names.size() + 2);
  entries.push_back({".", FileKind::Directory, ino});
  entries.push_back({"..", FileKind::Directory, ino});
  for (auto& e : names) entries.push_back(std::move(e));
  return entries;
}

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  guarded(req, [&] {
    auto held = server(req).open_dir(ino, open_flags(fi->flags & O_NOATIME, false));
    if (!held) return reply_error(req, held.error());
    auto entries = listing(req, ino);
    if (!entries) return reply_error(req, entries.error());
    auto dir = std::make_unique<OpenDir>();
    dir->dir = std::move(*held);
    dir->entries = std::move(*entries);
    auto& handles = session(req).handles;
    fi->fh = handles.add(std::move(dir));
    fi->cache_readdir = 0;
    if (fuse_reply_open(req, fi) != 0) (void)handles.take_dir(fi->fh);
  });
}

void read_dir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi, bool plus) {
  guarded(req, [&] {
    OpenDir& dir = session(req).handles.dir(fi->fh);
    // Offset 0 after the first pass is a rewinddir: POSIX wants the names
    // made since, so the listing is read again (the kernel asks one reader
    // of a handle at a time).
    if (off == 0 && !dir.fresh) {
      auto again = listing(req, ino);
      if (!again) return reply_error(req, again.error());
      dir.entries = std::move(*again);
    }
    dir.fresh = false;
    const auto& entries = dir.entries;
    std::vector<char> buf(size);
    std::size_t used = 0;
    for (std::size_t i = static_cast<std::size_t>(off); i < entries.size(); ++i) {
      const DirEntry& e = entries[i];
      const off_t next = static_cast<off_t>(i + 1);
      std::size_t n;
      if (plus) {
        fuse_entry_param entry{};
        if (e.name == "." || e.name == "..") {
          entry.attr.st_ino = e.ino;
          entry.attr.st_mode = S_IFDIR;
        } else {
          auto st = server(req).lookup(ino, e.name);
          if (!st) continue;  // gone since opendir
          entry.ino = st->ino;
          entry.generation = 1;
          entry.attr = to_stat(*st);
          entry.attr_timeout = entry.entry_timeout = session(req).timeout;
        }
        n = fuse_add_direntry_plus(req, buf.data() + used, size - used, e.name.c_str(), &entry, next);
      } else {
        struct stat st {};
        st.st_ino = e.ino;
        st.st_mode = type_bits(e.kind);
        n = fuse_add_direntry(req, buf.data() + used, size - used, e.name.c_str(), &st, next);
      }
      if (n > size - used) break;
      used += n;
    }
    fuse_reply_buf(req, buf.data(), used);
  });
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  read_dir(req, ino, size, off, fi, false);
}
void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  read_dir(req, ino, size, off, fi, true);
}

void op_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  guarded(req, [&] {
    std::unique_ptr<OpenDir> dir = session(req).handles.take_dir(fi->fh);
    if (dir && dir->dir) (void)dir->dir->close();  // the last holder of a removed directory removes it
    fuse_reply_err(req, 0);
  });
}

void op_fsyncdir(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) {
  guarded(req, [&] { reply_void(req, server(req).sync()); });
}

void op_statfs(fuse_req_t req, fuse_ino_t) {
  guarded(req, [&] {
    auto r = server(req).statfs();
    if (!r) return reply_error(req, r.error());
    struct statvfs st {};
    st.f_bsize = st.f_frsize = r->block_size;
    st.f_blocks = r->total_blocks;
    st.f_bfree = r->free_blocks;
    st.f_bavail = r->avail_blocks;
    st.f_files = r->total_files;
    st.f_ffree = st.f_favail = r->free_files;
    st.f_namemax = r->max_name_length;
    fuse_reply_statfs(req, &st);
  });
}

void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size, int flags) {
  guarded(req, [&] {
    XattrFlags f = XattrFlags::None;
    if (flags & XATTR_CREATE) f = XattrFlags::Create;
    if (flags & XATTR_REPLACE) f = XattrFlags::Replace;
    reply_void(req, server(req).set_xattr(ino, name, std::string_view(value, size), f));
  });
}

// getxattr/listxattr: size 0 asks for the length; a smaller buffer is ERANGE.
void reply_sized(fuse_req_t req, const std::string& value, size_t size) {
  if (size == 0) fuse_reply_xattr(req, value.size());
  else if (size < value.size()) fuse_reply_err(req, ERANGE);
  else fuse_reply_buf(req, value.data(), value.size());
}

void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  guarded(req, [&] {
    auto r = server(req).get_xattr(ino, name);
    if (!r) return reply_error(req, r.error());
    reply_sized(req, *r, size);
  });
}

void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  guarded(req, [&] {
    auto r = server(req).list_xattr(ino);
    if (!r) return reply_error(req, r.error());
    std::string names;
    for (const auto& n : *r) names.append(n).push_back('\0');
    reply_sized(req, names, size);
  });
}

void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  guarded(req, [&] { reply_void(req, server(req).remove_xattr(ino, name)); });
}

void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length, fuse_file_info*) {
  guarded(req, [&] {
    // Only punching holes: space cannot be reserved ahead in a copy-on-write
    // pool, and EOPNOTSUPP makes posix_fallocate write the blocks instead.
    if (mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)) return (void)fuse_reply_err(req, EOPNOTSUPP);
    reply_void(req, server(req).punch_hole(ino, static_cast<std::uint64_t>(offset), static_cast<std::uint64_t>(length)));
  });
}

void op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in, fuse_file_info*, fuse_ino_t ino_out,
                        off_t off_out, fuse_file_info*, size_t len, int flags) {
  guarded(req, [&] {
    if (flags != 0) return (void)fuse_reply_err(req, EINVAL);
    auto n = server(req).clone_range(ino_in, static_cast<std::uint64_t>(off_in), ino_out,
                                     static_cast<std::uint64_t>(off_out), len);
    if (!n) return reply_error(req, n.error());
    fuse_reply_write(req, *n);
  });
}

}  // namespace

fuse_lowlevel_ops operations() {
  fuse_lowlevel_ops ops{};
  ops.init = op_init;
  ops.destroy = op_destroy;
  ops.lookup = op_lookup;
  ops.forget = op_forget;
  ops.forget_multi = op_forget_multi;
  ops.getattr = op_getattr;
  ops.setattr = op_setattr;
  ops.readlink = op_readlink;
  ops.mknod = op_mknod;
  ops.mkdir = op_mkdir;
  ops.symlink = op_symlink;
  ops.unlink = op_unlink;
  ops.rmdir = op_rmdir;
  ops.rename = op_rename;
  ops.link = op_link;
  ops.open = op_open;
  ops.create = op_create;
  ops.read = op_read;
  ops.write = op_write;
  ops.flush = op_flush;
  ops.release = op_release;
  ops.fsync = op_fsync;
  ops.opendir = op_opendir;
  ops.readdir = op_readdir;
  ops.readdirplus = op_readdirplus;
  ops.releasedir = op_releasedir;
  ops.fsyncdir = op_fsyncdir;
  ops.statfs = op_statfs;
  ops.setxattr = op_setxattr;
  ops.getxattr = op_getxattr;
  ops.listxattr = op_listxattr;
  ops.removexattr = op_removexattr;
  ops.fallocate = op_fallocate;
  ops.copy_file_range = op_copy_file_range;
  return ops;
}

void* session_data(Server& server, double timeout, bool writeback) {
  auto* s = new Session;
  s->server = &server;
  s->timeout = timeout;
  s->allow_writeback = writeback;
  return s;
}
void attach_session(void* data, fuse_session* se) { static_cast<Session*>(data)->se = se; }
void free_session_data(void* data) { delete static_cast<Session*>(data); }

}  // namespace anyfs::fuse
