// NewestStateFs: the read-only conformance subject for views of the past. Each
// call commits what the seed (the live dataset) wrote, then runs on a fresh
// Pool::dataset_at view of the state just committed, so every read of the
// suite goes through the as-of path (history=all) and every change must be
// refused with ReadOnly.
#pragma once

#include <memory>

#include "anyfs/pool.h"
#include "support/must.h"

namespace anyfs::testing {

class NewestStateFs final : public Fs {
 public:
  explicit NewestStateFs(std::shared_ptr<Pool> pool) : pool_(std::move(pool)) {}

  Result<Stat> stat(std::string_view p) override { return view()->stat(p); }
  Result<Stat> lstat(std::string_view p) override { return view()->lstat(p); }
  Result<std::vector<DirEntry>> read_dir(std::string_view p) override { return view()->read_dir(p); }
  Result<void> mkdir(std::string_view p, std::uint32_t mode) override { return view()->mkdir(p, mode); }
  Result<void> remove(std::string_view p) override { return view()->remove(p); }
  Result<void> rename(std::string_view from, std::string_view to, RenameFlags flags) override {
    return view()->rename(from, to, flags);
  }
  Result<void> link(std::string_view existing, std::string_view p) override { return view()->link(existing, p); }
  Result<void> symlink(std::string_view target, std::string_view p) override { return view()->symlink(target, p); }
  Result<std::string> readlink(std::string_view p) override { return view()->readlink(p); }
  Result<void> chmod(std::string_view p, std::uint32_t mode) override { return view()->chmod(p, mode); }
  Result<void> chown(std::string_view p, std::uint32_t uid, std::uint32_t gid) override {
    return view()->chown(p, uid, gid);
  }
  Result<void> utimens(std::string_view p, TimeSpec atime, TimeSpec mtime) override {
    return view()->utimens(p, atime, mtime);
  }
  Result<void> truncate(std::string_view p, std::uint64_t size) override { return view()->truncate(p, size); }
  Result<std::string> get_xattr(std::string_view p, std::string_view name) override {
    return view()->get_xattr(p, name);
  }
  Result<void> set_xattr(std::string_view p, std::string_view name, std::string_view value,
                         XattrFlags flags) override {
    return view()->set_xattr(p, name, value, flags);
  }
  Result<std::vector<std::string>> list_xattr(std::string_view p) override { return view()->list_xattr(p); }
  Result<void> remove_xattr(std::string_view p, std::string_view name) override {
    return view()->remove_xattr(p, name);
  }
  Result<StatFs> statfs() override { return view()->statfs(); }
  Result<void> sync() override { return view()->sync(); }
  Result<FileHandle> open(std::string_view p, OpenFlags flags, std::uint32_t mode) override {
    return view()->open(p, flags, mode);
  }

 private:
  std::shared_ptr<Dataset> view() {
    must(pool_->sync());
    return must(pool_->dataset_at("", AsOf::at_tid(must(pool_->committed_tid()))));
  }

  std::shared_ptr<Pool> pool_;
};

}  // namespace anyfs::testing
