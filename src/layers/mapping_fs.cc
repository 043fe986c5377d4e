#include "layers/mapping_fs.h"

#include "fs/path.h"

namespace anyfs {
namespace {

// Replaces the path below in an error with the caller's path.
template <class T>
Result<T> as_caller(Result<T> r, std::string_view p) {
  if (!r) r.error().path = std::string(p);
  return r;
}

}  // namespace

std::string MappingFs::below(const std::string& canonical) const {
  if (root_ == "/") return canonical;
  return canonical == "/" ? root_ : root_ + canonical;
}

Result<MappingFs::Mapped> MappingFs::map(std::string_view p, Follow follow) {
  auto r = inner_->resolve(p, follow, root_);
  if (!r) return std::unexpected(Error(r.error().code, std::string(p), r.error().message));
  ANYFS_CHECK(as_caller(check(r->path), p));
  Mapped out;
  out.is_root = r->path == "/";
  out.found = r->exists;
  out.below = below(r->path);
  out.canonical = std::move(r->path);
  return out;
}

Result<ResolvedPath> MappingFs::resolve(std::string_view p, Follow follow, std::string_view root) {
  std::shared_lock lock(names_mu_);
  std::string view_root = path::join(ANYFS_TRY(path::split(root)));
  auto r = inner_->resolve(p, follow, below(view_root));
  if (!r) return std::unexpected(Error(r.error().code, std::string(p), r.error().message));
  std::string view = view_root == "/" ? r->path : r->path == "/" ? view_root : view_root + r->path;
  ANYFS_CHECK(as_caller(check(view), p));
  return r;
}

// Resolves `p` under the shared lock and runs `call` with the path below.
template <class F>
auto MappingFs::on_path(std::string_view p, Follow follow, F&& call) -> decltype(call(std::string())) {
  std::shared_lock lock(names_mu_);
  auto m = ANYFS_TRY(map(p, follow));
  return as_caller(call(m.below), p);
}

Result<MappingFs::Mapped> MappingFs::map_entry(std::string_view p) {
  ANYFS_CHECK(path::check_names_entry(p));
  return map(p, Follow::No);
}

Result<Stat> MappingFs::stat(std::string_view p) {
  return on_path(p, Follow::Yes, [&](const std::string& below) { return inner_->stat(below); });
}

Result<Stat> MappingFs::lstat(std::string_view p) {
  return on_path(p, Follow::No, [&](const std::string& below) { return inner_->lstat(below); });
}

Result<std::vector<DirEntry>> MappingFs::read_dir(std::string_view p) {
  std::shared_lock lock(names_mu_);
  auto m = ANYFS_TRY(map(p, Follow::Yes));
  if (!m.found) return fail(Errc::NotFound, std::string(p), "no such directory");
  auto entries = ANYFS_TRY(as_caller(inner_->read_dir(m.below), p));
  std::erase_if(entries, [&](const DirEntry& e) { return !visible(path::child(m.canonical, e.name)); });
  return entries;
}

Result<void> MappingFs::mkdir(std::string_view p, std::uint32_t mode) {
  std::unique_lock lock(names_mu_);
  auto m = ANYFS_TRY(map_entry(p));
  if (m.is_root) return fail(Errc::Exists, std::string(p), "the root exists");
  return as_caller(inner_->mkdir(m.below, mode), p);
}

Result<void> MappingFs::remove(std::string_view p) {
  std::unique_lock lock(names_mu_);
  auto m = ANYFS_TRY(map_entry(p));
  if (m.is_root) return fail(Errc::Busy, std::string(p), "cannot remove the root");
  return as_caller(inner_->remove(m.below), p);
}

Result<void> MappingFs::rename(std::string_view from, std::string_view to, RenameFlags flags) {
  std::unique_lock lock(names_mu_);
  ANYFS_CHECK(path::check_names_entry(to));
  auto a = ANYFS_TRY(map_entry(from));
  auto b = ANYFS_TRY(map_entry(to));
  if (a.is_root || b.is_root) return fail(Errc::Busy, std::string(from), "cannot rename the root");
  return as_caller(inner_->rename(a.below, b.below, flags), from);
}

Result<void> MappingFs::link(std::string_view existing, std::string_view new_path) {
  std::unique_lock lock(names_mu_);
  ANYFS_CHECK(path::check_names_entry(new_path));
  auto a = ANYFS_TRY(map_entry(existing));
  // Linux looks the source up fully before it resolves the new name's parent.
  if (!a.found) return fail(Errc::NotFound, std::string(existing), "no such file or directory");
  auto b = ANYFS_TRY(map_entry(new_path));
  // An existing new name is refused before the source's kind, as Linux does.
  if (b.is_root) return fail(Errc::Exists, std::string(new_path), "the root exists");
  if (a.is_root) {
    if (inner_->lstat(b.below)) return fail(Errc::Exists, std::string(new_path), "file exists");
    return fail(Errc::NotPermitted, std::string(existing), "cannot hard-link a directory");
  }
  return as_caller(inner_->link(a.below, b.below), new_path);
}

Result<void> MappingFs::symlink(std::string_view target, std::string_view link_path) {
  std::unique_lock lock(names_mu_);
  auto m = ANYFS_TRY(map_entry(link_path));
  if (m.is_root) return fail(Errc::Exists, std::string(link_path), "the root exists");
  return as_caller(inner_->symlink(target, m.below), link_path);
}

Result<std::string> MappingFs::readlink(std::string_view p) {
  return on_path(p, Follow::No, [&](const std::string& below) { return inner_->readlink(below); });
}

Result<void> MappingFs::chmod(std::string_view p, std::uint32_t mode) {
  return on_path(p, Follow::Yes, [&](const std::string& below) { return inner_->chmod(below, mode); });
}

Result<void> MappingFs::chown(std::string_view p, std::uint32_t uid, std::uint32_t gid) {
  return on_path(p, Follow::Yes, [&](const std::string& below) { return inner_->chown(below, uid, gid); });
}

Result<void> MappingFs::utimens(std::string_view p, TimeSpec atime, TimeSpec mtime) {
  return on_path(p, Follow::Yes, [&](const std::string& below) { return inner_->utimens(below, atime, mtime); });
}

Result<void> MappingFs::truncate(std::string_view p, std::uint64_t size) {
  return on_path(p, Follow::Yes, [&](const std::string& below) { return inner_->truncate(below, size); });
}

Result<std::string> MappingFs::get_xattr(std::string_view p, std::string_view name) {
  return on_path(p, Follow::Yes, [&](const std::string& below) { return inner_->get_xattr(below, name); });
}

Result<void> MappingFs::set_xattr(std::string_view p, std::string_view name, std::string_view value, XattrFlags flags) {
  return on_path(p, Follow::Yes,
                 [&](const std::string& below) { return inner_->set_xattr(below, name, value, flags); });
}

Result<std::vector<std::string>> MappingFs::list_xattr(std::string_view p) {
  return on_path(p, Follow::Yes, [&](const std::string& below) { return inner_->list_xattr(below); });
}

Result<void> MappingFs::remove_xattr(std::string_view p, std::string_view name) {
  return on_path(p, Follow::Yes, [&](const std::string& below) { return inner_->remove_xattr(below, name); });
}

Result<FileHandle> MappingFs::open(std::string_view p, OpenFlags flags, std::uint32_t mode) {
  const bool exclusive = has(flags, OpenFlags::Create) && has(flags, OpenFlags::Exclusive);
  Follow follow = (has(flags, OpenFlags::NoFollow) || exclusive) ? Follow::No : Follow::Yes;
  if (has(flags, OpenFlags::Create)) {
    std::unique_lock lock(names_mu_);
    auto m = ANYFS_TRY(map(p, follow));
    return as_caller(inner_->open(m.below, flags, mode), p);
  }
  std::shared_lock lock(names_mu_);
  auto m = ANYFS_TRY(map(p, follow));
  return as_caller(inner_->open(m.below, flags, mode), p);
}

}  // namespace anyfs
