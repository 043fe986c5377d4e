#include "anyfs/layers/read_only.h"

#include "fs/checks.h"
#include "layers/hook_fs.h"

namespace anyfs {
namespace {

class ReadOnlyFs final : public HookFs {
 public:
  explicit ReadOnlyFs(std::shared_ptr<Fs> inner) : HookFs(std::move(inner), Timing::Never, Handles::PassThrough) {}

 protected:
  Result<void> before(const Call& call) override {
    // Handles from here are never writable (and not wrapped), so the Fs below
    // refuses writes through them (BadHandle); bad flag sets keep their own error.
    if (call.op == Op::Open) ANYFS_CHECK(check_open_flags(call.path, static_cast<OpenFlags>(call.flags)));
    if (op_mutates(call.op, call.flags))
      return fail(Errc::ReadOnly, std::string(call.path), "the filesystem is read-only");
    return {};
  }
};

}  // namespace

std::shared_ptr<Fs> make_read_only(std::shared_ptr<Fs> inner) {
  return std::make_shared<ReadOnlyFs>(std::move(inner));
}

}  // namespace anyfs
