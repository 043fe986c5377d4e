#include "anyfs/layers/read_only.h"

#include "fs/checks.h"
#include "layers/hook_fs.h"

namespace anyfs {
namespace {

struct ReadOnlyHooks {
  static constexpr Timing k_timing = Timing::Never;
  // Handles from here are never writable, so the Fs below refuses writes
  // through them (BadHandle); there is nothing to add on handle calls.
  static constexpr bool k_wrap_handles = false;

  Result<void> before(const Call& call) {
    if (call.op == Op::Open) ANYFS_CHECK(check_open_flags(call.path, static_cast<OpenFlags>(call.flags)));
    if (op_mutates(call.op, call.flags))
      return fail(Errc::ReadOnly, std::string(call.path), "the filesystem is read-only");
    return {};
  }
  void after(const Call&, const Error*, std::uint64_t, std::int64_t) {}
  bool time_call() { return false; }
};

}  // namespace

std::shared_ptr<Fs> make_read_only(std::shared_ptr<Fs> inner) {
  return make_hook_fs(std::move(inner), ReadOnlyHooks{});
}

}  // namespace anyfs
