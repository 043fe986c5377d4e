// Path resolution and every path call, with the kernel as the oracle: the
// input is decoded into a sequence of operations (tests/support/fs_ops.h) over
// a small name space with "..", ".", symlinks (relative, absolute, dangling,
// looping), empty and over-long components and stray bytes. Each runs on a
// dataset of a fresh pool and on a HostFs over a fresh directory; every
// outcome and the final trees must match, as in the differential test — but
// here libFuzzer steers the sequence toward new code.
#include <fuzzer/FuzzedDataProvider.h>
#include <unistd.h>

#include <filesystem>

#include "anyfs/host_fs.h"
#include "anyfs/pool.h"
#include "fuzz/fuzz_check.h"
#include "support/fs_ops.h"

using namespace anyfs;
using anyfs::testing::Op;
using anyfs::testing::OpKind;

namespace {

std::string g_dir;

std::string component(FuzzedDataProvider& in) {
  static const char* k_names[] = {"a", "b", "c", "f", "g", "l", "m", "..", ".", ""};
  switch (in.ConsumeIntegralInRange<int>(0, 15)) {
    case 0: return std::string(in.ConsumeBool() ? 255 : 256, 'n');
    case 1: return in.ConsumeRandomLengthString(6);  // any bytes, NUL and '/' included
    default: return in.PickValueInArray(k_names);
  }
}

std::string path(FuzzedDataProvider& in, bool relative = false) {
  std::string out = relative ? "" : "/";
  const int depth = in.ConsumeIntegralInRange<int>(relative ? 1 : 0, 4);
  for (int i = 0; i < depth; ++i) {
    if (i > 0) out += '/';
    out += component(in);
  }
  if (in.ConsumeIntegralInRange<int>(0, 9) == 0) out += '/';
  return out.empty() ? "/" : out;
}

Op next_op(FuzzedDataProvider& in) {
  static const std::uint32_t k_modes[] = {0644, 0600, 0755, 0700, 0444, 0777, 01777, 04755};
  Op op{};
  op.kind = static_cast<OpKind>(in.ConsumeIntegralInRange<int>(0, static_cast<int>(OpKind::Count) - 1));
  op.a = path(in);
  op.b = op.kind == OpKind::Symlink ? path(in, in.ConsumeBool()) : path(in);
  op.mode = in.PickValueInArray(k_modes);
  const std::size_t size = in.ConsumeIntegralInRange<int>(0, 7) == 0 ? in.ConsumeIntegralInRange<std::size_t>(0, 100000)
                                                                      : in.ConsumeIntegralInRange<std::size_t>(0, 64);
  op.data = std::string(size, static_cast<char>('a' + in.ConsumeIntegralInRange<int>(0, 25)));
  op.n = in.ConsumeBool() ? in.ConsumeIntegralInRange<std::uint64_t>(0, 64) : in.ConsumeIntegralInRange<std::uint64_t>(0, 1 << 20);
  switch (op.kind) {
    case OpKind::Rename: op.flags = in.ConsumeIntegralInRange<std::uint32_t>(0, 2); break;
    case OpKind::SetXattr:
      op.flags = in.ConsumeIntegralInRange<std::uint32_t>(0, 2);
      op.data.resize(std::min<std::size_t>(op.data.size(), 1000));  // ext4 keeps xattrs in one block
      [[fallthrough]];
    case OpKind::RemoveXattr:
    case OpKind::GetXattr: op.b = in.ConsumeBool() ? "user.x" : "user.y"; break;
    case OpKind::OpenWrite: {
      OpenFlags f = in.ConsumeBool() ? OpenFlags::Write : OpenFlags::ReadWrite;
      static const OpenFlags k_extra[] = {OpenFlags::Create, OpenFlags::Exclusive, OpenFlags::Truncate,
                                          OpenFlags::Append, OpenFlags::NoFollow, OpenFlags::Directory};
      for (auto extra : k_extra)
        if (in.ConsumeIntegralInRange<int>(0, 2) == 0) f = f | extra;
      op.flags = static_cast<std::uint32_t>(f);
      break;
    }
    default: break;
  }
  return op;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_dir = (std::filesystem::exists("/dev/shm") ? std::string("/dev/shm") : std::filesystem::temp_directory_path().string()) +
          "/anyfs-fuzz-ops-" + std::to_string(getpid());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace sfs = std::filesystem;
  sfs::remove_all(g_dir);
  sfs::create_directories(g_dir + "/oracle");
  PoolCreateOptions options;
  options.page_size = 4096;
  auto pool = Pool::create(g_dir + "/pool", options);
  FUZZ_CHECK(pool) << pool.error().to_string();
  auto subject = (*pool)->dataset("").value();
  auto oracle = open_host_fs(g_dir + "/oracle");
  FUZZ_CHECK(oracle) << oracle.error().to_string();

  FuzzedDataProvider in(data, size);
  std::string done;
  for (int i = 0; i < 32 && in.remaining_bytes() > 0; ++i) {
    const Op op = next_op(in);
    done += "  " + op.to_string() + "\n";
    const std::string ours = apply(*subject, op);
    const std::string theirs = apply(**oracle, op);
    FUZZ_CHECK(ours == theirs) << "diverged at op #" << i << "\n  ours:   " << ours.substr(0, 300)
                               << "\n  kernel: " << theirs.substr(0, 300) << "\nops:\n" << done;
  }
  const std::string ours = anyfs::testing::dump(*subject), theirs = anyfs::testing::dump(**oracle);
  FUZZ_CHECK(ours == theirs) << "final trees differ\nours:\n" << ours << "kernel:\n" << theirs << "ops:\n" << done;
  auto report = (*pool)->verify();
  FUZZ_CHECK(report && report->ok()) << "verify after:\n" << done;
  return 0;
}
