// HookFs<Hooks>: the shared body of the layers that look at calls without
// changing paths (ReadOnly, RateLimit, Tracing, Metrics). Every Fs and File call
// becomes a Call value that passes through the layer's hooks: before() may
// refuse it, after() sees its outcome, the bytes it moved and (if the layer
// asked) its latency. Handles opened through it are wrapped so their calls pass
// the same hooks, unless the layer has nothing to do on them.
//
// The hooks are a policy type, not virtual functions, so they inline into each
// call: on a 4 KiB read the layer then costs a few nanoseconds.
//
// A Hooks type provides:
//   static constexpr Timing k_timing;            // which calls are timed
//   static constexpr bool k_wrap_handles;        // pass handle calls through the hooks
//   Result<void> before(const Call&);            // an error refuses the call
//   void after(const Call&, const Error* error, std::uint64_t bytes, std::int64_t latency_ns);
//                                                // latency_ns is -1 when not timed
//   bool time_call();                            // with Timing::Sampled: time this one?
// Hooks are called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

#include "anyfs/fs.h"
#include "anyfs/layers/op.h"

namespace anyfs {

struct Call {
  Call(Op o, std::string_view p = {}, std::string_view p2 = {}, std::uint64_t off = 0, std::uint64_t sz = 0,
       std::uint32_t f = 0)
      : op(o), path(p), path2(p2), offset(off), size(sz), flags(f) {}

  Op op;
  std::string_view path;   // for File calls: the path the handle was opened with
  std::string_view path2;  // rename/link destination, symlink target
  std::uint64_t offset = 0;
  std::uint64_t size = 0;   // bytes asked for (reads, writes, truncate size)
  std::uint32_t flags = 0;  // open flags, rename flags
};

enum class Timing { Never, Always, Sampled };

template <class Hooks>
class HookFs final : public Fs, public std::enable_shared_from_this<HookFs<Hooks>> {
 public:
  HookFs(std::shared_ptr<Fs> inner, Hooks hooks) : inner_(std::move(inner)), hooks_(std::move(hooks)) {}

  Result<Stat> stat(std::string_view p) override {
    return run<Stat>({Op::Stat, p}, [&] { return inner_->stat(p); });
  }
  Result<Stat> lstat(std::string_view p) override {
    return run<Stat>({Op::Lstat, p}, [&] { return inner_->lstat(p); });
  }
  Result<std::vector<DirEntry>> read_dir(std::string_view p) override {
    return run<std::vector<DirEntry>>({Op::ReadDir, p}, [&] { return inner_->read_dir(p); });
  }
  Result<void> mkdir(std::string_view p, std::uint32_t mode) override {
    return run<void>({Op::Mkdir, p}, [&] { return inner_->mkdir(p, mode); });
  }
  Result<void> remove(std::string_view p) override {
    return run<void>({Op::Remove, p}, [&] { return inner_->remove(p); });
  }
  Result<void> rename(std::string_view from, std::string_view to, RenameFlags flags) override {
    return run<void>({Op::Rename, from, to, 0, 0, static_cast<std::uint32_t>(flags)},
                     [&] { return inner_->rename(from, to, flags); });
  }
  Result<void> link(std::string_view existing, std::string_view new_path) override {
    return run<void>({Op::Link, existing, new_path}, [&] { return inner_->link(existing, new_path); });
  }
  Result<void> symlink(std::string_view target, std::string_view link_path) override {
    return run<void>({Op::Symlink, link_path, target}, [&] { return inner_->symlink(target, link_path); });
  }
  Result<std::string> readlink(std::string_view p) override {
    return run<std::string>({Op::Readlink, p}, [&] { return inner_->readlink(p); });
  }
  Result<void> chmod(std::string_view p, std::uint32_t mode) override {
    return run<void>({Op::Chmod, p}, [&] { return inner_->chmod(p, mode); });
  }
  Result<void> chown(std::string_view p, std::uint32_t uid, std::uint32_t gid) override {
    return run<void>({Op::Chown, p}, [&] { return inner_->chown(p, uid, gid); });
  }
  Result<void> utimens(std::string_view p, TimeSpec atime, TimeSpec mtime) override {
    return run<void>({Op::Utimens, p}, [&] { return inner_->utimens(p, atime, mtime); });
  }
  Result<void> truncate(std::string_view p, std::uint64_t size) override {
    return run<void>({Op::Truncate, p, {}, 0, size}, [&] { return inner_->truncate(p, size); });
  }
  Result<std::string> get_xattr(std::string_view p, std::string_view name) override {
    return run<std::string>({Op::GetXattr, p, name}, [&] { return inner_->get_xattr(p, name); });
  }
  Result<void> set_xattr(std::string_view p, std::string_view name, std::string_view value, XattrFlags flags) override {
    return run<void>({Op::SetXattr, p, name, 0, value.size(), static_cast<std::uint32_t>(flags)},
                     [&] { return inner_->set_xattr(p, name, value, flags); });
  }
  Result<std::vector<std::string>> list_xattr(std::string_view p) override {
    return run<std::vector<std::string>>({Op::ListXattr, p}, [&] { return inner_->list_xattr(p); });
  }
  Result<void> remove_xattr(std::string_view p, std::string_view name) override {
    return run<void>({Op::RemoveXattr, p, name}, [&] { return inner_->remove_xattr(p, name); });
  }
  Result<StatFs> statfs() override {
    return run<StatFs>({Op::Statfs}, [&] { return inner_->statfs(); });
  }
  Result<void> sync() override {
    return run<void>({Op::Sync}, [&] { return inner_->sync(); });
  }
  Result<FileHandle> open(std::string_view p, OpenFlags flags, std::uint32_t mode) override;
  Result<ResolvedPath> resolve(std::string_view p, Follow follow, std::string_view root) override {
    return run<ResolvedPath>({Op::Resolve, p, root}, [&] { return inner_->resolve(p, follow, root); });
  }

  // Runs `fn` (the call below) between the hooks. Used by HookFs and its handles.
  template <class T, class F>
  Result<T> run(const Call& call, F&& fn) {
    const bool timed = Hooks::k_timing == Timing::Always || (Hooks::k_timing == Timing::Sampled && hooks_.time_call());
    const std::int64_t start = timed ? now_ns() : 0;
    // One named result and one return, so the result is built in place (NRVO).
    Result<T> r = [&]() -> Result<T> {
      if (auto allowed = hooks_.before(call); !allowed) return std::unexpected(std::move(allowed.error()));
      return fn();
    }();
    std::uint64_t bytes = 0;
    if (r) {
      if constexpr (std::is_same_v<T, std::size_t>) {
        if (call.op == Op::FileRead) bytes = *r;
      }
      if (call.op == Op::FileWrite || call.op == Op::FileAppend) bytes = call.size;
    }
    hooks_.after(call, r ? nullptr : &r.error(), bytes, timed ? now_ns() - start : -1);
    return r;
  }

  Hooks& hooks() { return hooks_; }

 private:
  static std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  const std::shared_ptr<Fs> inner_;
  Hooks hooks_;
};

// A handle opened through HookFs<Hooks>: every call passes the owner's hooks.
template <class Hooks>
class HookFile final : public File {
 public:
  HookFile(std::shared_ptr<HookFs<Hooks>> owner, FileHandle inner, std::string p)
      : owner_(std::move(owner)), inner_(std::move(inner)), path_(std::move(p)) {}

  Result<std::size_t> pread(std::span<char> buf, std::uint64_t offset) override {
    return owner_->template run<std::size_t>(call(Op::FileRead, offset, buf.size()),
                                             [&] { return inner_->pread(buf, offset); });
  }
  Result<std::size_t> pwrite(std::string_view data, std::uint64_t offset) override {
    return owner_->template run<std::size_t>(call(Op::FileWrite, offset, data.size()),
                                             [&] { return inner_->pwrite(data, offset); });
  }
  Result<std::uint64_t> append(std::string_view data) override {
    return owner_->template run<std::uint64_t>(call(Op::FileAppend, 0, data.size()),
                                               [&] { return inner_->append(data); });
  }
  Result<void> truncate(std::uint64_t size) override {
    return owner_->template run<void>(call(Op::FileTruncate, 0, size), [&] { return inner_->truncate(size); });
  }
  Result<void> fsync() override {
    return owner_->template run<void>(call(Op::FileFsync), [&] { return inner_->fsync(); });
  }
  Result<Stat> stat() override {
    return owner_->template run<Stat>(call(Op::FileStat), [&] { return inner_->stat(); });
  }
  Result<void> close() override {
    return owner_->template run<void>(call(Op::FileClose), [&] { return inner_->close(); });
  }

 private:
  Call call(Op op, std::uint64_t offset = 0, std::uint64_t size = 0) const {
    return Call{op, path_, {}, offset, size, 0};
  }

  const std::shared_ptr<HookFs<Hooks>> owner_;
  const FileHandle inner_;
  const std::string path_;
};

template <class Hooks>
Result<FileHandle> HookFs<Hooks>::open(std::string_view p, OpenFlags flags, std::uint32_t mode) {
  auto handle = run<FileHandle>({Op::Open, p, {}, 0, 0, static_cast<std::uint32_t>(flags)},
                                [&] { return inner_->open(p, flags, mode); });
  if (!handle || !Hooks::k_wrap_handles) return handle;
  return std::make_unique<HookFile<Hooks>>(this->shared_from_this(), std::move(*handle), std::string(p));
}

// Makes a HookFs layer over `inner` with `hooks`.
template <class Hooks>
std::shared_ptr<Fs> make_hook_fs(std::shared_ptr<Fs> inner, Hooks hooks) {
  return std::make_shared<HookFs<Hooks>>(std::move(inner), std::move(hooks));
}

}  // namespace anyfs
