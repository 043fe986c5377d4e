#include "layers/hook_fs.h"

#include <chrono>

namespace anyfs {
namespace {

class HookFile final : public File {
 public:
  HookFile(std::shared_ptr<HookFs> owner, FileHandle inner, std::string p)
      : owner_(std::move(owner)), inner_(std::move(inner)), path_(std::move(p)) {}

  Result<std::size_t> pread(std::span<char> buf, std::uint64_t offset) override {
    return owner_->run<std::size_t>(call(Op::FileRead, offset, buf.size()),
                                    [&] { return inner_->pread(buf, offset); });
  }
  Result<std::size_t> pwrite(std::string_view data, std::uint64_t offset) override {
    return owner_->run<std::size_t>(call(Op::FileWrite, offset, data.size()),
                                    [&] { return inner_->pwrite(data, offset); });
  }
  Result<std::uint64_t> append(std::string_view data) override {
    return owner_->run<std::uint64_t>(call(Op::FileAppend, 0, data.size()), [&] { return inner_->append(data); });
  }
  Result<void> truncate(std::uint64_t size) override {
    return owner_->run<void>(call(Op::FileTruncate, 0, size), [&] { return inner_->truncate(size); });
  }
  Result<void> fsync() override {
    return owner_->run<void>(call(Op::FileFsync), [&] { return inner_->fsync(); });
  }
  Result<Stat> stat() override {
    return owner_->run<Stat>(call(Op::FileStat), [&] { return inner_->stat(); });
  }
  Result<void> close() override {
    return owner_->run<void>(call(Op::FileClose), [&] { return inner_->close(); });
  }

 private:
  Call call(Op op, std::uint64_t offset = 0, std::uint64_t size = 0) const {
    return Call{op, path_, {}, offset, size, 0};
  }

  const std::shared_ptr<HookFs> owner_;
  const FileHandle inner_;
  const std::string path_;
};

}  // namespace

std::int64_t HookFs::now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Result<Stat> HookFs::stat(std::string_view p) {
  return run<Stat>({Op::Stat, p}, [&] { return inner_->stat(p); });
}
Result<Stat> HookFs::lstat(std::string_view p) {
  return run<Stat>({Op::Lstat, p}, [&] { return inner_->lstat(p); });
}
Result<std::vector<DirEntry>> HookFs::read_dir(std::string_view p) {
  return run<std::vector<DirEntry>>({Op::ReadDir, p}, [&] { return inner_->read_dir(p); });
}
Result<void> HookFs::mkdir(std::string_view p, std::uint32_t mode) {
  return run<void>({Op::Mkdir, p}, [&] { return inner_->mkdir(p, mode); });
}
Result<void> HookFs::remove(std::string_view p) {
  return run<void>({Op::Remove, p}, [&] { return inner_->remove(p); });
}
Result<void> HookFs::rename(std::string_view from, std::string_view to, RenameFlags flags) {
  return run<void>({Op::Rename, from, to, 0, 0, static_cast<std::uint32_t>(flags)},
                   [&] { return inner_->rename(from, to, flags); });
}
Result<void> HookFs::link(std::string_view existing, std::string_view new_path) {
  return run<void>({Op::Link, existing, new_path}, [&] { return inner_->link(existing, new_path); });
}
Result<void> HookFs::symlink(std::string_view target, std::string_view link_path) {
  return run<void>({Op::Symlink, link_path, target}, [&] { return inner_->symlink(target, link_path); });
}
Result<std::string> HookFs::readlink(std::string_view p) {
  return run<std::string>({Op::Readlink, p}, [&] { return inner_->readlink(p); });
}
Result<void> HookFs::chmod(std::string_view p, std::uint32_t mode) {
  return run<void>({Op::Chmod, p}, [&] { return inner_->chmod(p, mode); });
}
Result<void> HookFs::chown(std::string_view p, std::uint32_t uid, std::uint32_t gid) {
  return run<void>({Op::Chown, p}, [&] { return inner_->chown(p, uid, gid); });
}
Result<void> HookFs::utimens(std::string_view p, TimeSpec atime, TimeSpec mtime) {
  return run<void>({Op::Utimens, p}, [&] { return inner_->utimens(p, atime, mtime); });
}
Result<void> HookFs::truncate(std::string_view p, std::uint64_t size) {
  return run<void>({Op::Truncate, p, {}, 0, size}, [&] { return inner_->truncate(p, size); });
}
Result<std::string> HookFs::get_xattr(std::string_view p, std::string_view name) {
  return run<std::string>({Op::GetXattr, p, name}, [&] { return inner_->get_xattr(p, name); });
}
Result<void> HookFs::set_xattr(std::string_view p, std::string_view name, std::string_view value,
                               XattrFlags flags) {
  return run<void>({Op::SetXattr, p, name, 0, value.size(), static_cast<std::uint32_t>(flags)},
                   [&] { return inner_->set_xattr(p, name, value, flags); });
}
Result<std::vector<std::string>> HookFs::list_xattr(std::string_view p) {
  return run<std::vector<std::string>>({Op::ListXattr, p}, [&] { return inner_->list_xattr(p); });
}
Result<void> HookFs::remove_xattr(std::string_view p, std::string_view name) {
  return run<void>({Op::RemoveXattr, p, name}, [&] { return inner_->remove_xattr(p, name); });
}
Result<StatFs> HookFs::statfs() {
  return run<StatFs>({Op::Statfs}, [&] { return inner_->statfs(); });
}
Result<void> HookFs::sync() {
  return run<void>({Op::Sync}, [&] { return inner_->sync(); });
}
Result<FileHandle> HookFs::open(std::string_view p, OpenFlags flags, std::uint32_t mode) {
  auto handle = run<FileHandle>({Op::Open, p, {}, 0, 0, static_cast<std::uint32_t>(flags)},
                                [&] { return inner_->open(p, flags, mode); });
  if (!handle || handles_ == Handles::PassThrough) return handle;
  return std::make_unique<HookFile>(shared_from_this(), std::move(*handle), std::string(p));
}

}  // namespace anyfs
