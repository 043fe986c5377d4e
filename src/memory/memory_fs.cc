// MemoryFs: inodes in a tree of maps under one reader/writer lock. Paths are
// walked with the shared resolver (fs/resolve.h); handles keep their inode alive,
// so an unlinked open file stays usable.
#include "anyfs/memory_fs.h"

#include <sys/sysinfo.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <map>
#include <mutex>
#include <shared_mutex>

#include "fs/checks.h"
#include "fs/path.h"
#include "fs/resolve.h"
#include "memory/sparse_data.h"
#include "util/clock.h"

namespace anyfs {
namespace {

// Bytes held by all inodes of one MemoryFs, shared with the inodes so that an
// inode freed after its Fs (through a handle) still gives its bytes back.
struct Usage {
  std::atomic<std::uint64_t> bytes{0};
};

struct Inode : std::enable_shared_from_this<Inode> {
  Inode(std::uint64_t number, FileKind k, std::uint32_t m, std::shared_ptr<Usage> u)
      : ino(number), kind(k), mode(m & 07777), uid(geteuid()), gid(getegid()), usage(std::move(u)) {
    atime = mtime = ctime = btime = wall_clock_ns();
    nlink = kind == FileKind::Directory ? 2 : 1;
  }
  ~Inode() { usage->bytes -= data.allocated(); }

  std::uint64_t ino;
  FileKind kind;
  std::uint32_t mode;
  std::uint32_t uid;
  std::uint32_t gid;
  std::uint64_t nlink;
  std::int64_t atime, mtime, ctime, btime;
  SparseData data;                                                      // Regular
  std::map<std::string, std::shared_ptr<Inode>, std::less<>> children;  // Directory
  std::string target;                                                   // Symlink
  std::map<std::string, std::string, std::less<>> xattrs;
  std::shared_ptr<Usage> usage;

  Stat stat() const {
    Stat st;
    st.kind = kind;
    st.mode = mode;
    st.uid = uid;
    st.gid = gid;
    st.nlink = nlink;
    st.ino = ino;
    st.atime_ns = atime;
    st.mtime_ns = mtime;
    st.ctime_ns = ctime;
    st.btime_ns = btime;
    switch (kind) {
      case FileKind::Regular: st.size = data.size(); break;
      case FileKind::Symlink: st.size = target.size(); break;
      default: st.size = children.size(); break;
    }
    st.blocks = (data.allocated() + 511) / 512;
    return st;
  }
  void touch_content() { mtime = ctime = wall_clock_ns(); }
};

class MemoryFs;

class MemoryFile final : public File {
 public:
  MemoryFile(std::shared_ptr<MemoryFs> fs, std::shared_ptr<Inode> node, OpenFlags flags)
      : fs_(std::move(fs)), node_(std::move(node)), flags_(flags) {}
  ~MemoryFile() override = default;

  Result<std::size_t> pread(std::span<char> buf, std::uint64_t offset) override;
  Result<std::size_t> pwrite(std::string_view data, std::uint64_t offset) override;
  Result<std::uint64_t> append(std::string_view data) override;
  Result<void> truncate(std::uint64_t size) override;
  Result<void> fsync() override;
  Result<Stat> stat() override;
  Result<void> close() override;

 private:
  Result<void> check_open() const;
  Result<void> check_writable() const;

  std::shared_ptr<MemoryFs> fs_;
  std::shared_ptr<Inode> node_;
  const OpenFlags flags_;
  std::atomic<bool> closed_{false};
};

class MemoryFs final : public Fs, public std::enable_shared_from_this<MemoryFs> {
 public:
  explicit MemoryFs(MemoryFsOptions options) : options_(options) {
    root_ = std::make_shared<Inode>(next_ino_++, FileKind::Directory, 0755, usage_);
  }

  Result<Stat> stat(std::string_view p) override { return stat_impl(p, Follow::Yes); }
  Result<Stat> lstat(std::string_view p) override { return stat_impl(p, Follow::No); }

  Result<std::vector<DirEntry>> read_dir(std::string_view p) override {
    std::shared_lock lock(mu_);
    Inode* dir = ANYFS_TRY(existing(p, Follow::Yes));
    if (dir->kind != FileKind::Directory) return fail(Errc::NotDir, std::string(p), "not a directory");
    std::vector<DirEntry> out;
    out.reserve(dir->children.size());
    for (const auto& [name, child] : dir->children) out.push_back({name, child->kind, child->ino});
    return out;
  }

  Result<void> mkdir(std::string_view p, std::uint32_t mode) override {
    std::unique_lock lock(mu_);
    auto r = ANYFS_TRY(for_new_entry(p));
    Inode* parent = r.parent();
    // Only the permission and sticky bits, as Linux keeps.
    parent->children.emplace(r.leaf, make_inode(FileKind::Directory, mode & 01777));
    parent->nlink++;
    parent->touch_content();
    return {};
  }

  Result<void> remove(std::string_view p) override {
    ANYFS_CHECK(path::check_names_entry(p));
    std::unique_lock lock(mu_);
    auto r = ANYFS_TRY(walk_path(tree_, p, Follow::No));
    if (!r.found) return fail(Errc::NotFound, std::string(p), "no such file or directory");
    if (r.is_root()) return fail(Errc::Busy, std::string(p), "cannot remove the root");
    Inode* node = r.node();
    if (node->kind == FileKind::Directory && !node->children.empty())
      return fail(Errc::NotEmpty, std::string(p), "directory not empty");
    detach(r.parent(), r.name());
    return {};
  }

  Result<void> rename(std::string_view from, std::string_view to, RenameFlags flags) override;

  Result<void> link(std::string_view existing_path, std::string_view new_path) override {
    // Both must name entries; the new name is checked first, as HostFs does.
    ANYFS_CHECK(path::check_names_entry(new_path));
    ANYFS_CHECK(path::check_names_entry(existing_path));
    std::unique_lock lock(mu_);
    auto src = ANYFS_TRY(walk_path(tree_, existing_path, Follow::No));
    if (!src.found) return fail(Errc::NotFound, std::string(existing_path), "no such file");
    auto dst = ANYFS_TRY(for_new_entry(new_path));
    if (src.node()->kind == FileKind::Directory)
      return fail(Errc::NotPermitted, std::string(existing_path), "cannot hard-link a directory");
    Inode* node = src.node();
    node->nlink++;
    node->ctime = wall_clock_ns();
    dst.parent()->children.emplace(dst.leaf, node->shared_from_this());
    dst.parent()->touch_content();
    return {};
  }

  Result<void> symlink(std::string_view target, std::string_view link_path) override {
    ANYFS_CHECK(path::validate_symlink_target(target));
    std::unique_lock lock(mu_);
    auto r = ANYFS_TRY(for_new_entry(link_path));
    auto node = make_inode(FileKind::Symlink, 0777);
    node->target = std::string(target);
    r.parent()->children.emplace(r.leaf, std::move(node));
    r.parent()->touch_content();
    return {};
  }

  Result<std::string> readlink(std::string_view p) override {
    std::shared_lock lock(mu_);
    Inode* node = ANYFS_TRY(existing(p, Follow::No));
    if (node->kind != FileKind::Symlink) return fail(Errc::InvalidArgument, std::string(p), "not a symlink");
    return node->target;
  }

  Result<void> chmod(std::string_view p, std::uint32_t mode) override {
    std::unique_lock lock(mu_);
    Inode* node = ANYFS_TRY(existing(p, Follow::Yes));
    node->mode = mode & 07777;
    node->ctime = wall_clock_ns();
    return {};
  }

  Result<void> chown(std::string_view p, std::uint32_t uid, std::uint32_t gid) override {
    std::unique_lock lock(mu_);
    Inode* node = ANYFS_TRY(existing(p, Follow::Yes));
    if (uid != static_cast<std::uint32_t>(-1)) node->uid = uid;
    if (gid != static_cast<std::uint32_t>(-1)) node->gid = gid;
    node->ctime = wall_clock_ns();
    return {};
  }

  Result<void> utimens(std::string_view p, TimeSpec atime, TimeSpec mtime) override {
    std::unique_lock lock(mu_);
    Inode* node = ANYFS_TRY(existing(p, Follow::Yes));
    std::int64_t now = wall_clock_ns();
    auto apply = [now](std::int64_t& field, TimeSpec t) {
      if (t.kind == TimeSpec::Kind::Set) field = t.ns;
      if (t.kind == TimeSpec::Kind::Now) field = now;
    };
    apply(node->atime, atime);
    apply(node->mtime, mtime);
    node->ctime = now;
    return {};
  }

  Result<void> truncate(std::string_view p, std::uint64_t size) override {
    std::unique_lock lock(mu_);
    Inode* node = ANYFS_TRY(existing(p, Follow::Yes));
    return truncate_locked(node, size, p);
  }

  Result<std::string> get_xattr(std::string_view p, std::string_view name) override {
    ANYFS_CHECK(check_xattr_name(p, name));
    std::shared_lock lock(mu_);
    Inode* node = ANYFS_TRY(existing(p, Follow::Yes));
    auto it = node->xattrs.find(name);
    if (it == node->xattrs.end()) return fail(Errc::NoData, std::string(p), "no such attribute");
    return it->second;
  }

  Result<void> set_xattr(std::string_view p, std::string_view name, std::string_view value, XattrFlags flags) override {
    ANYFS_CHECK(check_xattr_name(p, name));
    ANYFS_CHECK(check_xattr_value(p, value));
    std::unique_lock lock(mu_);
    Inode* node = ANYFS_TRY(existing(p, Follow::Yes));
    auto it = node->xattrs.find(name);
    if (flags == XattrFlags::Create && it != node->xattrs.end())
      return fail(Errc::Exists, std::string(p), "attribute exists");
    if (flags == XattrFlags::Replace && it == node->xattrs.end())
      return fail(Errc::NoData, std::string(p), "no such attribute");
    node->xattrs.insert_or_assign(std::string(name), std::string(value));
    node->ctime = wall_clock_ns();
    return {};
  }

  Result<std::vector<std::string>> list_xattr(std::string_view p) override {
    std::shared_lock lock(mu_);
    Inode* node = ANYFS_TRY(existing(p, Follow::Yes));
    std::vector<std::string> out;
    for (const auto& entry : node->xattrs) out.push_back(entry.first);
    return out;
  }

  Result<void> remove_xattr(std::string_view p, std::string_view name) override {
    ANYFS_CHECK(check_xattr_name(p, name));
    std::unique_lock lock(mu_);
    Inode* node = ANYFS_TRY(existing(p, Follow::Yes));
    auto it = node->xattrs.find(name);
    if (it == node->xattrs.end()) return fail(Errc::NoData, std::string(p), "no such attribute");
    node->xattrs.erase(it);
    node->ctime = wall_clock_ns();
    return {};
  }

  Result<StatFs> statfs() override {
    StatFs out;
    std::uint64_t capacity = options_.capacity_bytes;
    if (capacity == 0) {
      struct sysinfo info {};
      sysinfo(&info);
      capacity = usage_->bytes + static_cast<std::uint64_t>(info.freeram) * info.mem_unit;
    }
    std::uint64_t used = usage_->bytes;
    out.total_blocks = capacity / out.block_size;
    out.free_blocks = out.avail_blocks = (capacity > used ? capacity - used : 0) / out.block_size;
    out.total_files = 1ull << 32;
    out.free_files = out.total_files - std::min<std::uint64_t>(out.total_files, next_ino_);
    return out;
  }

  Result<void> sync() override { return {}; }

  Result<FileHandle> open(std::string_view p, OpenFlags flags, std::uint32_t mode) override;

  Result<ResolvedPath> resolve(std::string_view p, Follow follow, std::string_view root) override {
    std::shared_lock lock(mu_);
    Inode* start = root_.get();
    for (const auto& name : ANYFS_TRY(path::split(root))) {
      auto it = start->children.find(name);
      if (it == start->children.end()) return fail(Errc::NotFound, std::string(root), "cannot use as a root");
      if (it->second->kind != FileKind::Directory)
        return fail(Errc::NotDir, std::string(root), "the root is not a directory");
      start = it->second.get();
    }
    Tree tree{this, start};
    auto r = ANYFS_TRY(walk_path(tree, p, follow));
    return ResolvedPath{r.canonical(), r.found};
  }

  // --- used by MemoryFile (REQUIRES: mu_ held as stated) ---
  std::shared_mutex& mutex() { return mu_; }
  Result<void> truncate_locked(Inode* node, std::uint64_t size, std::string_view p) {
    if (node->kind == FileKind::Directory) return fail(Errc::IsDir, std::string(p), "is a directory");
    if (node->kind != FileKind::Regular) return fail(Errc::InvalidArgument, std::string(p), "not a regular file");
    if (size > k_max_file_size) return fail(Errc::FileTooBig, std::string(p), "size past the largest file");
    account([&] { node->data.resize(size); }, node);
    node->touch_content();
    return {};
  }
  Result<std::uint64_t> write_locked(Inode* node, std::string_view data, std::uint64_t offset) {
    if (offset > k_max_file_size || data.size() > k_max_file_size - offset)
      return fail(Errc::FileTooBig, "", "write past the largest file");
    if (data.empty()) return offset;
    if (options_.capacity_bytes != 0 && usage_->bytes + data.size() > options_.capacity_bytes)
      return fail(Errc::NoSpace, "", "the MemoryFs capacity is used up");
    account([&] { node->data.write(data, offset); }, node);
    node->touch_content();
    return offset;
  }

 private:
  struct Tree {
    using Node = Inode*;
    MemoryFs* fs;
    Inode* start = nullptr;  // the directory that acts as "/" (null: the root)
    Node root() { return start ? start : fs->root_.get(); }
    Result<std::optional<Node>> lookup(const Node& dir, std::string_view name) {
      auto it = dir->children.find(name);
      if (it == dir->children.end()) return std::optional<Node>();
      return std::optional<Node>(it->second.get());
    }
    FileKind kind(const Node& node) { return node->kind; }
    Result<std::string> link_target(const Node& node) { return node->target; }
  };

  template <class F>
  void account(F&& change, Inode* node) {
    std::uint64_t before = node->data.allocated();
    change();
    usage_->bytes += node->data.allocated() - before;  // wraps correctly when it shrinks
  }

  std::shared_ptr<Inode> make_inode(FileKind kind, std::uint32_t mode) {
    return std::make_shared<Inode>(next_ino_++, kind, mode, usage_);
  }

  // REQUIRES: mu_ held.
  Result<Inode*> existing(std::string_view p, Follow follow) {
    auto r = ANYFS_TRY(walk_path(tree_, p, follow));
    if (!r.found) return fail(Errc::NotFound, std::string(p), "no such file or directory");
    return r.node();
  }

  // Resolves the parent of a name about to be created. REQUIRES: mu_ held.
  Result<Resolved<Inode*>> for_new_entry(std::string_view p) {
    ANYFS_CHECK(path::check_names_entry(p));
    auto r = ANYFS_TRY(walk_path(tree_, p, Follow::No));
    if (r.found) return fail(Errc::Exists, std::string(p), "already exists");
    return r;
  }

  // Unlinks `name` from `parent`. REQUIRES: mu_ held exclusively.
  void detach(Inode* parent, const std::string& name) {
    auto it = parent->children.find(name);
    std::shared_ptr<Inode> node = it->second;
    parent->children.erase(it);
    if (node->kind == FileKind::Directory) {
      node->nlink = 0;
      parent->nlink--;
    } else {
      node->nlink--;
    }
    node->ctime = wall_clock_ns();
    parent->touch_content();
  }

  Result<Stat> stat_impl(std::string_view p, Follow follow) {
    std::shared_lock lock(mu_);
    Inode* node = ANYFS_TRY(existing(p, follow));
    return node->stat();
  }

  const MemoryFsOptions options_;
  std::shared_mutex mu_;
  std::shared_ptr<Usage> usage_ = std::make_shared<Usage>();
  std::shared_ptr<Inode> root_;  // GUARDED_BY(mu_) for everything below it
  std::uint64_t next_ino_ = 1;   // GUARDED_BY(mu_)
  Tree tree_{this};
};

// True if `node` is a directory on the way to what `r` names (not the object itself).
bool is_above(const Resolved<Inode*>& r, const Inode* node) {
  std::size_t n = r.found ? r.chain.size() - 1 : r.chain.size();
  for (std::size_t i = 0; i < n; ++i)
    if (r.chain[i].second == node) return true;
  return false;
}

// The checks run in the order Linux runs them, so errors match the kernel's.
Result<void> MemoryFs::rename(std::string_view from, std::string_view to, RenameFlags flags) {
  // Both must name entries; the destination is checked first, as HostFs does.
  ANYFS_CHECK(path::check_names_entry(to));
  ANYFS_CHECK(path::check_names_entry(from));
  std::unique_lock lock(mu_);
  // Both parents are resolved before either name is looked at, as Linux does.
  auto src = ANYFS_TRY(walk_path(tree_, from, Follow::No));
  auto dst = ANYFS_TRY(walk_path(tree_, to, Follow::No));
  // Naming the root is Busy before the source is looked up, as in Linux.
  if (src.is_root() || dst.is_root()) return fail(Errc::Busy, std::string(from), "cannot rename the root");
  if (!src.found) return fail(Errc::NotFound, std::string(from), "no such file or directory");
  const bool exchange = flags == RenameFlags::Exchange;
  if (flags == RenameFlags::NoReplace && dst.found) return fail(Errc::Exists, std::string(to), "destination exists");
  if (exchange && !dst.found) return fail(Errc::NotFound, std::string(to), "exchange needs both to exist");
  Inode* node = src.node();
  if (is_above(dst, node)) return fail(Errc::InvalidArgument, std::string(to), "cannot move a directory into itself");
  if (dst.found && is_above(src, dst.node()))
    return fail(exchange ? Errc::InvalidArgument : Errc::NotEmpty, std::string(to),
                "the destination is an ancestor of the source");
  Inode* src_parent = src.parent();
  Inode* dst_parent = dst.parent();
  const std::string dst_name = dst.found ? dst.name() : dst.leaf;
  auto moved = src_parent->children.at(src.name());
  const std::int64_t now = wall_clock_ns();

  if (exchange) {
    Inode* other = dst.node();
    auto other_ptr = dst_parent->children.at(dst_name);
    src_parent->children[src.name()] = other_ptr;
    dst_parent->children[dst_name] = moved;
    if (src_parent != dst_parent) {
      int delta = (node->kind == FileKind::Directory) - (other->kind == FileKind::Directory);
      src_parent->nlink -= delta;
      dst_parent->nlink += delta;
    }
    node->ctime = other->ctime = now;
    src_parent->touch_content();
    dst_parent->touch_content();
    return {};
  }
  if (dst.found) {
    Inode* old = dst.node();
    if (old == node) return {};  // the same file: POSIX says do nothing
    if (node->kind == FileKind::Directory) {
      if (old->kind != FileKind::Directory) return fail(Errc::NotDir, std::string(to), "not a directory");
      if (!old->children.empty()) return fail(Errc::NotEmpty, std::string(to), "directory not empty");
    } else if (old->kind == FileKind::Directory) {
      return fail(Errc::IsDir, std::string(to), "is a directory");
    }
    detach(dst_parent, dst_name);
  }
  src_parent->children.erase(src.name());
  dst_parent->children[dst_name] = moved;
  if (node->kind == FileKind::Directory && src_parent != dst_parent) {
    src_parent->nlink--;
    dst_parent->nlink++;
  }
  node->ctime = now;
  src_parent->touch_content();
  dst_parent->touch_content();
  return {};
}

Result<FileHandle> MemoryFs::open(std::string_view p, OpenFlags flags, std::uint32_t mode) {
  ANYFS_CHECK(check_open_flags(p, flags));
  const bool create = has(flags, OpenFlags::Create);
  const bool exclusive = create && has(flags, OpenFlags::Exclusive);
  Follow follow = (has(flags, OpenFlags::NoFollow) || exclusive) ? Follow::No : Follow::Yes;
  std::unique_lock lock(mu_);
  auto r = ANYFS_TRY(walk_path(tree_, p, follow));
  std::shared_ptr<Inode> node;
  if (!r.found) {
    if (!create) return fail(Errc::NotFound, std::string(p), "no such file or directory");
    if (has(flags, OpenFlags::Directory)) return fail(Errc::NotFound, std::string(p), "no such directory");
    node = make_inode(FileKind::Regular, mode);
    r.parent()->children.emplace(r.leaf, node);
    r.parent()->touch_content();
  } else {
    Inode* found = r.node();
    // The checks run in the order Linux runs them, so errors match the kernel's.
    if (exclusive) return fail(Errc::Exists, std::string(p), "already exists");
    if (create && found->kind == FileKind::Directory) return fail(Errc::IsDir, std::string(p), "is a directory");
    if (has(flags, OpenFlags::Directory) && found->kind != FileKind::Directory)
      return fail(Errc::NotDir, std::string(p), "not a directory");
    if (found->kind == FileKind::Symlink) return fail(Errc::Loop, std::string(p), "is a symlink (NoFollow)");
    if (found->kind == FileKind::Directory && wants_write(flags))
      return fail(Errc::IsDir, std::string(p), "is a directory");
    if (has(flags, OpenFlags::Truncate) && found->kind == FileKind::Regular && found->data.size() != 0)
      ANYFS_CHECK(truncate_locked(found, 0, p));
    node = found->shared_from_this();
  }
  return std::make_unique<MemoryFile>(shared_from_this(), std::move(node), flags);
}

Result<void> MemoryFile::check_open() const {
  if (closed_.load(std::memory_order_relaxed)) return fail(Errc::BadHandle, "", "handle is closed");
  return {};
}

Result<void> MemoryFile::check_writable() const {
  ANYFS_CHECK(check_open());
  if (!wants_write(flags_)) return fail(Errc::BadHandle, "", "handle is not open for writing");
  return {};
}

Result<std::size_t> MemoryFile::pread(std::span<char> buf, std::uint64_t offset) {
  ANYFS_CHECK(check_open());
  if (!wants_read(flags_)) return fail(Errc::BadHandle, "", "handle is not open for reading");
  std::shared_lock lock(fs_->mutex());
  if (node_->kind == FileKind::Directory) return fail(Errc::IsDir, "", "is a directory");
  return node_->data.read(buf, offset);
}

Result<std::size_t> MemoryFile::pwrite(std::string_view data, std::uint64_t offset) {
  ANYFS_CHECK(check_writable());
  std::unique_lock lock(fs_->mutex());
  if (has(flags_, OpenFlags::Append)) offset = node_->data.size();
  ANYFS_TRY(fs_->write_locked(node_.get(), data, offset));
  return data.size();
}

Result<std::uint64_t> MemoryFile::append(std::string_view data) {
  ANYFS_CHECK(check_writable());
  std::unique_lock lock(fs_->mutex());
  return fs_->write_locked(node_.get(), data, node_->data.size());
}

Result<void> MemoryFile::truncate(std::uint64_t size) {
  ANYFS_CHECK(check_writable());
  std::unique_lock lock(fs_->mutex());
  return fs_->truncate_locked(node_.get(), size, "");
}

Result<void> MemoryFile::fsync() { return check_open(); }

Result<Stat> MemoryFile::stat() {
  ANYFS_CHECK(check_open());
  std::shared_lock lock(fs_->mutex());
  return node_->stat();
}

Result<void> MemoryFile::close() {
  closed_.store(true, std::memory_order_relaxed);
  return {};
}

}  // namespace

std::shared_ptr<Fs> make_memory_fs(MemoryFsOptions options) { return std::make_shared<MemoryFs>(options); }

}  // namespace anyfs
