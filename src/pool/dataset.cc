// Dataset: the Fs of one dataset of a pool. Paths are walked with the shared
// resolver over directory-entry rows; inode records are cached and written back
// when the transaction group commits (so creating a file in a directory updates
// the directory's row once per group, not once per file); file data written
// through handles or paths is buffered per inode and cut into chunks only when
// it is flushed (delayed allocation), so the chunker sees whole runs.
#include "pool/dataset.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "chunk/chunker.h"
#include "fs/checks.h"
#include "fs/path.h"
#include "fs/resolve.h"

namespace anyfs {
namespace {

// Cached inodes: start() drops those nothing holds once there are twice this many.
constexpr std::size_t k_cache_limit = 65536;
// Cached directory entries (about 100 bytes each).
constexpr std::size_t k_dentry_limit = 262144;

struct DentryKey {
  Ino parent;
  std::string name;
};
struct DentryView {
  Ino parent;
  std::string_view name;
};
// Looks up by (parent, string_view) without building a key string.
struct DentryHash {
  using is_transparent = void;
  std::size_t operator()(const DentryView& k) const {
    return std::hash<std::string_view>()(k.name) ^ (k.parent * 0x9e3779b97f4a7c15ull);
  }
  std::size_t operator()(const DentryKey& k) const { return (*this)(DentryView{k.parent, k.name}); }
};
struct DentryEq {
  using is_transparent = void;
  static DentryView view(const DentryKey& k) { return {k.parent, k.name}; }
  static DentryView view(const DentryView& k) { return k; }
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    return view(a).parent == view(b).parent && view(a).name == view(b).name;
  }
};

struct Node {
  InodeRecord rec;
  bool dirty = false;   // rec differs from its stored row
  bool listed = false;  // in the dataset's dirty list
  bool gone = false;    // destroyed: its rows are closed, it must not be written
  // Where its rows are read: 0 the dataset itself, above 0 an origin of a clone
  // (the inode is shared with it until the clone changes it, see own()).
  int layer = 0;
  Tid dirty_tid = 0;    // the first TID that changed it since it was written
  bool stale = false;   // a read-only opener saw another process commit
  int opens = 0;        // handles holding it
  std::map<std::uint64_t, std::string> data;  // buffered bytes by offset, not overlapping
  std::uint64_t data_bytes = 0;
  // All extents of a small file, cached; reset by every change to them.
  std::optional<std::vector<ExtentRecord>> extents;
};

// Files up to this size keep their extents cached in the inode cache.
constexpr std::uint64_t k_extent_cache_max_size = 1 << 20;

class DatasetImpl;

// What the resolver walks: an inode number and its kind (from the dirent row).
struct TreeNode {
  Ino ino;
  FileKind kind;
};

class DatasetFile final : public File {
 public:
  DatasetFile(std::shared_ptr<DatasetImpl> ds, std::shared_ptr<Node> node, OpenFlags flags, std::string path)
      : ds_(std::move(ds)), node_(std::move(node)), flags_(flags), path_(std::move(path)) {}
  ~DatasetFile() override { (void)close(); }

  Result<std::size_t> pread(std::span<char> buf, std::uint64_t offset) override;
  Result<std::size_t> pwrite(std::string_view data, std::uint64_t offset) override;
  Result<std::uint64_t> append(std::string_view data) override;
  Result<void> truncate(std::uint64_t size) override;
  Result<void> fsync() override;
  Result<Stat> stat() override;
  Result<void> close() override;

 private:
  Result<void> check_open() const {
    if (closed_) return fail(Errc::BadHandle, "", "handle is closed");
    return {};
  }
  Result<void> check_writable() const {
    ANYFS_CHECK(check_open());
    if (!wants_write(flags_)) return fail(Errc::BadHandle, "", "handle is not open for writing");
    return {};
  }

  std::shared_ptr<DatasetImpl> ds_;
  std::shared_ptr<Node> node_;
  const OpenFlags flags_;
  const std::string path_;  // as opened: names the file in the txlog
  bool closed_ = false;     // GUARDED_BY(pool lock)
};

class DatasetImpl final : public Dataset, public TxgParticipant, public std::enable_shared_from_this<DatasetImpl> {
 public:
  DatasetImpl(std::shared_ptr<PoolCore> core, DatasetId id, std::string name, DatasetSettings settings, Tid at,
              const std::vector<DatasetLayer>& origins)
      : core_(std::move(core)),
        id_(id),
        at_(at),
        name_(std::move(name)),
        settings_(settings),
        chunker_(settings.chunking) {
    layers_.push_back({id_, at_});
    layers_.insert(layers_.end(), origins.begin(), origins.end());
  }

  ~DatasetImpl() override {
    std::lock_guard lock(core_->mu);
    std::erase(core_->participants, static_cast<TxgParticipant*>(this));
  }

  void attach() { core_->participants.push_back(this); }
  void apply_settings(const DatasetSettings& s) {
    settings_ = s;
    chunker_ = Chunker(s.chunking);
  }

  const std::string& name() const override { return name_; }

  // --- Fs ---------------------------------------------------------------------

  Result<Stat> stat(std::string_view p) override { return stat_impl(p, Follow::Yes); }
  Result<Stat> lstat(std::string_view p) override { return stat_impl(p, Follow::No); }

  Result<std::vector<DirEntry>> read_dir(std::string_view p) override {
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    Node* dir = ANYFS_TRY(existing(p, Follow::Yes));
    if (dir->rec.kind != FileKind::Directory) return fail(Errc::NotDir, std::string(p), "not a directory");
    return list_node(*dir);
  }

  Result<void> mkdir(std::string_view p, std::uint32_t mode) override {
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    auto r = ANYFS_TRY(for_new_entry(p));
    Tid tid = ANYFS_TRY(op("mkdir", p));
    return core_->end_op([&]() -> Result<void> {
      Node* parent = ANYFS_TRY(load(r.parent().ino));
      // Only the permission and sticky bits, as Linux keeps (set-group-ID comes from the parent).
      ANYFS_TRY(create_in(parent, r.leaf, process_owned(FileKind::Directory, mode & 01777), tid));
      return {};
    }());
  }

  Result<void> remove(std::string_view p) override {
    ANYFS_CHECK(path::check_names_entry(p));
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    auto r = ANYFS_TRY(walk_path(tree_, p, Follow::No));
    if (!r.found) return fail(Errc::NotFound, std::string(p), "no such file or directory");
    if (r.is_root()) return fail(Errc::Busy, std::string(p), "cannot remove the root");
    Node* node = ANYFS_TRY(load(r.node().ino));
    if (node->rec.kind == FileKind::Directory &&
        ANYFS_TRY(core_->meta->has_entries(src(*node).ds, node->rec.ino, src(*node).at)))
      return fail(Errc::NotEmpty, std::string(p), "directory not empty");
    Tid tid = ANYFS_TRY(op("remove", p));
    return core_->end_op(detach(ANYFS_TRY(load(r.parent().ino)), r.name(), node, tid));
  }

  Result<void> rename(std::string_view from, std::string_view to, RenameFlags flags) override;
  Result<void> move(Ino src_dir, const std::string& src_name, Ino dst_dir, const std::string& dst_name, Ino moved,
                    std::optional<Ino> replaced, bool exchange, std::string_view to, std::string_view detail);

  Result<void> link(std::string_view existing_path, std::string_view new_path) override {
    // Both must name entries; the new name is checked first, as HostFs does.
    ANYFS_CHECK(path::check_names_entry(new_path));
    ANYFS_CHECK(path::check_names_entry(existing_path));
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    auto src = ANYFS_TRY(walk_path(tree_, existing_path, Follow::No));
    if (!src.found) return fail(Errc::NotFound, std::string(existing_path), "no such file");
    auto dst = ANYFS_TRY(for_new_entry(new_path));
    if (src.node().kind == FileKind::Directory)
      return fail(Errc::NotPermitted, std::string(existing_path), "cannot hard-link a directory");
    Tid tid = ANYFS_TRY(op("link", fmt::format("{} -> {}", new_path, existing_path)));
    return core_->end_op([&]() -> Result<void> {
      Node* node = ANYFS_TRY(load(src.node().ino));
      Node* parent = ANYFS_TRY(load(dst.parent().ino));
      return link_node(node, parent, dst.leaf, tid);
    }());
  }

  Result<void> symlink(std::string_view target, std::string_view link_path) override {
    ANYFS_CHECK(path::validate_symlink_target(target));
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    auto r = ANYFS_TRY(for_new_entry(link_path));
    Tid tid = ANYFS_TRY(op("symlink", link_path));
    return core_->end_op([&]() -> Result<void> {
      Node* parent = ANYFS_TRY(load(r.parent().ino));
      NewObject what = process_owned(FileKind::Symlink, 0777);
      what.target = std::string(target);
      ANYFS_TRY(create_in(parent, r.leaf, what, tid));
      return {};
    }());
  }

  Result<std::string> readlink(std::string_view p) override {
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    return readlink_node(*ANYFS_TRY(existing(p, Follow::No)), p);
  }

  Result<void> chmod(std::string_view p, std::uint32_t mode) override {
    return change_inode(p, "chmod", [&](InodeRecord& rec) { rec.mode = mode & 07777; });
  }

  Result<void> chown(std::string_view p, std::uint32_t uid, std::uint32_t gid) override {
    return change_inode(p, "chown", [&](InodeRecord& rec) {
      if (uid != static_cast<std::uint32_t>(-1)) rec.uid = uid;
      if (gid != static_cast<std::uint32_t>(-1)) rec.gid = gid;
    });
  }

  Result<void> utimens(std::string_view p, TimeSpec atime, TimeSpec mtime) override {
    return change_inode(p, "utimens", [&](InodeRecord& rec) {
      std::int64_t t = now();
      auto apply = [t](std::int64_t& field, TimeSpec spec) {
        if (spec.kind == TimeSpec::Kind::Set) field = spec.ns;
        if (spec.kind == TimeSpec::Kind::Now) field = t;
      };
      apply(rec.atime_ns, atime);
      apply(rec.mtime_ns, mtime);
    });
  }

  Result<void> truncate(std::string_view p, std::uint64_t size) override {
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    Node* node = ANYFS_TRY(existing(p, Follow::Yes));
    ANYFS_CHECK(check_truncate(node, size, p));
    Tid tid = ANYFS_TRY(op("truncate", p));
    return core_->end_op(truncate_node(node, size, tid));
  }

  Result<std::string> get_xattr(std::string_view p, std::string_view name) override {
    ANYFS_CHECK(check_xattr_name(p, name));
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    return xattr_node(*ANYFS_TRY(existing(p, Follow::Yes)), name, p);
  }

  Result<void> set_xattr(std::string_view p, std::string_view name, std::string_view value,
                         XattrFlags flags) override {
    ANYFS_CHECK(check_xattr_name(p, name));
    ANYFS_CHECK(check_xattr_value(p, value));
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    return set_xattr_node(ANYFS_TRY(existing(p, Follow::Yes)), name, value, flags, p);
  }

  Result<std::vector<std::string>> list_xattr(std::string_view p) override {
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    return xattr_names(*ANYFS_TRY(existing(p, Follow::Yes)));
  }

  Result<void> remove_xattr(std::string_view p, std::string_view name) override {
    ANYFS_CHECK(check_xattr_name(p, name));
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    return remove_xattr_node(ANYFS_TRY(existing(p, Follow::Yes)), name, p);
  }

  Result<StatFs> statfs() override {
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(core_->check_usable());
    struct statvfs host {};
    std::string dir = core_->path.substr(0, core_->path.find_last_of('/') + 1);
    if (::statvfs(dir.empty() ? "." : dir.c_str(), &host) != 0) return fail_errno(errno, core_->path, "statvfs");
    StatFs out;
    std::uint64_t free_bytes = static_cast<std::uint64_t>(host.f_bavail) * host.f_frsize;
    const std::uint64_t used = core_->file->size_bytes().value_or(0);
    out.total_blocks = (used + free_bytes) / out.block_size;
    out.free_blocks = out.avail_blocks = free_bytes / out.block_size;
    out.total_files = 1ull << 48;
    out.free_files = out.total_files - std::min(out.total_files, core_->counters.last_ino());
    return out;
  }

  Result<void> sync() override {
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(core_->check_usable());
    if (core_->sync_mode == SyncMode::Disabled) return {};
    return core_->commit();
  }

  Result<FileHandle> open(std::string_view p, OpenFlags flags, std::uint32_t mode) override;

  Result<ResolvedPath> resolve(std::string_view p, Follow follow, std::string_view root) override {
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    TreeNode start{k_root_ino, FileKind::Directory};
    for (const auto& name : ANYFS_TRY(path::split(root))) {
      auto e = ANYFS_TRY(lookup_entry(start.ino, name));
      if (!e) return fail(Errc::NotFound, std::string(root), "cannot use as a root");
      if (e->kind != FileKind::Directory) return fail(Errc::NotDir, std::string(root), "the root is not a directory");
      start = *e;
    }
    Tree tree{this, start};
    auto r = ANYFS_TRY(walk_path(tree, p, follow));
    return ResolvedPath{r.canonical(), r.found};
  }

  Result<void> reflink(std::string_view from, std::string_view to) override {
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    Node* src = ANYFS_TRY(existing(from, Follow::Yes));
    if (src->rec.kind != FileKind::Regular)
      return fail(Errc::InvalidArgument, std::string(from), "only regular files can be reflinked");
    auto r = ANYFS_TRY(for_new_entry(to));
    Tid tid = ANYFS_TRY(op("reflink", fmt::format("{} -> {}", to, from)));
    return core_->end_op([&]() -> Result<void> {
      ANYFS_CHECK(flush_node(*src, true));
      Node* parent = ANYFS_TRY(load(r.parent().ino));
      Node* node = ANYFS_TRY(create_in(parent, r.leaf, process_owned(FileKind::Regular, src->rec.mode), tid));
      node->rec.size = src->rec.size;
      for (auto e : ANYFS_TRY(core_->meta->extents(this->src(*src).ds, src->rec.ino, 0, k_max_file_size,
                                                  this->src(*src).at))) {
        e.ino = node->rec.ino;
        ANYFS_CHECK(core_->meta->put_extent(id_, e, tid));
      }
      return {};
    }());
  }

  // --- InodeFs ----------------------------------------------------------------------

  Result<Stat> lookup(Ino dir, std::string_view name) override {
    ANYFS_CHECK(path::validate_name(name));
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    ANYFS_TRY(dir_node(dir));
    auto e = ANYFS_TRY(lookup_entry(dir, name));
    if (!e) return fail(Errc::NotFound, std::string(name), "no such file or directory");
    return stat_node(*ANYFS_TRY(load(e->ino)));
  }

  Result<Stat> getattr(Ino ino) override {
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    return stat_node(*ANYFS_TRY(load(ino, Errc::NotFound)));
  }

  Result<Stat> parent(Ino dir) override {
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    Node* node = ANYFS_TRY(dir_node(dir));
    if (node->rec.ino == k_root_ino) return stat_node(*node);
    if (node->rec.nlink == 0) return fail(Errc::NotFound, "", "the directory was removed");
    auto up = ANYFS_TRY(up_of(dir));
    if (!up) return fail(Errc::NotFound, "", "the directory was removed");
    return stat_node(*ANYFS_TRY(load(up->parent, Errc::NotFound)));
  }

  Result<Stat> setattr(Ino ino, const AttrChange& change) override {
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    Node* node = ANYFS_TRY(load(ino, Errc::NotFound));
    const std::string what = ANYFS_TRY(path_of(*node));
    if (change.size) ANYFS_CHECK(check_truncate(node, *change.size, what));
    Tid tid = ANYFS_TRY(op("setattr", what));
    ANYFS_CHECK(core_->end_op([&]() -> Result<void> {
      ANYFS_CHECK(own(node, tid));
      if (change.size && *change.size != node->rec.size) ANYFS_CHECK(truncate_node(node, *change.size, tid));
      auto& r = node->rec;
      if (change.mode) r.mode = *change.mode & 07777;
      if (change.uid) r.uid = *change.uid;
      if (change.gid) r.gid = *change.gid;
      const std::int64_t t = now();
      for (auto [field, spec] : {std::pair{&r.atime_ns, change.atime}, std::pair{&r.mtime_ns, change.mtime}}) {
        if (spec.kind == TimeSpec::Kind::Set) *field = spec.ns;
        if (spec.kind == TimeSpec::Kind::Now) *field = t;
      }
      r.ctime_ns = change.ctime.kind == TimeSpec::Kind::Set ? change.ctime.ns : t;
      mark(node, tid);
      return {};
    }()));
    return stat_node(*node);
  }

  Result<std::vector<DirEntry>> list(Ino dir) override {
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    return list_node(*ANYFS_TRY(dir_node(dir)));
  }

  Result<Stat> make(Ino dir, std::string_view name, const NewObject& what) override {
    ANYFS_CHECK(path::validate_name(name));
    if (what.kind == FileKind::Symlink) ANYFS_CHECK(path::validate_symlink_target(what.target));
    if (what.kind == FileKind::Other) return fail(Errc::InvalidArgument, std::string(name), "unknown kind of object");
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    Node* parent = ANYFS_TRY(live_dir_node(dir));
    if (ANYFS_TRY(lookup_entry(dir, name))) return fail(Errc::Exists, std::string(name), "already exists");
    Tid tid = ANYFS_TRY(op(what.kind == FileKind::Directory ? "mkdir" : "create", ANYFS_TRY(entry_path(dir, name))));
    Node* node = nullptr;
    ANYFS_CHECK(core_->end_op([&]() -> Result<void> {
      node = ANYFS_TRY(create_in(parent, std::string(name), what, tid));
      return {};
    }()));
    return stat_node(*node);
  }

  Result<void> unlink(Ino dir, std::string_view name, bool directory) override {
    ANYFS_CHECK(path::validate_name(name));
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    Node* parent = ANYFS_TRY(dir_node(dir));
    auto e = ANYFS_TRY(lookup_entry(dir, name));
    if (!e) return fail(Errc::NotFound, std::string(name), "no such file or directory");
    Node* node = ANYFS_TRY(load(e->ino));
    const bool is_dir = node->rec.kind == FileKind::Directory;
    if (directory && !is_dir) return fail(Errc::NotDir, std::string(name), "not a directory");
    if (!directory && is_dir) return fail(Errc::IsDir, std::string(name), "is a directory");
    if (is_dir && ANYFS_TRY(core_->meta->has_entries(src(*node).ds, node->rec.ino, src(*node).at)))
      return fail(Errc::NotEmpty, std::string(name), "directory not empty");
    Tid tid = ANYFS_TRY(op("remove", ANYFS_TRY(entry_path(dir, name))));
    return core_->end_op(detach(parent, std::string(name), node, tid));
  }

  Result<void> rename(Ino from_dir, std::string_view from, Ino to_dir, std::string_view to,
                      RenameFlags flags) override {
    ANYFS_CHECK(path::validate_name(from));
    ANYFS_CHECK(path::validate_name(to));
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    ANYFS_TRY(dir_node(from_dir));
    ANYFS_TRY(live_dir_node(to_dir));
    auto moved = ANYFS_TRY(lookup_entry(from_dir, from));
    auto replaced = ANYFS_TRY(lookup_entry(to_dir, to));
    if (!moved) return fail(Errc::NotFound, std::string(from), "no such file or directory");
    const bool exchange = flags == RenameFlags::Exchange;
    if (flags == RenameFlags::NoReplace && replaced) return fail(Errc::Exists, std::string(to), "destination exists");
    if (exchange && !replaced) return fail(Errc::NotFound, std::string(to), "exchange needs both to exist");
    // A directory may not go into its own subtree, nor be replaced by (or swap
    // with) a directory that holds the source.
    if (moved->kind == FileKind::Directory && ANYFS_TRY(is_ancestor(moved->ino, to_dir)))
      return fail(Errc::InvalidArgument, std::string(to), "cannot move a directory into itself");
    if (replaced && replaced->kind == FileKind::Directory && ANYFS_TRY(is_ancestor(replaced->ino, from_dir)))
      return fail(exchange ? Errc::InvalidArgument : Errc::NotEmpty, std::string(to),
                  "the destination is an ancestor of the source");
    const std::string from_path = ANYFS_TRY(entry_path(from_dir, from));
    const std::string to_path = ANYFS_TRY(entry_path(to_dir, to));
    std::optional<Ino> replaced_ino;
    if (replaced) replaced_ino = replaced->ino;
    return move(from_dir, std::string(from), to_dir, std::string(to), moved->ino, replaced_ino, exchange, to_path,
                fmt::format("{} -> {}", from_path, to_path));
  }

  Result<Stat> link(Ino ino, Ino dir, std::string_view name) override {
    ANYFS_CHECK(path::validate_name(name));
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    Node* parent = ANYFS_TRY(live_dir_node(dir));
    Node* node = ANYFS_TRY(load(ino, Errc::NotFound));
    if (node->rec.kind == FileKind::Directory)
      return fail(Errc::NotPermitted, std::string(name), "cannot hard-link a directory");
    if (ANYFS_TRY(lookup_entry(dir, name))) return fail(Errc::Exists, std::string(name), "already exists");
    const std::string to_path = ANYFS_TRY(entry_path(dir, name));
    Tid tid = ANYFS_TRY(op("link", fmt::format("{} -> {}", to_path, ANYFS_TRY(path_of(*node)))));
    ANYFS_CHECK(core_->end_op(link_node(node, parent, std::string(name), tid)));
    return stat_node(*node);
  }

  Result<std::string> readlink(Ino ino) override {
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    return readlink_node(*ANYFS_TRY(load(ino, Errc::NotFound)), "");
  }

  Result<FileHandle> open(Ino ino, OpenFlags flags) override {
    if (has(flags, OpenFlags::Create) || has(flags, OpenFlags::Exclusive))
      return fail(Errc::InvalidArgument, "", "open by inode cannot create (use make)");
    ANYFS_CHECK(check_open_flags("", flags));
    if (historical() && (wants_write(flags) || has(flags, OpenFlags::Truncate)))
      return fail(Errc::ReadOnly, "", "a view of the past is read-only");
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    Node* node = ANYFS_TRY(load(ino, Errc::NotFound));
    const FileKind kind = node->rec.kind;
    if (has(flags, OpenFlags::Directory) && kind != FileKind::Directory)
      return fail(Errc::NotDir, "", "not a directory");
    if (kind == FileKind::Directory && wants_write(flags)) return fail(Errc::IsDir, "", "is a directory");
    if (kind != FileKind::Regular && kind != FileKind::Directory)
      return fail(Errc::InvalidArgument, "", "only files and directories are opened here");
    std::string name;
    if (wants_write(flags) || has(flags, OpenFlags::Truncate)) name = ANYFS_TRY(path_of(*node));
    if (has(flags, OpenFlags::Truncate) && kind == FileKind::Regular && node->rec.size != 0) {
      Tid tid = ANYFS_TRY(op("truncate", name));
      ANYFS_CHECK(core_->end_op(truncate_node(node, 0, tid)));
    }
    if (wants_read(flags)) (void)note_access(*node, flags);
    auto held = shared(node);
    held->opens++;
    return std::make_unique<DatasetFile>(shared_from_this(), std::move(held), flags, std::move(name));
  }

  Result<std::string> get_xattr(Ino ino, std::string_view name) override {
    ANYFS_CHECK(check_xattr_name("", name));
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    return xattr_node(*ANYFS_TRY(load(ino, Errc::NotFound)), name, "");
  }

  Result<void> set_xattr(Ino ino, std::string_view name, std::string_view value, XattrFlags flags) override {
    ANYFS_CHECK(check_xattr_name("", name));
    ANYFS_CHECK(check_xattr_value("", value));
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    Node* node = ANYFS_TRY(load(ino, Errc::NotFound));
    return set_xattr_node(node, name, value, flags, ANYFS_TRY(path_of(*node)));
  }

  Result<std::vector<std::string>> list_xattr(Ino ino) override {
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    return xattr_names(*ANYFS_TRY(load(ino, Errc::NotFound)));
  }

  Result<void> remove_xattr(Ino ino, std::string_view name) override {
    ANYFS_CHECK(check_xattr_name("", name));
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    Node* node = ANYFS_TRY(load(ino, Errc::NotFound));
    return remove_xattr_node(node, name, ANYFS_TRY(path_of(*node)));
  }

  Result<std::uint64_t> clone_range(Ino from, std::uint64_t from_offset, Ino to, std::uint64_t to_offset,
                                    std::uint64_t length) override {
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    Node* source = ANYFS_TRY(load(from, Errc::NotFound));
    Node* target = ANYFS_TRY(load(to, Errc::NotFound));
    for (Node* n : {source, target}) {
      if (n->rec.kind == FileKind::Directory) return fail(Errc::IsDir, "", "is a directory");
      if (n->rec.kind != FileKind::Regular) return fail(Errc::InvalidArgument, "", "not a regular file");
    }
    if (from_offset >= source->rec.size || length == 0) return std::uint64_t{0};
    length = std::min(length, source->rec.size - from_offset);
    if (to_offset > k_max_file_size || length > k_max_file_size - to_offset)
      return fail(Errc::FileTooBig, "", "past the largest file");
    if (source == target && from_offset < to_offset + length && to_offset < from_offset + length)
      return fail(Errc::InvalidArgument, "", "the ranges overlap");
    Tid tid = ANYFS_TRY(op("clone", fmt::format("{} -> {}", ANYFS_TRY(path_of(*target)), ANYFS_TRY(path_of(*source)))));
    ANYFS_CHECK(core_->end_op([&]() -> Result<void> {
      ANYFS_CHECK(flush_node(*source, true));
      ANYFS_CHECK(flush_node(*target, true));
      ANYFS_CHECK(own(target, tid));
      ANYFS_CHECK(punch(*target, to_offset, to_offset + length, tid));
      const DatasetLayer& layer = src(*source);
      for (const auto& e : ANYFS_TRY(core_->meta->extents(layer.ds, from, from_offset, from_offset + length, layer.at))) {
        std::uint64_t start = std::max(e.offset, from_offset);
        std::uint64_t end = std::min(e.end(), from_offset + length);
        ExtentRecord copy{to, to_offset + (start - from_offset), end - start, e.chunk, e.chunk_offset + (start - e.offset)};
        ANYFS_CHECK(core_->meta->put_extent(id_, copy, tid));
      }
      target->extents.reset();
      target->rec.size = std::max(target->rec.size, to_offset + length);
      target->rec.mtime_ns = target->rec.ctime_ns = now();
      mark(target, tid);
      return {};
    }()));
    return length;
  }

  Result<void> punch_hole(Ino ino, std::uint64_t offset, std::uint64_t length) override {
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    Node* node = ANYFS_TRY(load(ino, Errc::NotFound));
    if (node->rec.kind != FileKind::Regular) return fail(Errc::InvalidArgument, "", "not a regular file");
    std::uint64_t end = length > node->rec.size - std::min(offset, node->rec.size) ? node->rec.size : offset + length;
    if (offset >= end) return {};
    Tid tid = ANYFS_TRY(op("punch", ANYFS_TRY(path_of(*node))));
    return core_->end_op([&]() -> Result<void> {
      ANYFS_CHECK(flush_node(*node, true));
      ANYFS_CHECK(own(node, tid));
      ANYFS_CHECK(punch(*node, offset, end, tid));
      node->rec.mtime_ns = node->rec.ctime_ns = now();
      mark(node, tid);
      return {};
    }());
  }

  // --- TxgParticipant ---------------------------------------------------------------

  // Only the nodes changed since the last flush are visited: a commit costs what
  // changed, not the size of the inode cache.
  Result<void> flush_dirty(bool all) override {
    std::vector<std::shared_ptr<Node>> work;
    work.swap(dirty_);
    for (auto& node : work) node->listed = false;
    for (auto& node : work)
      if (!node->gone && node->data_bytes != 0) ANYFS_CHECK(flush_node(*node, all));
    for (auto& node : work) {
      if (node->gone || !node->dirty) continue;
      // A tail still buffered is not in any extent yet: the stored size stops
      // where it starts, so a crash never shows it as a run of zeros.
      InodeRecord rec = node->rec;
      bool clamped = !node->data.empty() && node->data.begin()->first < rec.size;
      if (clamped) rec.size = node->data.begin()->first;
      ANYFS_CHECK(core_->meta->put_inode(id_, rec, core_->stamp(node->dirty_tid)));
      node->dirty = clamped;
      if (!clamped) node->dirty_tid = 0;
      if (clamped) list(node);
    }
    // The cache is trimmed in start(), between calls, never here: a commit can
    // run inside a call (sync=always, the dirty limit), which still holds
    // nodes it made or loaded.
    return {};
  }

  void forget_cache() override {
    dentries_.clear();
    up_.clear();
    for (auto& node : dirty_) node->listed = false;
    dirty_.clear();
    std::erase_if(nodes_, [](const auto& kv) { return kv.second->opens == 0; });
    for (auto& [ino, node] : nodes_) {
      node->stale = true;
      node->dirty = false;
      node->data.clear();
      node->data_bytes = 0;
    }
  }

  void retire() {
    retired_ = true;
    forget_cache();
  }

  bool in_use() const {
    for (const auto& [ino, node] : nodes_)
      if (node->opens > 0) return true;
    return false;
  }

  // --- used by DatasetFile (REQUIRES: core_->mu held) -----------------------------------

  PoolCore& core() { return *core_; }

  Result<void> refresh(Node& node) {
    if (!node.stale) return {};
    auto rec = ANYFS_TRY(core_->meta->inode(src(node).ds, node.rec.ino, src(node).at));
    if (rec) node.rec = std::move(*rec);
    node.extents.reset();
    node.stale = false;
    return {};
  }

  // The node's extents overlapping [from, to): from the cache for small files.
  Result<std::vector<ExtentRecord>> extents_of(Node& node, std::uint64_t from, std::uint64_t to) {
    const DatasetLayer& from_layer = src(node);
    if (node.rec.size > k_extent_cache_max_size)
      return core_->meta->extents(from_layer.ds, node.rec.ino, from, to, from_layer.at);
    if (!node.extents)
      node.extents = ANYFS_TRY(core_->meta->extents(from_layer.ds, node.rec.ino, 0, k_max_file_size, from_layer.at));
    std::vector<ExtentRecord> out;
    for (const auto& e : *node.extents)
      if (e.offset < to && e.end() > from) out.push_back(e);
    return out;
  }

  Result<std::size_t> read_node(Node& node, std::span<char> buf, std::uint64_t offset) {
    if (!core_->read_only) return read_node_now(node, buf, offset);
    // Another process writes the pool: the extents and the chunks they name
    // are read in one snapshot (PoolCore::begin_snapshot).
    if (ANYFS_TRY(core_->begin_snapshot())) {
      node.stale = true;
      node.extents.reset();
    }
    auto read = read_node_now(node, buf, offset);
    core_->end_snapshot();
    return read;
  }

  Result<std::size_t> read_node_now(Node& node, std::span<char> buf, std::uint64_t offset) {
    ANYFS_CHECK(refresh(node));
    const std::uint64_t size = node.rec.size;
    if (offset >= size || buf.empty()) return std::size_t{0};
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - offset));
    const std::uint64_t end = offset + n;
    std::uint64_t filled = offset;  // bytes before this are written; holes get zeros
    for (const auto& e : ANYFS_TRY(extents_of(node, offset, end))) {
      // A read that takes a whole chunk (streaming) does not need it cached.
      bool whole = e.chunk_offset == 0 && e.offset >= offset && e.end() <= end;
      std::uint64_t from = std::max(offset, e.offset);
      std::uint64_t to = std::min(end, e.end());
      if (from > filled) std::memset(buf.data() + (filled - offset), 0, from - filled);
      filled = to;
      if (whole && !core_->chunk_cache.get(e.chunk)) {
        // Decoded straight into the caller's buffer: no allocation, no copy.
        std::span<char> out(buf.data() + (from - offset), to - from);
        if (ANYFS_TRY(load_chunk_into(*core_->chunks, e.chunk, out, settings_.verify_reads))) continue;
      }
      auto data = ANYFS_TRY(chunk(e.chunk, !whole));
      std::uint64_t in_chunk = e.chunk_offset + (from - e.offset);
      if (in_chunk + (to - from) > data->size())
        return fail(Errc::Corrupt, "", fmt::format("extent of inode {} runs past chunk {}", node.rec.ino,
                                                   to_hex(e.chunk)));
      std::memcpy(buf.data() + (from - offset), data->data() + in_chunk, to - from);
    }
    if (end > filled) std::memset(buf.data() + (filled - offset), 0, end - filled);
    // Buffered bytes are newer than any extent.
    auto it = node.data.upper_bound(offset);
    if (it != node.data.begin()) --it;
    for (; it != node.data.end() && it->first < end; ++it) {
      std::uint64_t from = std::max(offset, it->first);
      std::uint64_t to = std::min(end, it->first + it->second.size());
      if (from < to) std::memcpy(buf.data() + (from - offset), it->second.data() + (from - it->first), to - from);
    }
    return n;
  }

  Result<std::uint64_t> write_node(Node& node, std::string_view data, std::uint64_t offset, Tid tid,
                                   bool times = true) {
    if (offset > k_max_file_size || data.size() > k_max_file_size - offset)
      return fail(Errc::FileTooBig, "", "write past the largest file");
    if (data.empty()) return offset;
    ANYFS_CHECK(own(&node, tid));
    buffer(node, data, offset);
    node.rec.size = std::max(node.rec.size, offset + data.size());
    if (times) node.rec.mtime_ns = node.rec.ctime_ns = now();
    mark(&node, tid);
    return offset;
  }

  Result<void> check_truncate(Node* node, std::uint64_t size, std::string_view p) {
    if (node->rec.kind == FileKind::Directory) return fail(Errc::IsDir, std::string(p), "is a directory");
    if (node->rec.kind != FileKind::Regular) return fail(Errc::InvalidArgument, std::string(p), "not a regular file");
    if (size > k_max_file_size) return fail(Errc::FileTooBig, std::string(p), "size past the largest file");
    return {};
  }

  Result<void> truncate_node(Node* node, std::uint64_t size, Tid tid) {
    ANYFS_CHECK(own(node, tid));
    if (size < node->rec.size) {
      // Buffered bytes past the new end go; so do extents.
      auto it = node->data.lower_bound(size);
      if (it != node->data.begin()) {
        auto prev = std::prev(it);
        if (prev->first + prev->second.size() > size) {
          std::uint64_t keep = size - prev->first;
          node->data_bytes -= prev->second.size() - keep;
          prev->second.resize(keep);
        }
      }
      for (auto drop = it; drop != node->data.end(); ++drop) node->data_bytes -= drop->second.size();
      node->data.erase(it, node->data.end());
      ANYFS_CHECK(punch(*node, size, k_max_file_size, tid));
    }
    node->rec.size = size;
    node->rec.mtime_ns = node->rec.ctime_ns = now();
    mark(node, tid);
    return {};
  }

  Result<Stat> stat_node(Node& node) {
    ANYFS_CHECK(refresh(node));
    Stat st;
    const auto& r = node.rec;
    st.kind = r.kind;
    st.mode = r.mode;
    st.uid = r.uid;
    st.gid = r.gid;
    st.nlink = r.nlink;
    st.ino = r.ino;
    st.size = r.size;
    st.atime_ns = r.atime_ns;
    st.mtime_ns = r.mtime_ns;
    st.ctime_ns = r.ctime_ns;
    st.btime_ns = r.btime_ns;
    st.rdev = r.rdev;
    if (r.kind == FileKind::Regular) {
      std::uint64_t bytes = node.data_bytes;
      for (const auto& e : ANYFS_TRY(extents_of(node, 0, k_max_file_size))) bytes += e.length;
      st.blocks = (bytes + 511) / 512;
    }
    return st;
  }

  // `node` is being read through a handle opened with `flags`: its access
  // time moves as the atime property says (relatime: only while it is not
  // newer than the last change, or once it is a day old — Linux's default),
  // never in a view of the past, a read-only pool or for NoAtime. A failure
  // here does not fail the read (the pool reports itself on the next change).
  Result<void> note_access(Node& node, OpenFlags flags) {
    using Atime = DatasetSettings::Atime;
    // In a clone, a file it has not changed keeps its origin's access time:
    // moving it would copy all the file's records into the clone.
    if (settings_.atime == Atime::Off || has(flags, OpenFlags::NoAtime) || core_->read_only || historical() ||
        node.gone || node.layer != 0)
      return {};
    const std::int64_t t = now();
    const auto& r = node.rec;
    constexpr std::int64_t k_day_ns = 86'400'000'000'000;
    if (settings_.atime == Atime::Relatime && r.atime_ns > r.mtime_ns && r.atime_ns > r.ctime_ns &&
        t - r.atime_ns < k_day_ns)
      return {};
    if (r.atime_ns == t) return {};
    // One log entry for a run of them (a read pass over a tree moves many).
    Tid tid = ANYFS_TRY(op("access", "access times"));
    return core_->end_op([&]() -> Result<void> {
      ANYFS_CHECK(own(&node, tid));
      node.rec.atime_ns = t;
      mark(&node, tid);
      return {};
    }());
  }

  // A handle let go of `node`; the last one of an unlinked file removes it.
  Result<void> release(const std::shared_ptr<Node>& node) {
    node->opens--;
    if (node->opens > 0 || node->rec.nlink > 0 || core_->read_only || historical()) return {};
    Tid tid = ANYFS_TRY(op("release", fmt::format("inode {}", node->rec.ino)));
    return core_->end_op(destroy(*node, tid));
  }

  // Starts a mutating operation. Errors: ReadOnly for a view of the past.
  Result<Tid> op(std::string_view name, std::string_view detail) {
    if (at_ != k_tid_live) return fail(Errc::ReadOnly, std::string(detail), "a view of the past is read-only");
    return core_->begin_op(id_, name, detail);
  }
  bool historical() const { return at_ != k_tid_live; }

  // Writes the buffered bytes of `node` as chunks and extents. Unless `all`, the
  // last piece of a run that ends at the end of the file stays buffered: more
  // may follow, and the chunker should see it whole.
  Result<void> flush_node(Node& node, bool all) {
    if (node.data.empty()) return {};
    Tid tid = core_->txg_tid();
    std::map<std::uint64_t, std::string> keep;
    for (auto& [start, bytes] : node.data) {
      std::string_view rest(bytes);
      std::uint64_t at = start;
      std::vector<std::pair<std::uint64_t, std::string_view>> pieces;
      while (!rest.empty()) {
        std::size_t n = chunker_.cut(rest);
        pieces.emplace_back(at, rest.substr(0, n));
        rest.remove_prefix(n);
        at += n;
      }
      if (!all && node.opens > 0 && start + bytes.size() >= node.rec.size &&
          pieces.back().second.size() < settings_.chunking.max_size) {
        keep.emplace(pieces.back().first, std::string(pieces.back().second));
        pieces.pop_back();
      }
      if (pieces.empty()) continue;
      std::uint64_t run_end = pieces.back().first + pieces.back().second.size();
      ANYFS_CHECK(punch(node, start, run_end, tid));
      // Hashing and compression run on the workers, a few pieces ahead of this
      // thread, which stores each piece in order as it becomes ready.
      const CompressionSpec spec = settings_.compression;
      // The workers read `bytes` out of node.data: on every way out of this
      // loop (errors included) they must have finished first.
      struct Pending {
        std::deque<std::future<PreparedChunk>> futures;
        ~Pending() {
          for (auto& f : futures) f.wait();
        }
      } pending;
      auto& ahead = pending.futures;
      std::size_t next = 0;
      const std::size_t window = 4 * core_->workers.size() + 2;
      for (const auto& [offset, piece] : pieces) {
        while (next < pieces.size() && ahead.size() < window) {
          std::string_view bytes = pieces[next++].second;
          ahead.push_back(core_->workers.submit([spec, bytes] { return prepare_chunk(spec, bytes); }));
        }
        PreparedChunk prepared = ahead.front().get();
        ahead.pop_front();
        ANYFS_TRY(store_prepared(*core_->chunks, prepared));
        core_->counters.wrote(prepared.chunk.stored.size());
        node.extents.reset();
        ExtentRecord e{node.rec.ino, offset, piece.size(), prepared.id, 0};
        ANYFS_CHECK(core_->meta->put_extent(id_, e, tid));
      }
    }
    std::uint64_t kept = 0;
    for (auto& [start, bytes] : keep) kept += bytes.size();
    core_->counters.unbuffered(node.data_bytes - kept);
    node.data = std::move(keep);
    node.data_bytes = kept;
    return {};
  }

 private:
  friend class DatasetFile;

  struct Tree {
    using Node = TreeNode;
    DatasetImpl* ds;
    TreeNode start{k_root_ino, FileKind::Directory};
    TreeNode root() { return start; }
    Result<std::optional<TreeNode>> lookup(const TreeNode& dir, std::string_view name) {
      return ds->lookup_entry(dir.ino, name);
    }
    FileKind kind(const TreeNode& node) { return node.kind; }
    Result<std::string> link_target(const TreeNode& node) {
      auto* n = ANYFS_TRY(ds->load(node.ino));
      return n->rec.target;
    }
  };

  static std::int64_t now() { return wall_clock_ns(); }

  // Every call begins here: the pool must be usable (and a read-only opener
  // notices other processes' commits), and the inode cache is kept bounded —
  // trimmed between calls, never during one, so no Node* a call holds goes away.
  Result<void> start() {
    if (retired_)
      return fail(Errc::BadHandle, name_, "the dataset was destroyed or renamed; open it again");
    ANYFS_CHECK(core_->begin_read());
    if (nodes_.size() > 2 * k_cache_limit)
      std::erase_if(nodes_, [](const auto& kv) { return kv.second->opens == 0 && !kv.second->dirty; });
    return {};
  }

  // Directory entries, through a cache of (parent, name) → child that every
  // change below keeps true. REQUIRES: mu held.
  Result<std::optional<TreeNode>> lookup_entry(Ino parent, std::string_view name) {
    if (auto it = dentries_.find(DentryView{parent, name}); it != dentries_.end())
      return std::optional<TreeNode>(it->second);
    Node* dir = ANYFS_TRY(load(parent));
    auto e = ANYFS_TRY(core_->meta->lookup(src(*dir).ds, parent, name, src(*dir).at));
    if (!e) return std::optional<TreeNode>();
    if (dentries_.size() >= k_dentry_limit) dentries_.clear();
    TreeNode node{e->ino, e->kind};
    dentries_.emplace(DentryKey{parent, std::string(name)}, node);
    if (node.kind == FileKind::Directory) remember_up(node.ino, parent, name);
    return std::optional<TreeNode>(node);
  }
  Result<void> put_entry(const DirentRecord& e, Tid tid) {
    ANYFS_CHECK(core_->meta->put_dirent(id_, e, tid));
    dentries_.insert_or_assign(DentryKey{e.parent, e.name}, TreeNode{e.ino, e.kind});
    if (e.kind == FileKind::Directory) remember_up(e.ino, e.parent, e.name);
    return {};
  }
  Result<void> drop_entry(Ino parent, const std::string& name, Tid tid) {
    if (auto it = dentries_.find(DentryView{parent, name}); it != dentries_.end()) dentries_.erase(it);
    return core_->meta->drop_dirent(id_, parent, name, tid);
  }

  // The cached node of `ino`, loaded on first use. REQUIRES: mu held.
  Result<Node*> load(Ino ino, Errc missing = Errc::Corrupt) {
    auto it = nodes_.find(ino);
    if (it != nodes_.end()) {
      ANYFS_CHECK(refresh(*it->second));
      return it->second.get();
    }
    // A clone's inode is its own once it has a row; until then it is its origin's.
    std::optional<InodeRecord> rec;
    int layer = 0;
    for (; layer < static_cast<int>(layers_.size()) && !rec; ++layer)
      rec = ANYFS_TRY(core_->meta->inode(layers_[layer].ds, ino, layers_[layer].at));
    if (!rec && missing == Errc::NotFound) return fail(missing, "", fmt::format("inode {} does not exist", ino));
    if (!rec) return fail(Errc::Corrupt, "", fmt::format("inode {} of dataset '{}' is missing", ino, name_));
    // Damaged pages can answer a lookup with another key's row: the cache is
    // keyed by the number asked for, and must agree with the record.
    if (rec->ino != ino)
      return fail(Errc::Corrupt, "", fmt::format("inode {} of dataset '{}' reads back as inode {}", ino, name_, rec->ino));
    auto node = std::make_shared<Node>();
    node->rec = std::move(*rec);
    node->layer = layer - 1;
    Node* raw = node.get();
    nodes_.emplace(ino, std::move(node));
    return raw;
  }

  std::shared_ptr<Node> shared(Node* node) { return nodes_.at(node->rec.ino); }

  const DatasetLayer& src(const Node& node) const { return layers_[static_cast<std::size_t>(node.layer)]; }

  // Before a clone changes an inode it shares with its origin, the inode's rows
  // (extents, xattrs, a directory's entries) become its own, as of the origin's
  // snapshot; the inode row itself is written when the group commits. Extents
  // take a chunk reference each; no data is copied.
  Result<void> own(Node* node, Tid tid) {
    if (node->layer == 0) return {};
    const DatasetLayer from = src(*node);
    Ino ino = node->rec.ino;
    for (const auto& e : ANYFS_TRY(core_->meta->extents(from.ds, ino, 0, k_max_file_size, from.at)))
      ANYFS_CHECK(core_->meta->put_extent(id_, e, tid));
    for (const auto& [name, value] : ANYFS_TRY(core_->meta->xattrs(from.ds, ino, from.at)))
      ANYFS_CHECK(core_->meta->put_xattr(id_, ino, name, value, tid));
    if (node->rec.kind == FileKind::Directory)
      for (const auto& e : ANYFS_TRY(core_->meta->list_dir(from.ds, ino, from.at)))
        ANYFS_CHECK(core_->meta->put_dirent(id_, e, tid));
    node->layer = 0;
    mark(node, tid);
    return {};
  }

 public:
  // Makes every inode the clone can reach its own (promote), then forgets the
  // origin. REQUIRES: core_->mu held, inside an operation `tid`.
  Result<std::uint64_t> own_everything(Tid tid) {
    std::uint64_t copied = 0;
    std::vector<Ino> todo{k_root_ino};
    std::unordered_set<Ino> seen{k_root_ino};
    while (!todo.empty()) {
      Node* node = ANYFS_TRY(load(todo.back()));
      todo.pop_back();
      if (node->layer != 0) ++copied;
      ANYFS_CHECK(own(node, tid));
      if (node->rec.kind != FileKind::Directory) continue;
      for (const auto& e : ANYFS_TRY(core_->meta->list_dir(id_, node->rec.ino)))
        if (seen.insert(e.ino).second) todo.push_back(e.ino);
    }
    layers_.resize(1);
    return copied;
  }

 private:

  void mark(Node* node, Tid tid) {
    if (!node->dirty) node->dirty_tid = tid;
    node->dirty = true;
    // A node no longer in the cache (dropped while a handle held it after a
    // read-only opener saw a change) is not written back, as before.
    if (node->listed) return;
    if (auto it = nodes_.find(node->rec.ino); it != nodes_.end() && it->second.get() == node) list(it->second);
  }

  void list(const std::shared_ptr<Node>& node) {
    node->listed = true;
    dirty_.push_back(node);
  }

  Node* new_node(FileKind kind, std::uint32_t mode, Tid tid) {
    auto node = std::make_shared<Node>();
    auto& r = node->rec;
    r.ino = core_->counters.next_ino();
    r.kind = kind;
    r.mode = mode & 07777;
    r.nlink = kind == FileKind::Directory ? 2 : 1;
    r.atime_ns = r.mtime_ns = r.ctime_ns = r.btime_ns = now();
    r.generation = 1;
    Node* raw = node.get();
    nodes_.emplace(r.ino, std::move(node));
    mark(raw, tid);
    return raw;
  }

  // --- the work of one call, on nodes (shared by path and inode calls) -----------

  Result<std::vector<DirEntry>> list_node(Node& dir) {
    std::vector<DirEntry> out;
    for (auto& e : ANYFS_TRY(core_->meta->list_dir(src(dir).ds, dir.rec.ino, src(dir).at)))
      out.push_back({e.name, e.kind, e.ino});
    return out;
  }

  Result<void> link_node(Node* node, Node* parent, const std::string& name, Tid tid) {
    ANYFS_CHECK(own(node, tid));
    node->rec.nlink++;
    node->rec.ctime_ns = now();
    mark(node, tid);
    return add_entry(parent, name, node, tid);
  }

  static Result<std::string> readlink_node(const Node& node, std::string_view p) {
    if (node.rec.kind != FileKind::Symlink) return fail(Errc::InvalidArgument, std::string(p), "not a symlink");
    return node.rec.target;
  }

  Result<std::string> xattr_node(Node& node, std::string_view name, std::string_view p) {
    auto value = ANYFS_TRY(core_->meta->xattr(src(node).ds, node.rec.ino, name, src(node).at));
    if (!value) return fail(Errc::NoData, std::string(p), "no such attribute");
    return *value;
  }

  Result<std::vector<std::string>> xattr_names(Node& node) {
    std::vector<std::string> out;
    for (auto& [name, value] : ANYFS_TRY(core_->meta->xattrs(src(node).ds, node.rec.ino, src(node).at)))
      out.push_back(name);
    return out;
  }

  Result<void> set_xattr_node(Node* node, std::string_view name, std::string_view value, XattrFlags flags,
                              std::string_view p) {
    auto present = ANYFS_TRY(core_->meta->xattr(src(*node).ds, node->rec.ino, name, src(*node).at)).has_value();
    if (flags == XattrFlags::Create && present) return fail(Errc::Exists, std::string(p), "attribute exists");
    if (flags == XattrFlags::Replace && !present) return fail(Errc::NoData, std::string(p), "no such attribute");
    Tid tid = ANYFS_TRY(op("set_xattr", p));
    return core_->end_op([&]() -> Result<void> {
      ANYFS_CHECK(own(node, tid));
      ANYFS_CHECK(core_->meta->put_xattr(id_, node->rec.ino, name, value, tid));
      node->rec.ctime_ns = now();
      mark(node, tid);
      return {};
    }());
  }

  Result<void> remove_xattr_node(Node* node, std::string_view name, std::string_view p) {
    if (!ANYFS_TRY(core_->meta->xattr(src(*node).ds, node->rec.ino, name, src(*node).at)))
      return fail(Errc::NoData, std::string(p), "no such attribute");
    Tid tid = ANYFS_TRY(op("remove_xattr", p));
    return core_->end_op([&]() -> Result<void> {
      ANYFS_CHECK(own(node, tid));
      ANYFS_CHECK(core_->meta->drop_xattr(id_, node->rec.ino, name, tid));
      node->rec.ctime_ns = now();
      mark(node, tid);
      return {};
    }());
  }

  static NewObject process_owned(FileKind kind, std::uint32_t mode) {
    return {kind, mode, static_cast<std::uint32_t>(::geteuid()), static_cast<std::uint32_t>(::getegid()), 0, {}};
  }

  // A new object `name` in `parent`, owned as `what` says; a set-group-ID
  // directory passes on its group (and, to a directory, the bit itself).
  Result<Node*> create_in(Node* parent, const std::string& name, const NewObject& what, Tid tid) {
    Node* node = new_node(what.kind, what.mode, tid);
    auto& r = node->rec;
    r.uid = what.uid;
    r.gid = what.gid;
    if (parent->rec.mode & S_ISGID) {
      r.gid = parent->rec.gid;
      if (what.kind == FileKind::Directory) r.mode |= S_ISGID;
    }
    r.rdev = what.rdev;
    if (what.kind == FileKind::Symlink) {
      r.target = what.target;
      r.size = what.target.size();
    }
    ANYFS_CHECK(add_entry(parent, name, node, tid));
    if (what.kind == FileKind::Directory) parent->rec.nlink++;
    return node;
  }

  Result<void> add_entry(Node* parent, const std::string& name, Node* node, Tid tid) {
    ANYFS_CHECK(own(parent, tid));
    ANYFS_CHECK(put_entry({parent->rec.ino, name, node->rec.ino, node->rec.kind}, tid));
    parent->rec.size++;
    parent->rec.mtime_ns = parent->rec.ctime_ns = now();
    mark(parent, tid);
    return {};
  }

  // Unlinks `name` (naming `node`) from `parent`.
  Result<void> detach(Node* parent, const std::string& name, Node* node, Tid tid) {
    ANYFS_CHECK(own(parent, tid));
    ANYFS_CHECK(own(node, tid));
    ANYFS_CHECK(drop_entry(parent->rec.ino, name, tid));
    parent->rec.size--;
    parent->rec.mtime_ns = parent->rec.ctime_ns = now();
    mark(parent, tid);
    if (node->rec.kind == FileKind::Directory) {
      node->rec.nlink = 0;
      parent->rec.nlink--;
    } else {
      node->rec.nlink--;
    }
    node->rec.ctime_ns = now();
    mark(node, tid);
    if (node->rec.nlink == 0 && node->opens == 0) return destroy(*node, tid);
    return {};
  }

  // Removes an inode with no names and no handles, with its data.
  Result<void> destroy(Node& node, Tid tid) {
    Ino ino = node.rec.ino;
    core_->counters.unbuffered(node.data_bytes);
    ANYFS_CHECK(core_->meta->drop_inode(id_, ino, tid));
    node.gone = true;
    nodes_.erase(ino);
    return {};
  }

  // Adds `data` at `offset` to the node's buffer, merging with the ranges it
  // touches.
  void buffer(Node& node, std::string_view data, std::uint64_t offset) {
    std::uint64_t end = offset + data.size();
    auto& ranges = node.data;
    std::uint64_t before = node.data_bytes;
    auto it = ranges.upper_bound(offset);
    if (it != ranges.begin()) {
      auto prev = std::prev(it);
      std::uint64_t prev_end = prev->first + prev->second.size();
      if (prev_end >= offset) {
        // Common cases in place: an append to the run, or an overwrite inside it.
        bool touches_next = it != ranges.end() && it->first <= end;
        if (!touches_next && end > prev_end) {
          prev->second.resize(offset - prev->first);
          prev->second.append(data);
          node.data_bytes += end - prev_end;
          core_->counters.buffered(node.data_bytes - before);
          return;
        }
        if (end <= prev_end) {
          std::memcpy(prev->second.data() + (offset - prev->first), data.data(), data.size());
          return;
        }
        it = prev;
      }
    }
    std::uint64_t start = offset;
    std::string merged(data);
    while (it != ranges.end() && it->first <= end) {
      std::uint64_t r_start = it->first;
      std::uint64_t r_end = r_start + it->second.size();
      if (r_start < start) {
        merged.insert(0, it->second, 0, start - r_start);
        start = r_start;
      }
      if (r_end > end) {
        merged.append(it->second, end - r_start, std::string::npos);
        end = r_end;
      }
      node.data_bytes -= it->second.size();
      it = ranges.erase(it);
    }
    node.data_bytes += merged.size();
    ranges.emplace(start, std::move(merged));
    core_->counters.buffered(node.data_bytes - before);
  }

  // Removes [from, to) from the node's extents, keeping the parts of extents
  // that stick out (they still reference their chunk: copy-on-write split).
  Result<void> punch(Node& node, std::uint64_t from, std::uint64_t to, Tid tid) {
    node.extents.reset();
    for (const auto& e : ANYFS_TRY(core_->meta->extents(id_, node.rec.ino, from, to))) {
      ANYFS_CHECK(core_->meta->drop_extent(id_, node.rec.ino, e.offset, tid));
      if (e.offset < from) {
        ExtentRecord left = e;
        left.length = from - e.offset;
        ANYFS_CHECK(core_->meta->put_extent(id_, left, tid));
      }
      if (e.end() > to) {
        ExtentRecord right = e;
        right.offset = to;
        right.length = e.end() - to;
        right.chunk_offset = e.chunk_offset + (to - e.offset);
        ANYFS_CHECK(core_->meta->put_extent(id_, right, tid));
      }
    }
    return {};
  }

  Result<std::shared_ptr<const std::string>> chunk(const ChunkId& id, bool keep) {
    if (auto hit = core_->chunk_cache.get(id)) return hit;
    auto raw = ANYFS_TRY(load_chunk(*core_->chunks, id, settings_.verify_reads));
    auto data = std::make_shared<const std::string>(std::move(raw));
    if (keep) core_->chunk_cache.put(id, data);
    return data;
  }

  // --- names of inodes (for inode calls) ----------------------------------------------

  Result<Node*> dir_node(Ino ino) {
    Node* node = ANYFS_TRY(load(ino, Errc::NotFound));
    if (node->rec.kind != FileKind::Directory) return fail(Errc::NotDir, "", "not a directory");
    return node;
  }

  // A directory a new name goes into: one that was removed while a handle
  // held it takes none (NotFound, as on Linux).
  Result<Node*> live_dir_node(Ino ino) {
    Node* node = ANYFS_TRY(dir_node(ino));
    if (node->rec.nlink == 0) return fail(Errc::NotFound, "", "the directory was removed");
    return node;
  }

  void remember_up(Ino dir, Ino parent, std::string_view name) {
    if (up_.size() >= k_dentry_limit) up_.clear();
    up_.insert_or_assign(dir, DentryKey{parent, std::string(name)});
  }

  // Where directory `dir` hangs: from the cache, else from the rows naming it
  // (the dataset's own, then a clone's origins). nullopt: it has no name.
  Result<std::optional<DentryKey>> up_of(Ino dir) {
    if (auto it = up_.find(dir); it != up_.end()) return std::optional<DentryKey>(it->second);
    for (const auto& layer : layers_) {
      auto names = ANYFS_TRY(core_->history->names_of(layer.ds, dir, layer.at));
      if (names.empty()) continue;
      remember_up(dir, names[0].parent, names[0].name);
      return std::optional<DentryKey>(DentryKey{names[0].parent, names[0].name});
    }
    return std::optional<DentryKey>();
  }

  // The directories from `dir` up to the root, `dir` first.
  Result<std::vector<DentryKey>> chain_of(Ino dir) {
    std::vector<DentryKey> chain;
    for (Ino at = dir; at != k_root_ino;) {
      auto up = ANYFS_TRY(up_of(at));
      if (!up) return fail(Errc::NotFound, "", fmt::format("directory {} has been removed", dir));
      at = up->parent;
      chain.push_back(std::move(*up));
      if (chain.size() > k_max_path_length) return fail(Errc::Corrupt, "", fmt::format("directory {} is in a loop", dir));
    }
    return chain;
  }

  // True if directory `ancestor` is `dir` or above it.
  Result<bool> is_ancestor(Ino ancestor, Ino dir) {
    if (ancestor == dir) return true;
    for (const auto& up : ANYFS_TRY(chain_of(dir)))
      if (up.parent == ancestor) return true;
    return false;
  }

  Result<std::string> entry_path(Ino dir, std::string_view name) {
    std::string out;
    auto chain = ANYFS_TRY(chain_of(dir));
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) out += "/" + it->name;
    return out + "/" + std::string(name);
  }

  // A path naming `node` for the txlog ("inode N" once it has no name).
  Result<std::string> path_of(Node& node) {
    if (node.rec.ino == k_root_ino) return std::string("/");
    if (node.rec.kind == FileKind::Directory) {
      if (auto up = ANYFS_TRY(up_of(node.rec.ino))) return entry_path(up->parent, up->name);
    } else {
      for (const auto& layer : layers_) {
        auto names = ANYFS_TRY(core_->history->names_of(layer.ds, node.rec.ino, layer.at));
        if (!names.empty()) return entry_path(names[0].parent, names[0].name);
      }
    }
    return fmt::format("inode {}", node.rec.ino);
  }

  // REQUIRES: mu held.
  Result<Node*> existing(std::string_view p, Follow follow) {
    auto r = ANYFS_TRY(walk_path(tree_, p, follow));
    if (!r.found) return fail(Errc::NotFound, std::string(p), "no such file or directory");
    return load(r.node().ino);
  }

  Result<Resolved<TreeNode>> for_new_entry(std::string_view p) {
    ANYFS_CHECK(path::check_names_entry(p));
    auto r = ANYFS_TRY(walk_path(tree_, p, Follow::No));
    if (r.found) return fail(Errc::Exists, std::string(p), "already exists");
    return r;
  }

  Result<Stat> stat_impl(std::string_view p, Follow follow) {
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    Node* node = ANYFS_TRY(existing(p, follow));
    return stat_node(*node);
  }

  template <class F>
  Result<void> change_inode(std::string_view p, std::string_view what, F&& change) {
    std::lock_guard lock(core_->mu);
    ANYFS_CHECK(start());
    Node* node = ANYFS_TRY(existing(p, Follow::Yes));
    Tid tid = ANYFS_TRY(op(what, p));
    if (auto owned = own(node, tid); !owned) return core_->end_op(owned);
    change(node->rec);
    node->rec.ctime_ns = now();
    mark(node, tid);
    return core_->end_op({});
  }

  std::shared_ptr<PoolCore> core_;
  const DatasetId id_;
  const Tid at_;  // k_tid_live, or the TID of a read-only view of the past
  bool retired_ = false;  // GUARDED_BY(core_->mu)
  const std::string name_;
  DatasetSettings settings_;
  Chunker chunker_;
  std::unordered_map<Ino, std::shared_ptr<Node>> nodes_;  // GUARDED_BY(core_->mu)
  std::vector<std::shared_ptr<Node>> dirty_;              // changed since the last flush; GUARDED_BY(core_->mu)
  // Where rows are read: [0] this dataset (at at_), then a clone's origins.
  std::vector<DatasetLayer> layers_;
  std::unordered_map<DentryKey, TreeNode, DentryHash, DentryEq> dentries_;  // GUARDED_BY(core_->mu)
  // Directory → (its parent, its name), as far as known: names inode-level
  // changes in the txlog and finds a directory's ancestors. GUARDED_BY(core_->mu)
  std::unordered_map<Ino, DentryKey> up_;
  Tree tree_{this};
};

// True if `ino` is a directory on the way to what `r` names (not the object itself).
bool is_above(const Resolved<TreeNode>& r, Ino ino) {
  std::size_t n = r.found ? r.chain.size() - 1 : r.chain.size();
  for (std::size_t i = 0; i < n; ++i)
    if (r.chain[i].second.ino == ino) return true;
  return false;
}


// The checks run in the order Linux runs them, so errors match the kernel's.
Result<void> DatasetImpl::rename(std::string_view from, std::string_view to, RenameFlags flags) {
  // Both must name entries; the destination is checked first, as HostFs does.
  ANYFS_CHECK(path::check_names_entry(to));
  ANYFS_CHECK(path::check_names_entry(from));
  std::lock_guard lock(core_->mu);
  ANYFS_CHECK(start());
  // Both parents are resolved before either name is looked at, as Linux does.
  auto src = ANYFS_TRY(walk_path(tree_, from, Follow::No));
  auto dst = ANYFS_TRY(walk_path(tree_, to, Follow::No));
  // Naming the root is Busy before the source is looked up, as in Linux.
  if (src.is_root() || dst.is_root()) return fail(Errc::Busy, std::string(from), "cannot rename the root");
  if (!src.found) return fail(Errc::NotFound, std::string(from), "no such file or directory");
  const bool exchange = flags == RenameFlags::Exchange;
  if (flags == RenameFlags::NoReplace && dst.found) return fail(Errc::Exists, std::string(to), "destination exists");
  if (exchange && !dst.found) return fail(Errc::NotFound, std::string(to), "exchange needs both to exist");
  const Ino moved = src.node().ino;
  if (is_above(dst, moved)) return fail(Errc::InvalidArgument, std::string(to), "cannot move a directory into itself");
  if (dst.found && is_above(src, dst.node().ino))
    return fail(exchange ? Errc::InvalidArgument : Errc::NotEmpty, std::string(to),
                "the destination is an ancestor of the source");
  std::optional<Ino> replaced;
  if (dst.found) replaced = dst.node().ino;
  return move(src.parent().ino, src.name(), dst.parent().ino, dst.found ? dst.name() : dst.leaf, moved, replaced,
              exchange, to, fmt::format("{} -> {}", from, to));
}

// The rest of a rename, once both names are known and the tree checks passed.
Result<void> DatasetImpl::move(Ino src_dir, const std::string& src_name, Ino dst_dir, const std::string& dst_name,
                               Ino moved, std::optional<Ino> replaced, bool exchange, std::string_view to,
                               std::string_view detail) {
  Node* node = ANYFS_TRY(load(moved));
  Node* old = replaced ? ANYFS_TRY(load(*replaced)) : nullptr;
  if (old != nullptr && !exchange) {
    if (old == node) return {};  // the same file: POSIX says do nothing
    if (node->rec.kind == FileKind::Directory) {
      if (old->rec.kind != FileKind::Directory) return fail(Errc::NotDir, std::string(to), "not a directory");
      if (ANYFS_TRY(core_->meta->has_entries(id_, old->rec.ino)))
        return fail(Errc::NotEmpty, std::string(to), "directory not empty");
    } else if (old->rec.kind == FileKind::Directory) {
      return fail(Errc::IsDir, std::string(to), "is a directory");
    }
  }
  Tid tid = ANYFS_TRY(op(exchange ? "exchange" : "rename", detail));
  return core_->end_op([&]() -> Result<void> {
    Node* src_parent = ANYFS_TRY(load(src_dir));
    Node* dst_parent = ANYFS_TRY(load(dst_dir));
    for (Node* n : {src_parent, dst_parent, node, old})
      if (n != nullptr) ANYFS_CHECK(own(n, tid));
    const std::int64_t t = now();
    auto touch = [&](Node* n) {
      n->rec.mtime_ns = n->rec.ctime_ns = t;
      mark(n, tid);
    };
    if (exchange) {
      ANYFS_CHECK(put_entry({src_parent->rec.ino, src_name, old->rec.ino, old->rec.kind}, tid));
      ANYFS_CHECK(put_entry({dst_parent->rec.ino, dst_name, node->rec.ino, node->rec.kind}, tid));
      if (src_parent != dst_parent) {
        int delta = (node->rec.kind == FileKind::Directory) - (old->rec.kind == FileKind::Directory);
        src_parent->rec.nlink -= delta;
        dst_parent->rec.nlink += delta;
      }
      node->rec.ctime_ns = old->rec.ctime_ns = t;
      mark(node, tid);
      mark(old, tid);
      touch(src_parent);
      touch(dst_parent);
      return {};
    }
    if (old != nullptr) ANYFS_CHECK(detach(dst_parent, dst_name, old, tid));
    ANYFS_CHECK(drop_entry(src_parent->rec.ino, src_name, tid));
    src_parent->rec.size--;
    ANYFS_CHECK(put_entry({dst_parent->rec.ino, dst_name, node->rec.ino, node->rec.kind}, tid));
    dst_parent->rec.size++;
    if (node->rec.kind == FileKind::Directory && src_parent != dst_parent) {
      src_parent->rec.nlink--;
      dst_parent->rec.nlink++;
    }
    node->rec.ctime_ns = t;
    mark(node, tid);
    touch(src_parent);
    touch(dst_parent);
    return {};
  }());
}

Result<FileHandle> DatasetImpl::open(std::string_view p, OpenFlags flags, std::uint32_t mode) {
  ANYFS_CHECK(check_open_flags(p, flags));
  const bool create = has(flags, OpenFlags::Create);
  const bool exclusive = create && has(flags, OpenFlags::Exclusive);
  Follow follow = (has(flags, OpenFlags::NoFollow) || exclusive) ? Follow::No : Follow::Yes;
  if (historical() && (create || wants_write(flags) || has(flags, OpenFlags::Truncate)))
    return fail(Errc::ReadOnly, std::string(p), "a view of the past is read-only");
  std::lock_guard lock(core_->mu);
  ANYFS_CHECK(start());
  auto r = ANYFS_TRY(walk_path(tree_, p, follow));
  Node* node = nullptr;
  if (!r.found) {
    if (!create) return fail(Errc::NotFound, std::string(p), "no such file or directory");
    if (has(flags, OpenFlags::Directory)) return fail(Errc::NotFound, std::string(p), "no such directory");
    Tid tid = ANYFS_TRY(op("create", p));
    ANYFS_CHECK(core_->end_op([&]() -> Result<void> {
      Node* parent = ANYFS_TRY(load(r.parent().ino));
      node = ANYFS_TRY(create_in(parent, r.leaf, process_owned(FileKind::Regular, mode), tid));
      return {};
    }()));
  } else {
    Node* found = ANYFS_TRY(load(r.node().ino));
    const FileKind kind = found->rec.kind;
    // The checks run in the order Linux runs them, so errors match the kernel's.
    if (exclusive) return fail(Errc::Exists, std::string(p), "already exists");
    if (create && kind == FileKind::Directory) return fail(Errc::IsDir, std::string(p), "is a directory");
    if (has(flags, OpenFlags::Directory) && kind != FileKind::Directory)
      return fail(Errc::NotDir, std::string(p), "not a directory");
    if (kind == FileKind::Symlink) return fail(Errc::Loop, std::string(p), "is a symlink (NoFollow)");
    if (kind == FileKind::Directory && wants_write(flags)) return fail(Errc::IsDir, std::string(p), "is a directory");
    if (has(flags, OpenFlags::Truncate) && kind == FileKind::Regular && found->rec.size != 0) {
      Tid tid = ANYFS_TRY(op("truncate", p));
      ANYFS_CHECK(core_->end_op(truncate_node(found, 0, tid)));
    }
    node = found;
  }
  if (wants_read(flags)) (void)note_access(*node, flags);
  auto held = shared(node);
  held->opens++;
  return std::make_unique<DatasetFile>(shared_from_this(), std::move(held), flags, std::string(p));
}

Result<std::size_t> DatasetFile::pread(std::span<char> buf, std::uint64_t offset) {
  ANYFS_CHECK(check_open());
  if (!wants_read(flags_)) return fail(Errc::BadHandle, "", "handle is not open for reading");
  std::lock_guard lock(ds_->core().mu);
  ANYFS_CHECK(ds_->core().begin_read());
  if (node_->rec.kind == FileKind::Directory) return fail(Errc::IsDir, "", "is a directory");
  auto n = ds_->read_node(*node_, buf, offset);
  if (n) (void)ds_->note_access(*node_, flags_);
  return n;
}

Result<std::size_t> DatasetFile::pwrite(std::string_view data, std::uint64_t offset) {
  ANYFS_CHECK(check_writable());
  std::lock_guard lock(ds_->core().mu);
  ANYFS_CHECK(ds_->core().check_usable());
  if (has(flags_, OpenFlags::Append)) offset = node_->rec.size;
  if (data.empty()) return std::size_t{0};
  ANYFS_CHECK(ds_->core().admit_data(data.size()));
  Tid tid = ANYFS_TRY(ds_->op("write", path_));
  auto written = ds_->write_node(*node_, data, offset, tid, !has(flags_, OpenFlags::CallerTimes));
  if (!written) return std::unexpected(written.error());
  ANYFS_CHECK(ds_->core().end_op({}));
  return data.size();
}

Result<std::uint64_t> DatasetFile::append(std::string_view data) {
  ANYFS_CHECK(check_writable());
  std::lock_guard lock(ds_->core().mu);
  ANYFS_CHECK(ds_->core().check_usable());
  std::uint64_t at = node_->rec.size;
  if (data.empty()) return at;
  ANYFS_CHECK(ds_->core().admit_data(data.size()));
  Tid tid = ANYFS_TRY(ds_->op("write", path_));
  auto written = ds_->write_node(*node_, data, at, tid, !has(flags_, OpenFlags::CallerTimes));
  if (!written) return std::unexpected(written.error());
  ANYFS_CHECK(ds_->core().end_op({}));
  return at;
}

Result<void> DatasetFile::truncate(std::uint64_t size) {
  ANYFS_CHECK(check_writable());
  std::lock_guard lock(ds_->core().mu);
  ANYFS_CHECK(ds_->core().check_usable());
  ANYFS_CHECK(ds_->check_truncate(node_.get(), size, ""));
  Tid tid = ANYFS_TRY(ds_->op("truncate", path_));
  return ds_->core().end_op(ds_->truncate_node(node_.get(), size, tid));
}

Result<void> DatasetFile::fsync() {
  ANYFS_CHECK(check_open());
  std::lock_guard lock(ds_->core().mu);
  ANYFS_CHECK(ds_->core().check_usable());
  if (ds_->core().read_only || ds_->core().sync_mode == SyncMode::Disabled) return {};
  return ds_->core().commit();
}

Result<Stat> DatasetFile::stat() {
  ANYFS_CHECK(check_open());
  std::lock_guard lock(ds_->core().mu);
  ANYFS_CHECK(ds_->core().begin_read());
  return ds_->stat_node(*node_);
}

Result<void> DatasetFile::close() {
  std::lock_guard lock(ds_->core().mu);
  if (closed_) return {};
  closed_ = true;
  if (ds_->core().check_usable()) return ds_->release(node_);
  node_->opens--;
  return {};
}

}  // namespace

Result<std::shared_ptr<Dataset>> open_dataset(std::shared_ptr<PoolCore> core, DatasetId id, std::string name,
                                              const DatasetSettings& settings, Tid at,
                                              const std::vector<DatasetLayer>& origins) {
  auto ds = std::make_shared<DatasetImpl>(std::move(core), id, std::move(name), settings, at, origins);
  ds->attach();
  return std::static_pointer_cast<Dataset>(ds);
}

void update_dataset_settings(Dataset& dataset, const DatasetSettings& settings) {
  static_cast<DatasetImpl&>(dataset).apply_settings(settings);
}

Result<std::uint64_t> own_everything(Dataset& clone, Tid tid) {
  return static_cast<DatasetImpl&>(clone).own_everything(tid);
}

bool dataset_in_use(Dataset& dataset) { return static_cast<DatasetImpl&>(dataset).in_use(); }

void forget_dataset_cache(Dataset& dataset) { static_cast<DatasetImpl&>(dataset).forget_cache(); }

void retire_dataset(Dataset& dataset) { static_cast<DatasetImpl&>(dataset).retire(); }

}  // namespace anyfs
