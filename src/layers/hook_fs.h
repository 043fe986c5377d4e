// HookFs: the shared base of the layers that look at calls without changing
// paths (ReadOnly, RateLimit, Tracing, Metrics). Every Fs and File call becomes a
// Call value that passes through two hooks: before() may refuse it, after() sees
// its outcome, the bytes it moved and (if the layer asked) its latency. Handles
// opened through a HookFs are wrapped so their calls pass the same hooks.
#pragma once

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
  std::uint64_t size = 0;    // bytes asked for (reads, writes, truncate size)
  std::uint32_t flags = 0;   // open flags, rename flags
};

class HookFs : public Fs, public std::enable_shared_from_this<HookFs> {
 public:
  // Which calls get their latency measured for after().
  enum class Timing { Never, Always, Sampled /* when time_call() says so */ };
  // Whether handles are wrapped so their calls pass the hooks too. A layer that
  // has nothing to do on handle calls passes the Fs below's handles through.
  enum class Handles { Wrap, PassThrough };

  HookFs(std::shared_ptr<Fs> inner, Timing timing, Handles handles = Handles::Wrap)
      : inner_(std::move(inner)), timing_(timing), handles_(handles) {}

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
  Result<void> set_xattr(std::string_view p, std::string_view name, std::string_view value,
                         XattrFlags flags) override;
  Result<std::vector<std::string>> list_xattr(std::string_view p) override;
  Result<void> remove_xattr(std::string_view p, std::string_view name) override;
  Result<StatFs> statfs() override;
  Result<void> sync() override;
  Result<FileHandle> open(std::string_view p, OpenFlags flags, std::uint32_t mode) override;

  // Runs `fn` (the inner call) between the hooks. Used by HookFs and its handles.
  template <class T, class F>
  Result<T> run(const Call& call, F&& fn);

 protected:
  // Called before the inner call; an error refuses the call. Any thread.
  virtual Result<void> before(const Call&) { return {}; }
  // Called after the inner call (or the refusal) with its error or null, the
  // bytes it read or wrote, and its latency in ns (-1 if not timed). Any thread.
  virtual void after(const Call&, const Error*, std::uint64_t /*bytes*/, std::int64_t /*latency_ns*/) {}
  // With Timing::Sampled: whether to time the call about to run. Any thread.
  virtual bool time_call() { return false; }

  Fs& inner() { return *inner_; }

 private:
  static std::int64_t now_ns();

  const std::shared_ptr<Fs> inner_;
  const Timing timing_;
  const Handles handles_;
};

template <class T, class F>
Result<T> HookFs::run(const Call& call, F&& fn) {
  const bool timed = timing_ == Timing::Always || (timing_ == Timing::Sampled && time_call());
  const std::int64_t start = timed ? now_ns() : 0;
  if (auto allowed = before(call); !allowed) {
    after(call, &allowed.error(), 0, timed ? 0 : -1);
    return std::unexpected(std::move(allowed.error()));
  }
  Result<T> r = fn();
  std::uint64_t bytes = 0;
  if (r) {
    if constexpr (std::is_same_v<T, std::size_t>) {
      if (call.op == Op::FileRead) bytes = *r;
    }
    if (call.op == Op::FileWrite || call.op == Op::FileAppend) bytes = call.size;
  }
  after(call, r ? nullptr : &r.error(), bytes, timed ? now_ns() - start : -1);
  return r;
}

}  // namespace anyfs
