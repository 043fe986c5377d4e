// The namespace operations of a dataset (pool/dataset_impl.h), shared by the
// path calls and the inode calls: once a call has resolved what it names, the
// same code checks what is left, starts the operation and changes the nodes.
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "pool/dataset_impl.h"
#include "util/clock.h"

namespace anyfs {
namespace {

std::string_view op_for(FileKind kind) {
  if (kind == FileKind::Directory) return "mkdir";
  if (kind == FileKind::Symlink) return "symlink";
  return "create";
}

}  // namespace

NewObject DatasetImpl::process_owned(FileKind kind, std::uint32_t mode) {
  return {kind, mode, static_cast<std::uint32_t>(::geteuid()), static_cast<std::uint32_t>(::getegid()), 0, {}};
}

Result<Node*> DatasetImpl::make_at(Node* parent, const std::string& name, const NewObject& what,
                                   std::string_view path) {
  Tid tid = ANYFS_TRY(op(op_for(what.kind), path));
  Node* node = nullptr;
  ANYFS_CHECK(core_->end_op([&]() REQUIRES(pool_lock) -> Result<void> {
    node = ANYFS_TRY(create_in(parent, name, what, tid));
    return {};
  }()));
  return node;
}

Result<void> DatasetImpl::remove_at(Node* dir, const std::string& name, std::optional<bool> directory,
                                    std::string_view path) {
  auto e = ANYFS_TRY(nodes_.lookup(dir->rec.ino, name));
  if (!e) return fail(Errc::NotFound, std::string(path), "no such file or directory");
  Node* node = ANYFS_TRY(nodes_.load(e->ino));
  const bool is_dir = node->rec.kind == FileKind::Directory;
  if (directory == true && !is_dir) return fail(Errc::NotDir, std::string(path), "not a directory");
  if (directory == false && is_dir) return fail(Errc::IsDir, std::string(path), "is a directory");
  const DatasetLayer& layer = nodes_.layer_of(*node);
  if (is_dir && ANYFS_TRY(core_->meta->has_entries(layer.ds, node->rec.ino, layer.at)))
    return fail(Errc::NotEmpty, std::string(path), "directory not empty");
  Tid tid = ANYFS_TRY(op("remove", path));
  return core_->end_op(detach(dir, name, node, tid));
}

Result<void> DatasetImpl::rename_at(Ino from_dir, const std::string& from, Ino to_dir, const std::string& to,
                                    RenameFlags flags, std::string_view from_path, std::string_view to_path) {
  auto moved = ANYFS_TRY(nodes_.lookup(from_dir, from));
  auto replaced = ANYFS_TRY(nodes_.lookup(to_dir, to));
  if (!moved) return fail(Errc::NotFound, std::string(from_path), "no such file or directory");
  const bool exchange = flags == RenameFlags::Exchange;
  if (flags == RenameFlags::NoReplace && replaced) return fail(Errc::Exists, std::string(to_path), "destination exists");
  if (exchange && !replaced) return fail(Errc::NotFound, std::string(to_path), "exchange needs both to exist");
  // A directory may not go into its own subtree, nor be replaced by (or swap
  // with) a directory that holds the source.
  if (moved->kind == FileKind::Directory && ANYFS_TRY(nodes_.is_ancestor(moved->ino, to_dir)))
    return fail(Errc::InvalidArgument, std::string(to_path), "cannot move a directory into itself");
  if (replaced && replaced->kind == FileKind::Directory && ANYFS_TRY(nodes_.is_ancestor(replaced->ino, from_dir)))
    return fail(exchange ? Errc::InvalidArgument : Errc::NotEmpty, std::string(to_path),
                "the destination is an ancestor of the source");
  Node* node = ANYFS_TRY(nodes_.load(moved->ino));
  Node* old = replaced ? ANYFS_TRY(nodes_.load(replaced->ino)) : nullptr;
  if (old != nullptr && !exchange) {
    if (old == node) return {};  // the same file: POSIX says do nothing
    if (node->rec.kind == FileKind::Directory) {
      if (old->rec.kind != FileKind::Directory) return fail(Errc::NotDir, std::string(to_path), "not a directory");
      const DatasetLayer& layer = nodes_.layer_of(*old);
      if (ANYFS_TRY(core_->meta->has_entries(layer.ds, old->rec.ino, layer.at)))
        return fail(Errc::NotEmpty, std::string(to_path), "directory not empty");
    } else if (old->rec.kind == FileKind::Directory) {
      return fail(Errc::IsDir, std::string(to_path), "is a directory");
    }
  }
  Tid tid = ANYFS_TRY(op(exchange ? "exchange" : "rename", fmt::format("{} -> {}", from_path, to_path)));
  return core_->end_op([&]() REQUIRES(pool_lock) -> Result<void> {
    Node* src_parent = ANYFS_TRY(nodes_.load(from_dir));
    Node* dst_parent = ANYFS_TRY(nodes_.load(to_dir));
    for (Node* n : {src_parent, dst_parent, node, old})
      if (n != nullptr) ANYFS_CHECK(nodes_.own(n, tid));
    const std::int64_t t = wall_clock_ns();
    auto touch = [&](Node* n) REQUIRES(pool_lock) {
      n->rec.mtime_ns = n->rec.ctime_ns = t;
      nodes_.mark(n, tid);
    };
    if (exchange) {
      ANYFS_CHECK(nodes_.put_entry({from_dir, from, old->rec.ino, old->rec.kind}, tid));
      ANYFS_CHECK(nodes_.put_entry({to_dir, to, node->rec.ino, node->rec.kind}, tid));
      if (src_parent != dst_parent) {
        int delta = (node->rec.kind == FileKind::Directory) - (old->rec.kind == FileKind::Directory);
        src_parent->rec.nlink -= delta;
        dst_parent->rec.nlink += delta;
      }
      node->rec.ctime_ns = old->rec.ctime_ns = t;
      nodes_.mark(node, tid);
      nodes_.mark(old, tid);
      touch(src_parent);
      touch(dst_parent);
      return {};
    }
    if (old != nullptr) ANYFS_CHECK(detach(dst_parent, to, old, tid));
    ANYFS_CHECK(nodes_.drop_entry(from_dir, from, tid));
    src_parent->rec.size--;
    ANYFS_CHECK(nodes_.put_entry({to_dir, to, node->rec.ino, node->rec.kind}, tid));
    dst_parent->rec.size++;
    if (node->rec.kind == FileKind::Directory && src_parent != dst_parent) {
      src_parent->rec.nlink--;
      dst_parent->rec.nlink++;
    }
    node->rec.ctime_ns = t;
    nodes_.mark(node, tid);
    touch(src_parent);
    touch(dst_parent);
    return {};
  }());
}

Result<void> DatasetImpl::link_at(Node* node, Node* dir, const std::string& name, std::string_view to_path,
                                  std::string_view from_path) {
  // As Linux: an existing name first, then a directory source.
  if (ANYFS_TRY(nodes_.lookup(dir->rec.ino, name))) return fail(Errc::Exists, std::string(to_path), "already exists");
  if (node->rec.kind == FileKind::Directory)
    return fail(Errc::NotPermitted, std::string(from_path), "cannot hard-link a directory");
  Tid tid = ANYFS_TRY(op("link", fmt::format("{} -> {}", to_path, from_path)));
  return core_->end_op([&]() REQUIRES(pool_lock) -> Result<void> {
    ANYFS_CHECK(nodes_.own(node, tid));
    node->rec.nlink++;
    node->rec.ctime_ns = wall_clock_ns();
    nodes_.mark(node, tid);
    return add_entry(dir, name, node, tid);
  }());
}

Result<void> DatasetImpl::change_attrs(Node* node, const AttrChange& change, std::string_view op_name,
                                       std::string_view path) {
  if (change.size) ANYFS_CHECK(check_truncate(node, *change.size, path));
  Tid tid = ANYFS_TRY(op(op_name, path));
  return core_->end_op([&]() REQUIRES(pool_lock) -> Result<void> {
    ANYFS_CHECK(nodes_.own(node, tid));
    if (change.size && *change.size != node->rec.size) ANYFS_CHECK(truncate_node(node, *change.size, tid));
    auto& r = node->rec;
    if (change.mode) r.mode = *change.mode & 07777;
    if (change.uid) r.uid = *change.uid;
    if (change.gid) r.gid = *change.gid;
    const std::int64_t t = wall_clock_ns();
    for (auto [field, spec] : {std::pair{&r.atime_ns, change.atime}, std::pair{&r.mtime_ns, change.mtime}}) {
      if (spec.kind == TimeSpec::Kind::Set) *field = spec.ns;
      if (spec.kind == TimeSpec::Kind::Now) *field = t;
    }
    r.ctime_ns = change.ctime.kind == TimeSpec::Kind::Set ? change.ctime.ns : t;
    nodes_.mark(node, tid);
    return {};
  }());
}

Result<std::vector<DirEntry>> DatasetImpl::list_node(Node& dir) {
  const DatasetLayer& layer = nodes_.layer_of(dir);
  std::vector<DirEntry> out;
  for (auto& e : ANYFS_TRY(core_->meta->list_dir(layer.ds, dir.rec.ino, layer.at)))
    out.push_back({e.name, e.kind, e.ino});
  return out;
}

Result<std::string> DatasetImpl::readlink_node(const Node& node, std::string_view p) {
  if (node.rec.kind != FileKind::Symlink) return fail(Errc::InvalidArgument, std::string(p), "not a symlink");
  return node.rec.target;
}

Result<std::string> DatasetImpl::xattr_node(Node& node, std::string_view name, std::string_view p) {
  const DatasetLayer& layer = nodes_.layer_of(node);
  auto value = ANYFS_TRY(core_->meta->xattr(layer.ds, node.rec.ino, name, layer.at));
  if (!value) return fail(Errc::NoData, std::string(p), "no such attribute");
  return *value;
}

Result<std::vector<std::string>> DatasetImpl::xattr_names(Node& node) {
  const DatasetLayer& layer = nodes_.layer_of(node);
  std::vector<std::string> out;
  for (auto& [name, value] : ANYFS_TRY(core_->meta->xattrs(layer.ds, node.rec.ino, layer.at))) out.push_back(name);
  return out;
}

Result<void> DatasetImpl::set_xattr_node(Node* node, std::string_view name, std::string_view value, XattrFlags flags,
                                         std::string_view p) {
  const DatasetLayer& layer = nodes_.layer_of(*node);
  const bool present = ANYFS_TRY(core_->meta->xattr(layer.ds, node->rec.ino, name, layer.at)).has_value();
  if (flags == XattrFlags::Create && present) return fail(Errc::Exists, std::string(p), "attribute exists");
  if (flags == XattrFlags::Replace && !present) return fail(Errc::NoData, std::string(p), "no such attribute");
  Tid tid = ANYFS_TRY(op("set_xattr", p));
  return core_->end_op([&]() REQUIRES(pool_lock) -> Result<void> {
    ANYFS_CHECK(nodes_.own(node, tid));
    ANYFS_CHECK(core_->meta->put_xattr(id_, node->rec.ino, name, value, tid));
    node->rec.ctime_ns = wall_clock_ns();
    nodes_.mark(node, tid);
    return {};
  }());
}

Result<void> DatasetImpl::remove_xattr_node(Node* node, std::string_view name, std::string_view p) {
  const DatasetLayer& layer = nodes_.layer_of(*node);
  if (!ANYFS_TRY(core_->meta->xattr(layer.ds, node->rec.ino, name, layer.at)))
    return fail(Errc::NoData, std::string(p), "no such attribute");
  Tid tid = ANYFS_TRY(op("remove_xattr", p));
  return core_->end_op([&]() REQUIRES(pool_lock) -> Result<void> {
    ANYFS_CHECK(nodes_.own(node, tid));
    ANYFS_CHECK(core_->meta->drop_xattr(id_, node->rec.ino, name, tid));
    node->rec.ctime_ns = wall_clock_ns();
    nodes_.mark(node, tid);
    return {};
  }());
}

Result<Node*> DatasetImpl::create_in(Node* parent, const std::string& name, const NewObject& what, Tid tid) {
  Node* node = nodes_.create(what.kind, what.mode, tid);
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

Result<void> DatasetImpl::add_entry(Node* parent, const std::string& name, Node* node, Tid tid) {
  ANYFS_CHECK(nodes_.own(parent, tid));
  ANYFS_CHECK(nodes_.put_entry({parent->rec.ino, name, node->rec.ino, node->rec.kind}, tid));
  parent->rec.size++;
  parent->rec.mtime_ns = parent->rec.ctime_ns = wall_clock_ns();
  nodes_.mark(parent, tid);
  return {};
}

Result<void> DatasetImpl::detach(Node* parent, const std::string& name, Node* node, Tid tid) {
  ANYFS_CHECK(nodes_.own(parent, tid));
  ANYFS_CHECK(nodes_.own(node, tid));
  ANYFS_CHECK(nodes_.drop_entry(parent->rec.ino, name, tid));
  const std::int64_t t = wall_clock_ns();
  parent->rec.size--;
  parent->rec.mtime_ns = parent->rec.ctime_ns = t;
  nodes_.mark(parent, tid);
  if (node->rec.kind == FileKind::Directory) {
    node->rec.nlink = 0;
    parent->rec.nlink--;
  } else {
    node->rec.nlink--;
  }
  node->rec.ctime_ns = t;
  nodes_.mark(node, tid);
  if (node->rec.nlink == 0 && node->opens == 0) return destroy(*node, tid);
  return {};
}

Result<void> DatasetImpl::destroy(Node& node, Tid tid) {
  const Ino ino = node.rec.ino;
  data_.discard(node);
  ANYFS_CHECK(core_->meta->drop_inode(id_, ino, tid));
  node.gone = true;
  nodes_.erase(ino);
  return {};
}

}  // namespace anyfs
