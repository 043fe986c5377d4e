// The front of a dataset (pool/dataset_impl.h): each call checks its
// arguments, takes the pool lock, resolves what it names and hands the work to
// the operation both the path and the inode call share. Paths are walked with
// the shared resolver over the node cache's directory entries.
#include "pool/dataset.h"

#include <sys/statvfs.h>

#include <fmt/format.h>

#include <algorithm>

#include "fs/checks.h"
#include "fs/path.h"
#include "pool/dataset_impl.h"
#include "util/clock.h"

namespace anyfs {

DatasetImpl::DatasetImpl(std::shared_ptr<PoolCore> core, DatasetId id, std::string name, DatasetSettings settings,
                         Tid at, const std::vector<DatasetLayer>& origins)
    : core_(std::move(core)),
      id_(id),
      at_(at),
      name_(std::move(name)),
      settings_(settings),
      nodes_(*core_, id, name_, [&] {
        std::vector<DatasetLayer> layers{{id, at}};
        layers.insert(layers.end(), origins.begin(), origins.end());
        return layers;
      }()),
      data_(*core_, nodes_, id, settings_) {
  read_only_ = settings.read_only;
}

DatasetImpl::~DatasetImpl() {
  PoolLock lock(core_->mu);
  std::erase(core_->participants, static_cast<TxgParticipant*>(this));
}

void DatasetImpl::attach() { core_->participants.push_back(this); }

void DatasetImpl::apply_settings(const DatasetSettings& s) {
  settings_ = s;
  read_only_ = s.read_only;
  data_.set_chunking(s.chunking);
}

void DatasetImpl::retire() {
  retired_ = true;
  forget_cache();
}

// --- the front's helpers --------------------------------------------------------

Result<void> DatasetImpl::start() {
  if (retired_) return fail(Errc::BadHandle, name_, "the dataset was destroyed or renamed; open it again");
  ANYFS_CHECK(core_->begin_read());
  // Not beside a flush: the call that flushes holds nodes it walked to.
  if (!core_->mu.gate_closed()) nodes_.trim();
  return {};
}

Result<Tid> DatasetImpl::op(std::string_view name, std::string_view detail) {
  if (const char* why = refuses_changes()) return fail(Errc::ReadOnly, std::string(detail), why);
  return core_->begin_op(id_, name, detail);
}

Result<Resolved<TreeNode>> DatasetImpl::walk(std::string_view p, Follow follow) {
  return walk_path(tree_, p, follow);
}

Result<Node*> DatasetImpl::existing(std::string_view p, Follow follow) {
  auto r = ANYFS_TRY(walk(p, follow));
  if (!r.found) return fail(Errc::NotFound, std::string(p), "no such file or directory");
  return nodes_.load(r.node().ino);
}

Result<Resolved<TreeNode>> DatasetImpl::for_new_entry(std::string_view p) {
  ANYFS_CHECK(path::check_names_entry(p));
  auto r = ANYFS_TRY(walk(p, Follow::No));
  if (r.found) return fail(Errc::Exists, std::string(p), "already exists");
  return r;
}

Result<Node*> DatasetImpl::dir_node(Ino ino) {
  Node* node = ANYFS_TRY(nodes_.load(ino, Errc::NotFound));
  if (node->rec.kind != FileKind::Directory) return fail(Errc::NotDir, "", "not a directory");
  return node;
}

Result<Node*> DatasetImpl::live_dir_node(Ino ino) {
  Node* node = ANYFS_TRY(dir_node(ino));
  if (node->rec.nlink == 0) return fail(Errc::NotFound, "", "the directory was removed");
  return node;
}

Result<Stat> DatasetImpl::stat_path(std::string_view p, Follow follow) {
  PoolLock lock(core_->mu, Flushes::Overlap);
  ANYFS_CHECK(start());
  return stat_node(*ANYFS_TRY(existing(p, follow)));
}

// --- Fs --------------------------------------------------------------------------

Result<Stat> DatasetImpl::stat(std::string_view p) { return stat_path(p, Follow::Yes); }
Result<Stat> DatasetImpl::lstat(std::string_view p) { return stat_path(p, Follow::No); }

Result<std::vector<DirEntry>> DatasetImpl::read_dir(std::string_view p) {
  PoolLock lock(core_->mu, Flushes::Overlap);
  ANYFS_CHECK(start());
  Node* dir = ANYFS_TRY(existing(p, Follow::Yes));
  if (dir->rec.kind != FileKind::Directory) return fail(Errc::NotDir, std::string(p), "not a directory");
  return list_node(*dir);
}

Result<void> DatasetImpl::mkdir(std::string_view p, std::uint32_t mode) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(start());
  auto r = ANYFS_TRY(for_new_entry(p));
  Node* parent = ANYFS_TRY(nodes_.load(r.parent().ino));
  // Only the permission and sticky bits, as Linux keeps (set-group-ID comes from the parent).
  ANYFS_TRY(make_at(parent, r.leaf, process_owned(FileKind::Directory, mode & 01777), p));
  return {};
}

Result<void> DatasetImpl::symlink(std::string_view target, std::string_view link_path) {
  ANYFS_CHECK(path::validate_symlink_target(target));
  PoolLock lock(core_->mu);
  ANYFS_CHECK(start());
  auto r = ANYFS_TRY(for_new_entry(link_path));
  Node* parent = ANYFS_TRY(nodes_.load(r.parent().ino));
  NewObject what = process_owned(FileKind::Symlink, 0777);
  what.target = std::string(target);
  ANYFS_TRY(make_at(parent, r.leaf, what, link_path));
  return {};
}

Result<void> DatasetImpl::remove(std::string_view p) {
  ANYFS_CHECK(path::check_names_entry(p));
  PoolLock lock(core_->mu);
  ANYFS_CHECK(start());
  auto r = ANYFS_TRY(walk(p, Follow::No));
  if (!r.found) return fail(Errc::NotFound, std::string(p), "no such file or directory");
  if (r.is_root()) return fail(Errc::Busy, std::string(p), "cannot remove the root");
  return remove_at(ANYFS_TRY(nodes_.load(r.parent().ino)), r.name(), std::nullopt, p);
}

Result<void> DatasetImpl::rename(std::string_view from, std::string_view to, RenameFlags flags) {
  // Both must name entries; the destination is checked first, as HostFs does.
  ANYFS_CHECK(path::check_names_entry(to));
  ANYFS_CHECK(path::check_names_entry(from));
  PoolLock lock(core_->mu);
  ANYFS_CHECK(start());
  // Both parents are resolved before either name is looked at, as Linux does.
  auto src = ANYFS_TRY(walk(from, Follow::No));
  auto dst = ANYFS_TRY(walk(to, Follow::No));
  // Naming the root is Busy before the source is looked up, as in Linux.
  if (src.is_root() || dst.is_root()) return fail(Errc::Busy, std::string(from), "cannot rename the root");
  if (!src.found) return fail(Errc::NotFound, std::string(from), "no such file or directory");
  return rename_at(src.parent().ino, src.name(), dst.parent().ino, dst.found ? dst.name() : dst.leaf, flags, from,
                   to);
}

Result<void> DatasetImpl::link(std::string_view existing_path, std::string_view new_path) {
  // Both must name entries; the new name is checked first, as HostFs does.
  ANYFS_CHECK(path::check_names_entry(new_path));
  ANYFS_CHECK(path::check_names_entry(existing_path));
  PoolLock lock(core_->mu);
  ANYFS_CHECK(start());
  auto src = ANYFS_TRY(walk(existing_path, Follow::No));
  if (!src.found) return fail(Errc::NotFound, std::string(existing_path), "no such file");
  auto dst = ANYFS_TRY(for_new_entry(new_path));
  Node* node = ANYFS_TRY(nodes_.load(src.node().ino));
  return link_at(node, ANYFS_TRY(nodes_.load(dst.parent().ino)), dst.leaf, new_path, existing_path);
}

Result<std::string> DatasetImpl::readlink(std::string_view p) {
  PoolLock lock(core_->mu, Flushes::Overlap);
  ANYFS_CHECK(start());
  return readlink_node(*ANYFS_TRY(existing(p, Follow::No)), p);
}

Result<void> DatasetImpl::chmod(std::string_view p, std::uint32_t mode) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(start());
  return change_attrs(ANYFS_TRY(existing(p, Follow::Yes)), {.mode = mode}, "chmod", p);
}

Result<void> DatasetImpl::chown(std::string_view p, std::uint32_t uid, std::uint32_t gid) {
  AttrChange change;
  if (uid != static_cast<std::uint32_t>(-1)) change.uid = uid;
  if (gid != static_cast<std::uint32_t>(-1)) change.gid = gid;
  PoolLock lock(core_->mu);
  ANYFS_CHECK(start());
  return change_attrs(ANYFS_TRY(existing(p, Follow::Yes)), change, "chown", p);
}

Result<void> DatasetImpl::utimens(std::string_view p, TimeSpec atime, TimeSpec mtime) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(start());
  return change_attrs(ANYFS_TRY(existing(p, Follow::Yes)), {.atime = atime, .mtime = mtime}, "utimens", p);
}

Result<void> DatasetImpl::truncate(std::string_view p, std::uint64_t size) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(start());
  Node* node = ANYFS_TRY(existing(p, Follow::Yes));
  ANYFS_CHECK(check_truncate(node, size, p));
  Tid tid = ANYFS_TRY(op("truncate", p));
  return core_->end_op(truncate_node(node, size, tid));
}

Result<std::string> DatasetImpl::get_xattr(std::string_view p, std::string_view name) {
  ANYFS_CHECK(check_xattr_name(p, name));
  PoolLock lock(core_->mu, Flushes::Overlap);
  ANYFS_CHECK(start());
  return xattr_node(*ANYFS_TRY(existing(p, Follow::Yes)), name, p);
}

Result<void> DatasetImpl::set_xattr(std::string_view p, std::string_view name, std::string_view value,
                                    XattrFlags flags) {
  ANYFS_CHECK(check_xattr_name(p, name));
  ANYFS_CHECK(check_xattr_value(p, value));
  PoolLock lock(core_->mu);
  ANYFS_CHECK(start());
  return set_xattr_node(ANYFS_TRY(existing(p, Follow::Yes)), name, value, flags, p);
}

Result<std::vector<std::string>> DatasetImpl::list_xattr(std::string_view p) {
  PoolLock lock(core_->mu, Flushes::Overlap);
  ANYFS_CHECK(start());
  return xattr_names(*ANYFS_TRY(existing(p, Follow::Yes)));
}

Result<void> DatasetImpl::remove_xattr(std::string_view p, std::string_view name) {
  ANYFS_CHECK(check_xattr_name(p, name));
  PoolLock lock(core_->mu);
  ANYFS_CHECK(start());
  return remove_xattr_node(ANYFS_TRY(existing(p, Follow::Yes)), name, p);
}

Result<StatFs> DatasetImpl::statfs() {
  PoolLock lock(core_->mu, Flushes::Overlap);
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

Result<void> DatasetImpl::sync() {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(core_->check_usable());
  if (core_->sync_mode == SyncMode::Disabled) return {};
  return core_->commit();
}

Result<FileHandle> DatasetImpl::open(std::string_view p, OpenFlags flags, std::uint32_t mode) {
  ANYFS_CHECK(check_open_flags(p, flags));
  const bool create = has(flags, OpenFlags::Create);
  const bool exclusive = create && has(flags, OpenFlags::Exclusive);
  Follow follow = (has(flags, OpenFlags::NoFollow) || exclusive) ? Follow::No : Follow::Yes;
  if (const char* why = refuses_changes(); why && (create || wants_write(flags) || has(flags, OpenFlags::Truncate)))
    return fail(Errc::ReadOnly, std::string(p), why);
  // An open that neither creates nor truncates changes nothing but counts:
  // from the caches alone under the lock held shared, else beside a flush.
  const bool changes = create || has(flags, OpenFlags::Truncate);
  if (!changes) {
    PoolSharedLock shared(core_->mu);
    if (auto handle = open_cached(p, flags, follow)) return std::move(*handle);
  }
  PoolLock lock(core_->mu, changes ? Flushes::Wait : Flushes::Overlap);
  ANYFS_CHECK(start());
  auto r = ANYFS_TRY(walk(p, follow));
  if (!r.found) {
    if (!create) return fail(Errc::NotFound, std::string(p), "no such file or directory");
    if (has(flags, OpenFlags::Directory)) return fail(Errc::NotFound, std::string(p), "no such directory");
    Node* parent = ANYFS_TRY(nodes_.load(r.parent().ino));
    Node* node = ANYFS_TRY(make_at(parent, r.leaf, process_owned(FileKind::Regular, mode), p));
    return open_node(node, flags, std::string(p));  // new and empty: nothing to truncate
  }
  Node* node = ANYFS_TRY(nodes_.load(r.node().ino));
  const FileKind kind = node->rec.kind;
  // The checks run in the order Linux runs them, so errors match the kernel's.
  if (exclusive) return fail(Errc::Exists, std::string(p), "already exists");
  if (create && kind == FileKind::Directory) return fail(Errc::IsDir, std::string(p), "is a directory");
  if (has(flags, OpenFlags::Directory) && kind != FileKind::Directory)
    return fail(Errc::NotDir, std::string(p), "not a directory");
  if (kind == FileKind::Symlink) return fail(Errc::Loop, std::string(p), "is a symlink (NoFollow)");
  if (kind == FileKind::Directory && wants_write(flags)) return fail(Errc::IsDir, std::string(p), "is a directory");
  return open_node(node, flags, std::string(p));
}

bool DatasetImpl::shared_reads_ok() const {
  return !retired_ && !core_->read_only && !core_->closed && !core_->poisoned;
}

std::optional<FileHandle> DatasetImpl::open_cached(std::string_view p, OpenFlags flags, Follow follow) {
  if (!shared_reads_ok()) return std::nullopt;
  CachedTree tree{this, tree_.start};
  auto r = walk_path(tree, p, follow);
  if (!r || !r->found) return std::nullopt;  // a miss, or an answer the exclusive path gives in full
  Node* node = nodes_.cached(r->node().ino);
  if (node == nullptr) return std::nullopt;
  const FileKind kind = node->rec.kind;
  if ((has(flags, OpenFlags::Directory) && kind != FileKind::Directory) || kind == FileKind::Symlink ||
      (kind == FileKind::Directory && wants_write(flags)) || has(flags, OpenFlags::Exclusive))
    return std::nullopt;
  return hand_out(node, flags, std::string(p));
}

std::optional<FileHandle> DatasetImpl::hand_out(Node* node, OpenFlags flags, std::string path) {
  if (wants_read(flags) && moves_atime(*node, flags, wall_clock_ns())) return std::nullopt;
  auto held = nodes_.shared(node);
  held->opens++;
  return std::make_unique<DatasetFile>(shared_from_this(), std::move(held), flags, std::move(path));
}

std::optional<FileHandle> DatasetImpl::open_cached(Ino ino, OpenFlags flags) {
  // A handle that changes the file names it in the txlog: finding the name
  // may load directories.
  if (!shared_reads_ok() || wants_write(flags)) return std::nullopt;
  Node* node = nodes_.cached(ino);
  if (node == nullptr) return std::nullopt;
  const FileKind kind = node->rec.kind;
  if ((has(flags, OpenFlags::Directory) && kind != FileKind::Directory) ||
      (kind != FileKind::Regular && kind != FileKind::Directory))
    return std::nullopt;
  return hand_out(node, flags, "");
}

std::optional<Stat> DatasetImpl::lookup_cached(Ino dir, std::string_view name) const {
  if (!shared_reads_ok()) return std::nullopt;
  const Node* parent = nodes_.cached(dir);
  if (parent == nullptr || parent->rec.kind != FileKind::Directory) return std::nullopt;
  auto e = nodes_.cached_entry(dir, name);
  if (!e) return std::nullopt;
  return stat_cached(e->ino);
}

std::optional<Stat> DatasetImpl::stat_cached(Ino ino) const {
  const Node* node = nodes_.cached(ino);
  if (node == nullptr) return std::nullopt;
  return stat_cached(*node);
}

Result<ResolvedPath> DatasetImpl::resolve(std::string_view p, Follow follow, std::string_view root) {
  PoolLock lock(core_->mu, Flushes::Overlap);
  ANYFS_CHECK(start());
  TreeNode top{k_root_ino, FileKind::Directory};
  for (const auto& name : ANYFS_TRY(path::split(root))) {
    auto e = ANYFS_TRY(nodes_.lookup(top.ino, name));
    if (!e) return fail(Errc::NotFound, std::string(root), "cannot use as a root");
    if (e->kind != FileKind::Directory) return fail(Errc::NotDir, std::string(root), "the root is not a directory");
    top = *e;
  }
  Tree tree{this, top};
  auto r = ANYFS_TRY(walk_path(tree, p, follow));
  return ResolvedPath{r.canonical(), r.found};
}

// --- InodeFs ---------------------------------------------------------------------

Result<Stat> DatasetImpl::lookup(Ino dir, std::string_view name) {
  ANYFS_CHECK(path::validate_name(name));
  {
    PoolSharedLock shared(core_->mu);
    if (auto st = lookup_cached(dir, name)) return *st;
  }
  PoolLock lock(core_->mu, Flushes::Overlap);
  ANYFS_CHECK(start());
  ANYFS_TRY(dir_node(dir));
  auto e = ANYFS_TRY(nodes_.lookup(dir, name));
  if (!e) return fail(Errc::NotFound, std::string(name), "no such file or directory");
  return stat_node(*ANYFS_TRY(nodes_.load(e->ino)));
}

Result<Stat> DatasetImpl::getattr(Ino ino) {
  {
    PoolSharedLock shared(core_->mu);
    if (shared_reads_ok())
      if (auto st = stat_cached(ino)) return *st;
  }
  PoolLock lock(core_->mu, Flushes::Overlap);
  ANYFS_CHECK(start());
  return stat_node(*ANYFS_TRY(nodes_.load(ino, Errc::NotFound)));
}

Result<Stat> DatasetImpl::parent(Ino dir) {
  PoolLock lock(core_->mu, Flushes::Overlap);
  ANYFS_CHECK(start());
  Node* node = ANYFS_TRY(dir_node(dir));
  if (node->rec.ino == k_root_ino) return stat_node(*node);
  if (node->rec.nlink == 0) return fail(Errc::NotFound, "", "the directory was removed");
  auto up = ANYFS_TRY(nodes_.up_of(dir));
  if (!up) return fail(Errc::NotFound, "", "the directory was removed");
  return stat_node(*ANYFS_TRY(nodes_.load(up->parent, Errc::NotFound)));
}

Result<Stat> DatasetImpl::setattr(Ino ino, const AttrChange& change) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(start());
  Node* node = ANYFS_TRY(nodes_.load(ino, Errc::NotFound));
  ANYFS_CHECK(change_attrs(node, change, "setattr", ANYFS_TRY(nodes_.path_of(*node))));
  return stat_node(*node);
}

Result<std::vector<DirEntry>> DatasetImpl::list(Ino dir) {
  PoolLock lock(core_->mu, Flushes::Overlap);
  ANYFS_CHECK(start());
  return list_node(*ANYFS_TRY(dir_node(dir)));
}

Result<Stat> DatasetImpl::make(Ino dir, std::string_view name, const NewObject& what) {
  ANYFS_CHECK(path::validate_name(name));
  if (what.kind == FileKind::Symlink) ANYFS_CHECK(path::validate_symlink_target(what.target));
  if (what.kind == FileKind::Other) return fail(Errc::InvalidArgument, std::string(name), "unknown kind of object");
  PoolLock lock(core_->mu);
  ANYFS_CHECK(start());
  Node* parent = ANYFS_TRY(live_dir_node(dir));
  if (ANYFS_TRY(nodes_.lookup(dir, name))) return fail(Errc::Exists, std::string(name), "already exists");
  const std::string p = ANYFS_TRY(nodes_.entry_path(dir, name));
  return stat_node(*ANYFS_TRY(make_at(parent, std::string(name), what, p)));
}

Result<void> DatasetImpl::unlink(Ino dir, std::string_view name, bool directory) {
  ANYFS_CHECK(path::validate_name(name));
  PoolLock lock(core_->mu);
  ANYFS_CHECK(start());
  Node* parent = ANYFS_TRY(dir_node(dir));
  // The path is made only once the name is known to be there.
  if (!ANYFS_TRY(nodes_.lookup(dir, name))) return fail(Errc::NotFound, std::string(name), "no such file or directory");
  return remove_at(parent, std::string(name), directory, ANYFS_TRY(nodes_.entry_path(dir, name)));
}

Result<void> DatasetImpl::rename(Ino from_dir, std::string_view from, Ino to_dir, std::string_view to,
                                 RenameFlags flags) {
  ANYFS_CHECK(path::validate_name(from));
  ANYFS_CHECK(path::validate_name(to));
  PoolLock lock(core_->mu);
  ANYFS_CHECK(start());
  ANYFS_TRY(dir_node(from_dir));
  ANYFS_TRY(live_dir_node(to_dir));
  if (!ANYFS_TRY(nodes_.lookup(from_dir, from)))
    return fail(Errc::NotFound, std::string(from), "no such file or directory");
  return rename_at(from_dir, std::string(from), to_dir, std::string(to), flags,
                   ANYFS_TRY(nodes_.entry_path(from_dir, from)), ANYFS_TRY(nodes_.entry_path(to_dir, to)));
}

Result<Stat> DatasetImpl::link(Ino ino, Ino dir, std::string_view name) {
  ANYFS_CHECK(path::validate_name(name));
  PoolLock lock(core_->mu);
  ANYFS_CHECK(start());
  Node* parent = ANYFS_TRY(live_dir_node(dir));
  Node* node = ANYFS_TRY(nodes_.load(ino, Errc::NotFound));
  const std::string to_path = ANYFS_TRY(nodes_.entry_path(dir, name));
  ANYFS_CHECK(link_at(node, parent, std::string(name), to_path, ANYFS_TRY(nodes_.path_of(*node))));
  return stat_node(*node);
}

Result<std::string> DatasetImpl::readlink(Ino ino) {
  PoolLock lock(core_->mu, Flushes::Overlap);
  ANYFS_CHECK(start());
  return readlink_node(*ANYFS_TRY(nodes_.load(ino, Errc::NotFound)), "");
}

Result<FileHandle> DatasetImpl::open(Ino ino, OpenFlags flags) {
  if (has(flags, OpenFlags::Create) || has(flags, OpenFlags::Exclusive))
    return fail(Errc::InvalidArgument, "", "open by inode cannot create (use make)");
  ANYFS_CHECK(check_open_flags("", flags));
  if (const char* why = refuses_changes(); why && (wants_write(flags) || has(flags, OpenFlags::Truncate)))
    return fail(Errc::ReadOnly, "", why);
  if (!has(flags, OpenFlags::Truncate)) {
    PoolSharedLock shared(core_->mu);
    if (auto handle = open_cached(ino, flags)) return std::move(*handle);
  }
  PoolLock lock(core_->mu, has(flags, OpenFlags::Truncate) ? Flushes::Wait : Flushes::Overlap);
  ANYFS_CHECK(start());
  Node* node = ANYFS_TRY(nodes_.load(ino, Errc::NotFound));
  const FileKind kind = node->rec.kind;
  if (has(flags, OpenFlags::Directory) && kind != FileKind::Directory) return fail(Errc::NotDir, "", "not a directory");
  if (kind == FileKind::Directory && wants_write(flags)) return fail(Errc::IsDir, "", "is a directory");
  if (kind != FileKind::Regular && kind != FileKind::Directory)
    return fail(Errc::InvalidArgument, "", "only files and directories are opened here");
  // A handle that changes the file names it in the txlog.
  std::string name;
  if (wants_write(flags) || has(flags, OpenFlags::Truncate)) name = ANYFS_TRY(nodes_.path_of(*node));
  return open_node(node, flags, std::move(name));
}

Result<std::string> DatasetImpl::get_xattr(Ino ino, std::string_view name) {
  ANYFS_CHECK(check_xattr_name("", name));
  PoolLock lock(core_->mu, Flushes::Overlap);
  ANYFS_CHECK(start());
  return xattr_node(*ANYFS_TRY(nodes_.load(ino, Errc::NotFound)), name, "");
}

Result<void> DatasetImpl::set_xattr(Ino ino, std::string_view name, std::string_view value, XattrFlags flags) {
  ANYFS_CHECK(check_xattr_name("", name));
  ANYFS_CHECK(check_xattr_value("", value));
  PoolLock lock(core_->mu);
  ANYFS_CHECK(start());
  Node* node = ANYFS_TRY(nodes_.load(ino, Errc::NotFound));
  return set_xattr_node(node, name, value, flags, ANYFS_TRY(nodes_.path_of(*node)));
}

Result<std::vector<std::string>> DatasetImpl::list_xattr(Ino ino) {
  PoolLock lock(core_->mu, Flushes::Overlap);
  ANYFS_CHECK(start());
  return xattr_names(*ANYFS_TRY(nodes_.load(ino, Errc::NotFound)));
}

Result<void> DatasetImpl::remove_xattr(Ino ino, std::string_view name) {
  ANYFS_CHECK(check_xattr_name("", name));
  PoolLock lock(core_->mu);
  ANYFS_CHECK(start());
  Node* node = ANYFS_TRY(nodes_.load(ino, Errc::NotFound));
  return remove_xattr_node(node, name, ANYFS_TRY(nodes_.path_of(*node)));
}

// --- TxgParticipant ----------------------------------------------------------------

// Only the nodes changed since the last flush are visited: a commit costs what
// changed, not the size of the node cache.
Result<void> DatasetImpl::flush_dirty(bool all) {
  auto work = nodes_.take_dirty();
  std::vector<Node*> with_data;
  for (auto& node : work)
    if (!node->gone && node->data_bytes != 0) with_data.push_back(node.get());
  ANYFS_CHECK(data_.flush(with_data, all));
  for (auto& node : work) {
    if (node->gone || !node->dirty) continue;
    // A tail still buffered is not in any extent yet: the stored size stops
    // where it starts, so a crash never shows it as a run of zeros.
    InodeRecord rec = node->rec;
    const bool clamped = !node->data.empty() && node->data.begin()->first < rec.size;
    if (clamped) rec.size = node->data.begin()->first;
    ANYFS_CHECK(core_->meta->put_inode(id_, rec, core_->stamp(node->dirty_tid)));
    node->dirty = clamped;
    if (!clamped) node->dirty_tid = 0;
    if (clamped) nodes_.relist(node);
  }
  // The cache is trimmed in start(), between calls, never here: a commit can
  // run inside a call (sync=always, the dirty limit), which still holds
  // nodes it made or loaded.
  return {};
}

void DatasetImpl::forget_cache() { nodes_.forget(); }

// --- the internal API (pool/dataset.h) ----------------------------------------------

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
