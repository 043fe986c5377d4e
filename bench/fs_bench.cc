// Benchmarks of the Fs implementations and of the layers' overhead.
//
//   build/bench/fs_bench --benchmark_min_time=0.5
//
// Families (each registered for several stacks, so ratios come from one run):
//   pread_4k/STACK     4 KiB reads through an open handle, cycling over 1 MiB (hot in cache)
//   pread_4k_random/STACK  4 KiB reads at random offsets of a 64 MiB file (past the caches)
//   stat/STACK         stat of a file three directories deep
//   small_file/IMPL    create + write 4 KiB + close + read back + remove
//   read_dir_1000/IMPL listing a directory of 1,000 files
//   rename/IMPL        a file renamed back and forth between two directories
// STACK is MemoryFs alone, with one layer each, and with a five-layer stack;
// IMPL is MemoryFs, HostFs on the machine's disk, and raw POSIX calls there
// (the ext4 baseline).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include "anyfs/host_fs.h"
#include "anyfs/layers/metrics.h"
#include "anyfs/layers/overlay.h"
#include "anyfs/layers/path_filter.h"
#include "anyfs/layers/rate_limit.h"
#include "anyfs/layers/read_only.h"
#include "anyfs/layers/subdir.h"
#include "anyfs/layers/tracing.h"
#include "anyfs/memory_fs.h"
#include "ratio_reporter.h"

namespace anyfs {
namespace {

constexpr std::size_t k_file_size = 1 << 20;
constexpr std::size_t k_read_size = 4096;

class NullSink final : public TraceSink {
 public:
  void record(const TraceEvent& e) override { benchmark::DoNotOptimize(e.latency_ns); }
};

// The value of `r`; a failed benchmark step ends the run with its error.
template <class T>
T must(Result<T> r) {
  if (!r) {
    std::fprintf(stderr, "bench failed: %s\n", r.error().to_string().c_str());
    std::exit(1);
  }
  if constexpr (!std::is_void_v<T>) return std::move(*r);
}

// A MemoryFs holding /srv/data/a/b/c/file (1 MiB); `wrap` adds layers. The
// returned Fs sees the file at /data/a/b/c/file... or, for Subdir-based stacks,
// at /a/b/c/file; `file` says which.
struct Stack {
  std::string name;
  std::function<std::shared_ptr<Fs>(std::shared_ptr<Fs>)> wrap;
  std::string file;
};

std::shared_ptr<Fs> populated() {
  auto fs = make_memory_fs();
  must(fs->mkdirs("/srv/data/a/b/c"));
  must(fs->write_file("/srv/data/a/b/c/file", std::string(k_file_size, 'x')));
  return fs;
}

PathFilterOptions rules() { return {{{FilterAction::Deny, "*.key"}, {FilterAction::Deny, "/private"}}}; }
RateLimitOptions limits() { return {1e12, 1e15, 1.0, RateLimitOptions::OnLimit::Wait}; }

const std::vector<Stack>& stacks() {
  static const std::vector<Stack> k_stacks = {
      {"MemoryFs", [](auto fs) { return fs; }, "/srv/data/a/b/c/file"},
      {"ReadOnly", [](auto fs) { return make_read_only(fs); }, "/srv/data/a/b/c/file"},
      {"Subdir", [](auto fs) { return must(make_subdir(fs, "/srv/data")); }, "/a/b/c/file"},
      {"PathFilter", [](auto fs) { return must(make_path_filter(fs, rules())); }, "/srv/data/a/b/c/file"},
      {"RateLimit", [](auto fs) { return must(make_rate_limit(fs, limits())); }, "/srv/data/a/b/c/file"},
      {"Metrics", [](auto fs) { return make_metrics(fs, std::make_shared<FsMetrics>()); }, "/srv/data/a/b/c/file"},
      {"Tracing", [](auto fs) { return make_tracing(fs, std::make_shared<NullSink>()); }, "/srv/data/a/b/c/file"},
      {"Overlay", [](auto fs) { return make_overlay(make_memory_fs(), fs); }, "/srv/data/a/b/c/file"},
      // A sandboxed, read-only, observed view of an image: what a service would run.
      {"Stack5",
       [](auto fs) {
         std::shared_ptr<Fs> out = make_overlay(make_memory_fs(), fs);
         out = must(make_subdir(out, "/srv/data"));
         out = must(make_path_filter(out, rules()));
         out = make_read_only(out);
         return make_metrics(out, std::make_shared<FsMetrics>());
       },
       "/a/b/c/file"},
      // The same with a rate limit on top (its token buckets cost a CAS each).
      {"Stack6RateLimited",
       [](auto fs) {
         std::shared_ptr<Fs> out = make_overlay(make_memory_fs(), fs);
         out = must(make_subdir(out, "/srv/data"));
         out = must(make_path_filter(out, rules()));
         out = make_read_only(out);
         out = must(make_rate_limit(out, limits()));
         return make_metrics(out, std::make_shared<FsMetrics>());
       },
       "/a/b/c/file"},
  };
  return k_stacks;
}

void pread_4k(benchmark::State& state, const Stack& stack) {
  auto fs = stack.wrap(populated());
  auto file = must(fs->open(stack.file, OpenFlags::Read));
  std::string buf(k_read_size, '\0');
  std::uint64_t offset = 0;
  for (auto _ : state) {
    auto n = file->pread(std::span<char>(buf.data(), buf.size()), offset);
    benchmark::DoNotOptimize(n);
    offset = (offset + k_read_size) % k_file_size;
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * k_read_size));
}

// 4 KiB reads at random aligned offsets of a 64 MiB file: past the L3 cache, as
// a read of data not touched recently would be.
void pread_4k_random(benchmark::State& state, const Stack& stack) {
  constexpr std::uint64_t k_big = 64ull << 20;
  auto inner = make_memory_fs();
  must(inner->mkdirs("/srv/data/a/b/c"));
  {
    auto w = must(inner->open("/srv/data/a/b/c/file", OpenFlags::Write | OpenFlags::Create));
    std::string chunk(1 << 20, 'r');
    for (std::uint64_t off = 0; off < k_big; off += chunk.size()) must(w->pwrite(chunk, off));
  }
  auto fs = stack.wrap(inner);
  auto file = must(fs->open(stack.file, OpenFlags::Read));
  std::string buf(k_read_size, '\0');
  std::uint64_t x = 88172645463325252ull;
  for (auto _ : state) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;  // xorshift64
    auto n = file->pread(std::span<char>(buf.data(), buf.size()), (x % (k_big / k_read_size)) * k_read_size);
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * k_read_size));
}

void stat_deep(benchmark::State& state, const Stack& stack) {
  auto fs = stack.wrap(populated());
  for (auto _ : state) benchmark::DoNotOptimize(fs->stat(stack.file));
}

std::string scratch_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/anyfs-bench-XXXXXX";
  return mkdtemp(pattern.data());
}

void small_file_fs(benchmark::State& state, std::function<std::shared_ptr<Fs>()> make) {
  auto fs = make();  // made here, not at registration: only a run needs it
  const std::string data(4096, 'd');
  for (auto _ : state) {
    must(fs->write_file("/f", data));
    benchmark::DoNotOptimize(must(fs->read_file("/f")));
    must(fs->remove("/f"));
  }
}

void small_file_posix(benchmark::State& state, const std::string& dir) {
  const std::string data(4096, 'd'), path = dir + "/f";
  std::string buf(8192, '\0');
  for (auto _ : state) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    benchmark::DoNotOptimize(::write(fd, data.data(), data.size()));
    ::close(fd);
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    benchmark::DoNotOptimize(::read(fd, buf.data(), buf.size()));
    ::close(fd);
    ::unlink(path.c_str());
  }
}

// Lists a directory of 1,000 files.
void read_dir_1000(benchmark::State& state, std::function<std::shared_ptr<Fs>()> make) {
  auto fs = make();
  must(fs->mkdir("/d"));
  for (int i = 0; i < 1000; ++i) must(fs->write_file("/d/file" + std::to_string(i), ""));
  for (auto _ : state) benchmark::DoNotOptimize(must(fs->read_dir("/d")));
  (void)fs->remove_all("/d");
}

// Renames a file back and forth between two directories.
void rename_file(benchmark::State& state, std::function<std::shared_ptr<Fs>()> make) {
  auto fs = make();
  must(fs->mkdirs("/a/x"));
  must(fs->mkdirs("/b/y"));
  must(fs->write_file("/a/x/f", "data"));
  for (auto _ : state) {
    must(fs->rename("/a/x/f", "/b/y/f"));
    must(fs->rename("/b/y/f", "/a/x/f"));
  }
  (void)fs->remove_all("/a");
  (void)fs->remove_all("/b");
}

void register_all() {
  // ANYFS_BENCH_ITERATIONS=N fixes the iteration count, for instruction counts
  // under callgrind (bench/count_instructions.sh), which are free of noise.
  const char* fixed = std::getenv("ANYFS_BENCH_ITERATIONS");
  for (const auto& stack : stacks()) {
    auto* b = benchmark::RegisterBenchmark(("pread_4k/" + stack.name).c_str(), pread_4k, stack);
    if (fixed) b->Iterations(std::atoll(fixed));
    benchmark::RegisterBenchmark(("pread_4k_random/" + stack.name).c_str(), pread_4k_random, stack);
    benchmark::RegisterBenchmark(("stat/" + stack.name).c_str(), stat_deep, stack);
  }
  static const std::string host_dir = scratch_dir();
  static const std::string posix_dir = scratch_dir();
  benchmark::RegisterBenchmark("small_file/MemoryFs", small_file_fs, [] { return make_memory_fs(); });
  benchmark::RegisterBenchmark("small_file/HostFs", small_file_fs, [] { return must(open_host_fs(host_dir)); });
  benchmark::RegisterBenchmark("small_file/posix_ext4", small_file_posix, posix_dir);
  benchmark::RegisterBenchmark("read_dir_1000/MemoryFs", read_dir_1000, [] { return make_memory_fs(); });
  benchmark::RegisterBenchmark("read_dir_1000/HostFs", read_dir_1000, [] { return must(open_host_fs(host_dir)); });
  benchmark::RegisterBenchmark("rename/MemoryFs", rename_file, [] { return make_memory_fs(); });
  benchmark::RegisterBenchmark("rename/HostFs", rename_file, [] { return must(open_host_fs(host_dir)); });
  std::atexit([] {
    std::filesystem::remove_all(host_dir);
    std::filesystem::remove_all(posix_dir);
  });
}

}  // namespace
}  // namespace anyfs

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  anyfs::register_all();
  anyfs::RatioReporter reporter(
      [](const std::string& family) { return family == "small_file" ? "posix_ext4" : "MemoryFs"; });
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
