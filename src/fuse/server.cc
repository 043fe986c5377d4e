#include "fuse/server.h"

#include <fmt/format.h>

#include <algorithm>

#include "fs/path.h"
#include "util/clock.h"

namespace anyfs::fuse {

Server::Server(std::shared_ptr<Pool> pool, std::shared_ptr<Dataset> dataset, const MountOptions& options)
    : pool_(std::move(pool)),
      dataset_(std::move(dataset)),
      options_(options),
      read_only_(options.read_only),
      mounted_ns_(wall_clock_ns()) {
  views_.push_back(dataset_);
}

Stat Server::in_view(Stat st, std::uint64_t view) {
  st.ino = kernel_ino(view, st.ino);
  return st;
}

Result<Server::Target> Server::target(std::uint64_t ino) {
  const std::uint64_t view = view_of(ino);
  MutexLock lock(mu_);
  if (view >= views_.size()) return fail(Errc::NotFound, "", fmt::format("no inode {}", ino));
  return Target{views_[view].get(), ino & k_ino_mask, view};
}

Result<Server::Target> Server::writable(std::uint64_t ino) {
  if (view_of(ino) == k_virtual_view || view_of(ino) != 0)
    return fail(Errc::ReadOnly, "", "snapshots are read-only");
  if (read_only_) return fail(Errc::ReadOnly, "", "mounted read-only");
  return target(ino);
}

Stat Server::virtual_dir(std::uint64_t ino) const {
  Stat st;
  st.kind = FileKind::Directory;
  st.mode = 0555;
  st.nlink = 2;
  st.ino = ino;
  st.atime_ns = st.mtime_ns = st.ctime_ns = st.btime_ns = mounted_ns_;
  return st;
}

Result<Stat> Server::snapshot_root(std::string_view name) {
  SnapshotInfo found;
  bool any = false;
  for (auto& s : ANYFS_TRY(pool_->snapshots(dataset_->name())))
    if (s.name == name) {
      found = s;
      any = true;
    }
  if (!any) return fail(Errc::NotFound, std::string(name), "no such snapshot");
  std::uint64_t view = 0;
  {
    MutexLock lock(mu_);
    auto key = std::pair{found.name, found.tid};
    if (auto it = view_by_snapshot_.find(key); it != view_by_snapshot_.end()) view = it->second;
  }
  if (view == 0) {
    auto ds = ANYFS_TRY(pool_->dataset_at(dataset_->name(), AsOf::at_snapshot(found.name)));
    MutexLock lock(mu_);
    auto key = std::pair{found.name, found.tid};
    if (auto it = view_by_snapshot_.find(key); it != view_by_snapshot_.end()) {
      view = it->second;
    } else {
      if (views_.size() >= k_virtual_view) return fail(Errc::NoSpace, std::string(name), "too many snapshot views");
      view = views_.size();
      views_.push_back(ds);
      view_by_snapshot_.emplace(key, view);
    }
  }
  auto t = ANYFS_TRY(target(kernel_ino(view, k_root_ino)));
  return in_view(ANYFS_TRY(t.fs->getattr(t.ino)), view);
}

Result<std::vector<DirEntry>> Server::list_snapshots() {
  std::vector<DirEntry> out;
  for (auto& s : ANYFS_TRY(pool_->snapshots(dataset_->name())))
    out.push_back({s.name, FileKind::Directory, 0});
  std::sort(out.begin(), out.end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  // Numbers only once a name is looked up (that opens the view).
  for (auto& e : out)
    if (auto root = snapshot_root(e.name)) e.ino = root->ino;
  return out;
}

Result<Stat> Server::lookup(std::uint64_t dir, std::string_view name) {
  if (dir == k_root_ino && name == k_anyfs_name) return virtual_dir(k_anyfs_dir);
  if (dir == k_anyfs_dir) {
    if (name == k_snapshots_name) return virtual_dir(k_snapshots_dir);
    return fail(Errc::NotFound, std::string(name), "no such entry in .anyfs");
  }
  if (dir == k_snapshots_dir) return snapshot_root(name);
  auto t = ANYFS_TRY(target(dir));
  return in_view(ANYFS_TRY(t.fs->lookup(t.ino, name)), t.view);
}

Result<Stat> Server::getattr(std::uint64_t ino) {
  if (ino == k_anyfs_dir || ino == k_snapshots_dir) return virtual_dir(ino);
  auto t = ANYFS_TRY(target(ino));
  return in_view(ANYFS_TRY(t.fs->getattr(t.ino)), t.view);
}

Result<Stat> Server::parent(std::uint64_t dir) {
  if (dir == k_anyfs_dir) return getattr(k_root_ino);
  if (dir == k_snapshots_dir) return virtual_dir(k_anyfs_dir);
  auto t = ANYFS_TRY(target(dir));
  // A snapshot's root hangs in .anyfs/snapshots.
  if (t.view != 0 && t.ino == k_root_ino) return virtual_dir(k_snapshots_dir);
  return in_view(ANYFS_TRY(t.fs->parent(t.ino)), t.view);
}

Result<Stat> Server::setattr(std::uint64_t ino, const AttrChange& change) {
  auto t = ANYFS_TRY(writable(ino));
  return in_view(ANYFS_TRY(t.fs->setattr(t.ino, change)), t.view);
}

Result<std::vector<DirEntry>> Server::list(std::uint64_t dir) {
  if (dir == k_anyfs_dir) return std::vector<DirEntry>{{std::string(k_snapshots_name), FileKind::Directory, k_snapshots_dir}};
  if (dir == k_snapshots_dir) return list_snapshots();
  auto t = ANYFS_TRY(target(dir));
  auto entries = ANYFS_TRY(t.fs->list(t.ino));
  for (auto& e : entries) e.ino = kernel_ino(t.view, e.ino);
  // The root's own .anyfs, if any, is hidden behind the virtual one.
  if (dir == k_root_ino) {
    std::erase_if(entries, [](const DirEntry& e) { return e.name == k_anyfs_name; });
    if (options_.snapdir_visible) {
      DirEntry e{std::string(k_anyfs_name), FileKind::Directory, k_anyfs_dir};
      entries.insert(std::lower_bound(entries.begin(), entries.end(), e,
                                      [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; }),
                     e);
    }
  }
  return entries;
}

Result<Stat> Server::make(std::uint64_t dir, std::string_view name, const NewObject& what) {
  if (dir == k_snapshots_dir && what.kind == FileKind::Directory && !read_only_) {
    ANYFS_TRY(pool_->snapshot(dataset_->name(), name));
    return snapshot_root(name);
  }
  if (dir == k_root_ino && name == k_anyfs_name) return fail(Errc::Exists, std::string(name), "reserved name");
  auto t = ANYFS_TRY(writable(dir));
  return in_view(ANYFS_TRY(t.fs->make(t.ino, name, what)), t.view);
}

Result<void> Server::unlink(std::uint64_t dir, std::string_view name, bool directory) {
  if (dir == k_snapshots_dir && directory && !read_only_) return pool_->destroy_snapshot(dataset_->name(), name);
  if (dir == k_root_ino && name == k_anyfs_name) return fail(Errc::Busy, std::string(name), "reserved name");
  auto t = ANYFS_TRY(writable(dir));
  return t.fs->unlink(t.ino, name, directory);
}

Result<void> Server::rename(std::uint64_t from_dir, std::string_view from, std::uint64_t to_dir,
                            std::string_view to, RenameFlags flags) {
  if ((from_dir == k_root_ino && from == k_anyfs_name) || (to_dir == k_root_ino && to == k_anyfs_name))
    return fail(Errc::Busy, std::string(k_anyfs_name), "reserved name");
  auto a = ANYFS_TRY(writable(from_dir));
  auto b = ANYFS_TRY(writable(to_dir));
  return a.fs->rename(a.ino, from, b.ino, to, flags);
}

Result<Stat> Server::link(std::uint64_t ino, std::uint64_t dir, std::string_view name) {
  if (dir == k_root_ino && name == k_anyfs_name) return fail(Errc::Exists, std::string(name), "reserved name");
  auto from = ANYFS_TRY(writable(ino));
  auto to = ANYFS_TRY(writable(dir));
  return in_view(ANYFS_TRY(to.fs->link(from.ino, to.ino, name)), to.view);
}

Result<std::string> Server::readlink(std::uint64_t ino) {
  auto t = ANYFS_TRY(target(ino));
  return t.fs->readlink(t.ino);
}

Result<FileHandle> Server::open(std::uint64_t ino, OpenFlags flags) {
  bool changes = has(flags, OpenFlags::Write) || has(flags, OpenFlags::Truncate);
  if (read_only_) flags = flags | OpenFlags::NoAtime;  // a read-only mount changes nothing
  auto t = ANYFS_TRY(changes ? writable(ino) : target(ino));
  return t.fs->open(t.ino, flags);
}

Result<FileHandle> Server::open_dir(std::uint64_t dir, OpenFlags flags) {
  if (view_of(dir) == k_virtual_view) return FileHandle{};
  if (read_only_ || view_of(dir) != 0) flags = flags | OpenFlags::NoAtime;
  return open(dir, flags | OpenFlags::Read | OpenFlags::Directory);
}

Result<std::string> Server::get_xattr(std::uint64_t ino, std::string_view name) {
  if (view_of(ino) == k_virtual_view) return fail(Errc::NoData, "", "no such attribute");
  auto t = ANYFS_TRY(target(ino));
  return t.fs->get_xattr(t.ino, name);
}

Result<void> Server::set_xattr(std::uint64_t ino, std::string_view name, std::string_view value, XattrFlags flags) {
  auto t = ANYFS_TRY(writable(ino));
  return t.fs->set_xattr(t.ino, name, value, flags);
}

Result<std::vector<std::string>> Server::list_xattr(std::uint64_t ino) {
  if (view_of(ino) == k_virtual_view) return std::vector<std::string>{};
  auto t = ANYFS_TRY(target(ino));
  return t.fs->list_xattr(t.ino);
}

Result<void> Server::remove_xattr(std::uint64_t ino, std::string_view name) {
  auto t = ANYFS_TRY(writable(ino));
  return t.fs->remove_xattr(t.ino, name);
}

Result<std::uint64_t> Server::clone_range(std::uint64_t from, std::uint64_t from_offset, std::uint64_t to,
                                          std::uint64_t to_offset, std::uint64_t length) {
  auto a = ANYFS_TRY(target(from));
  auto b = ANYFS_TRY(writable(to));
  if (a.view != b.view) return fail(Errc::CrossDevice, "", "the source is in a snapshot");
  return b.fs->clone_range(a.ino, from_offset, b.ino, to_offset, length);
}

Result<void> Server::punch_hole(std::uint64_t ino, std::uint64_t offset, std::uint64_t length) {
  auto t = ANYFS_TRY(writable(ino));
  return t.fs->punch_hole(t.ino, offset, length);
}

Result<StatFs> Server::statfs() { return dataset_->statfs(); }

Result<void> Server::sync() {
  if (read_only_) return {};
  return dataset_->sync();
}

}  // namespace anyfs::fuse
