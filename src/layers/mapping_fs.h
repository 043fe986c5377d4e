// MappingFs: the shared base of the layers that decide what a path means (Subdir,
// PathFilter). Each path is resolved on the Fs below — symlinks and ".." taken
// inside this layer's root — to a canonical path; the layer may refuse it
// (check) or hide entries (visible); the call then goes below with the canonical
// path, which has no symlink or ".." left for the Fs below to reinterpret.
// Errors name the caller's path, never the path below.
//
// Resolution and the call below run under one lock (shared for lookups,
// exclusive for calls that change names), so no call made through this layer
// can swap a symlink into a path between its resolution and its use.
#pragma once

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "anyfs/fs.h"

namespace anyfs {

class MappingFs : public Fs {
 public:
  // `root`: the canonical path below that is this layer's "/".
  MappingFs(std::shared_ptr<Fs> inner, std::string root) : inner_(std::move(inner)), root_(std::move(root)) {}

  Result<Stat> stat(std::string_view p) override;
  Result<Stat> lstat(std::string_view p) override;
  Result<std::vector<DirEntry>> read_dir(std::string_view p) override;
  Result<void> mkdir(std::string_view p, std::uint32_t mode) override;
  Result<void> remove(std::string_view p) override;
  Result<void> rename(std::string_view from, std::string_view to, RenameFlags flags) override;
  Result<void> link(std::string_view existing, std::string_view new_path) override;
  Result<void> symlink(std::string_view target, std::string_view link_path) override;
  Result<std::string> readlink(std::string_view p) override;
  Result<void> chmod(std::string_view p, std::uint32_t mode) override;
  Result<void> chown(std::string_view p, std::uint32_t uid, std::uint32_t gid) override;
  Result<void> utimens(std::string_view p, TimeSpec atime, TimeSpec mtime) override;
  Result<void> truncate(std::string_view p, std::uint64_t size) override;
  Result<std::string> get_xattr(std::string_view p, std::string_view name) override;
  Result<void> set_xattr(std::string_view p, std::string_view name, std::string_view value, XattrFlags flags) override;
  Result<std::vector<std::string>> list_xattr(std::string_view p) override;
  Result<void> remove_xattr(std::string_view p, std::string_view name) override;
  Result<StatFs> statfs() override { return inner_->statfs(); }
  Result<void> sync() override { return inner_->sync(); }
  Result<FileHandle> open(std::string_view p, OpenFlags flags, std::uint32_t mode) override;
  Result<ResolvedPath> resolve(std::string_view p, Follow follow, std::string_view root) override;

 protected:
  // May refuse a canonical path (this layer's view, e.g. "/a/b"). Any thread.
  virtual Result<void> check(std::string_view /*canonical*/) { return {}; }
  // False hides an entry from listings. Any thread.
  virtual bool visible(std::string_view /*canonical*/) { return true; }

 private:
  struct Mapped {
    std::string below;      // the path to give the Fs below
    std::string canonical;  // the path in this layer's view
    bool is_root = false;
    bool found = false;
  };
  std::string below(const std::string& canonical) const;  // this layer's path -> the path below
  Result<Mapped> map(std::string_view p, Follow follow);
  Result<Mapped> map_entry(std::string_view p);  // for calls that name an entry
  template <class F>
  auto on_path(std::string_view p, Follow follow, F&& call) -> decltype(call(std::string()));

  const std::shared_ptr<Fs> inner_;
  const std::string root_;
  std::shared_mutex names_mu_;  // shared: resolve-and-use; exclusive: calls that change names
};

}  // namespace anyfs
