// The FUSE mount against its baselines, all in one run with rounds alternating
// (A B C A B C ...), so that load from other jobs hits every subject; the
// figures quoted are medians of per-round ratios. Results go to
// docs/PERFORMANCE.md ("Mount").
//
//   mount_bench seq [--mib M] [--rounds R] [--dir D]
//       M MiB of incompressible data written with 1 MiB write()s then fsync,
//       and read back with 1 MiB read()s after dropping the page cache (as
//       root; warm otherwise): through the mount, through the C++ API (1 MiB
//       pwrite/pread on a Dataset file), and on ext4 directly.
//   Both take --threads T: the mount's serving threads (default: MountOptions').
//
//   mount_bench small [--files N] [--rounds R] [--dir D]
//       N files of 1 KiB in 100 directories: create (open, write, close), stat,
//       delete, timed apart: through the mount, through bindfs over ext4 (the
//       cost of FUSE itself), and on ext4 directly.
//
//   mount_bench parallel-reads [--files N] [--rounds R] [--dir D]
//       N files of 8-12 KB read whole at random by 1 and by 2 threads through
//       the mount, the kernel's caches dropped before each pass (root), so
//       every lookup, open and read reaches the daemon (its own caches warm);
//       ext4 beside it, cold, for reference.
#include <fcntl.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "anyfs/mount.h"
#include "anyfs/pool.h"
#include "bench_support.h"

extern char** environ;

namespace {

using namespace anyfs::bench;

struct Options {
  std::string workload;
  std::string dir = "/tmp/anyfs-mount-bench";
  int mib = 1024;
  int files = 100'000;
  int rounds = 3;
  unsigned threads = anyfs::MountOptions{}.max_threads;
};

unsigned g_threads = anyfs::MountOptions{}.max_threads;

void drop_caches() {
  ::sync();
  std::ofstream("/proc/sys/vm/drop_caches") << "3\n";
}

void check(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "%s: %s\n", what.c_str(), std::strerror(errno));
    std::exit(1);
  }
}

// A pool mounted in this process; stop() unmounts and closes the pool.
struct MountedPool {
  std::shared_ptr<anyfs::Pool> pool;
  std::shared_ptr<anyfs::Dataset> dataset;
  std::unique_ptr<anyfs::Mount> mount;

  MountedPool(const std::string& pool_path, const std::string& mountpoint, bool create) {
    pool = create ? must(anyfs::Pool::create(pool_path), "create pool") : must(anyfs::Pool::open(pool_path), "open pool");
    dataset = must(pool->dataset(), "dataset");
    std::filesystem::create_directories(mountpoint);
    mount = must(anyfs::Mount::start(pool, dataset, mountpoint, {.max_threads = g_threads}), "mount");
  }
  void stop() {
    must(mount->stop(), "unmount");
    mount.reset();
    dataset.reset();
    must(pool->close(), "close pool");
  }
};

// --- seq ------------------------------------------------------------------------------

std::vector<std::string> random_pieces(int mib) {
  std::mt19937_64 rng(42);
  std::vector<std::string> pieces(static_cast<std::size_t>(mib));
  for (auto& p : pieces) {
    p.resize(1 << 20);
    for (std::size_t i = 0; i < p.size(); i += 8) {
      std::uint64_t v = rng();
      std::memcpy(p.data() + i, &v, 8);
    }
  }
  return pieces;
}

double posix_write(const std::string& path, const std::vector<std::string>& pieces) {
  auto start = Clock::now();
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  check(fd >= 0, "open " + path);
  for (const auto& p : pieces) check(::write(fd, p.data(), p.size()) == static_cast<ssize_t>(p.size()), "write");
  check(::fsync(fd) == 0, "fsync");
  ::close(fd);
  return seconds_since(start);
}

double posix_read(const std::string& path, std::size_t expect) {
  std::vector<char> buf(1 << 20);
  auto start = Clock::now();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  check(fd >= 0, "open " + path);
  std::size_t total = 0;
  for (ssize_t n; (n = ::read(fd, buf.data(), buf.size())) > 0;) total += static_cast<std::size_t>(n);
  ::close(fd);
  double s = seconds_since(start);
  if (total != expect) {
    std::fprintf(stderr, "read %zu of %zu bytes from %s\n", total, expect, path.c_str());
    std::exit(1);
  }
  return s;
}

int run_seq(const Options& o) {
  auto pieces = random_pieces(o.mib);
  const std::size_t bytes = static_cast<std::size_t>(o.mib) << 20;
  const bool cold = ::geteuid() == 0;
  std::map<std::string, std::vector<double>> w, r;
  for (int round = 0; round < o.rounds; ++round) {
    std::filesystem::remove_all(o.dir);
    std::filesystem::create_directories(o.dir);
    // Through the mount.
    {
      MountedPool m(o.dir + "/m.anyfs", o.dir + "/mnt", true);
      w["mount"].push_back(posix_write(o.dir + "/mnt/big", pieces));
      m.stop();
      if (cold) drop_caches();
      MountedPool again(o.dir + "/m.anyfs", o.dir + "/mnt", false);
      r["mount"].push_back(posix_read(o.dir + "/mnt/big", bytes));
      again.stop();
    }
    // Through the C++ API.
    {
      auto pool = must(anyfs::Pool::create(o.dir + "/a.anyfs"), "create");
      auto ds = must(pool->dataset(), "dataset");
      auto start = Clock::now();
      auto f = must(ds->open("/big", anyfs::OpenFlags::Write | anyfs::OpenFlags::Create), "open");
      std::uint64_t at = 0;
      for (const auto& p : pieces) {
        must(f->pwrite(p, at), "pwrite");
        at += p.size();
      }
      must(f->fsync(), "fsync");
      must(f->close(), "close");
      w["api"].push_back(seconds_since(start));
      ds.reset();
      must(pool->close(), "close pool");
      if (cold) drop_caches();
      pool = must(anyfs::Pool::open(o.dir + "/a.anyfs"), "open");
      ds = must(pool->dataset(), "dataset");
      std::vector<char> buf(1 << 20);
      start = Clock::now();
      f = must(ds->open("/big", anyfs::OpenFlags::Read), "open");
      std::size_t total = 0;
      for (std::size_t n; (n = must(f->pread(buf, total), "pread")) > 0;) total += n;
      r["api"].push_back(seconds_since(start));
      if (total != bytes) std::exit(1);
      must(f->close(), "close");
    }
    // ext4 directly.
    w["ext4"].push_back(posix_write(o.dir + "/big", pieces));
    if (cold) drop_caches();
    r["ext4"].push_back(posix_read(o.dir + "/big", bytes));
    std::printf("round %d: write s mount %.2f api %.2f ext4 %.2f | read s mount %.2f api %.2f ext4 %.2f\n", round,
                w["mount"].back(), w["api"].back(), w["ext4"].back(), r["mount"].back(), r["api"].back(),
                r["ext4"].back());
  }
  auto ratios = [&](auto& t, const char* a, const char* b) {
    std::vector<double> out;
    for (std::size_t i = 0; i < t[a].size(); ++i) out.push_back(t[b][i] / t[a][i]);
    return out;
  };
  std::printf("%d MiB, %s reads\n", o.mib, cold ? "cold (page cache dropped)" : "warm");
  report("seq write: mount vs API", ratios(w, "mount", "api"), "throughput ratio (>= 0.7 wanted)");
  report("seq write: mount vs ext4", ratios(w, "mount", "ext4"), "throughput ratio");
  report("seq read: mount vs API", ratios(r, "mount", "api"), "throughput ratio (>= 0.7 wanted)");
  report("seq read: mount vs ext4", ratios(r, "mount", "ext4"), "throughput ratio");
  std::printf("median MB/s: write mount %.0f api %.0f ext4 %.0f | read mount %.0f api %.0f ext4 %.0f\n",
              o.mib * 1.048576 / median(w["mount"]), o.mib * 1.048576 / median(w["api"]),
              o.mib * 1.048576 / median(w["ext4"]), o.mib * 1.048576 / median(r["mount"]),
              o.mib * 1.048576 / median(r["api"]), o.mib * 1.048576 / median(r["ext4"]));
  std::filesystem::remove_all(o.dir);
  return 0;
}

// --- parallel-reads ------------------------------------------------------------------------

// Reads names[order[k]] whole for k in [from, to) with open/read/close.
void read_files(const std::vector<std::string>& names, const std::vector<int>& order, std::size_t from,
                std::size_t to) {
  std::vector<char> buf(16384);
  for (std::size_t k = from; k < to; ++k) {
    int fd = ::open(names[order[k]].c_str(), O_RDONLY | O_CLOEXEC);
    check(fd >= 0, "open " + names[order[k]]);
    while (::read(fd, buf.data(), buf.size()) > 0) {
    }
    ::close(fd);
  }
}

// Reads every file in random order by `threads` threads (each a share), after
// the kernel's caches are dropped (as root) so each open, lookup and read
// reaches the daemon; returns reads per second.
double parallel_pass(const std::vector<std::string>& names, std::mt19937_64& rng, int threads) {
  std::vector<int> order(names.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::shuffle(order.begin(), order.end(), rng);
  drop_caches();
  auto start = Clock::now();
  std::vector<std::thread> running;
  for (int t = 0; t < threads; ++t)
    running.emplace_back(read_files, std::cref(names), std::cref(order), names.size() * t / threads,
                         names.size() * (t + 1) / threads);
  for (auto& t : running) t.join();
  return static_cast<double>(names.size()) / seconds_since(start);
}

int run_parallel_reads(const Options& o) {
  if (::geteuid() != 0) {
    std::fprintf(stderr, "parallel-reads drops the kernel's caches: run it as root\n");
    return 1;
  }
  std::filesystem::remove_all(o.dir);
  std::filesystem::create_directories(o.dir + "/ext4");
  std::mt19937_64 rng(42);
  std::vector<std::string> rel;
  {
    auto pool = must(anyfs::Pool::create(o.dir + "/p.anyfs"), "create pool");
    auto ds = must(pool->dataset(), "dataset");
    for (int d = 0; d < 100; ++d) {
      must(ds->mkdir("/d" + std::to_string(d)), "mkdir");
      std::filesystem::create_directories(o.dir + "/ext4/d" + std::to_string(d));
    }
    for (int i = 0; i < o.files; ++i) {
      rel.push_back("/d" + std::to_string(i % 100) + "/f" + std::to_string(i));
      const std::string data = file_content(rng, 8192 + rng() % 4096);
      must(ds->write_file(rel.back(), data), "write");
      std::ofstream(o.dir + "/ext4" + rel.back(), std::ios::binary) << data;
    }
    ds.reset();
    must(pool->close(), "close pool");
  }
  MountedPool m(o.dir + "/p.anyfs", o.dir + "/mnt", false);
  std::vector<std::string> in_mount, in_ext4;
  for (const auto& r : rel) {
    in_mount.push_back(o.dir + "/mnt" + r);
    in_ext4.push_back(o.dir + "/ext4" + r);
  }
  parallel_pass(in_mount, rng, 1);  // the daemon's caches warm: what is measured is the path through it
  std::vector<double> mount_ratios, ext4_ratios;
  for (int round = 0; round < o.rounds; ++round) {
    const double m1 = parallel_pass(in_mount, rng, 1), m2 = parallel_pass(in_mount, rng, 2);
    const double e1 = parallel_pass(in_ext4, rng, 1), e2 = parallel_pass(in_ext4, rng, 2);
    mount_ratios.push_back(m2 / m1);
    ext4_ratios.push_back(e2 / e1);
    std::printf("round %d: mount 1 thread %.0f reads/s, 2 threads %.0f | ext4 (cold) 1 thread %.0f, 2 threads %.0f\n",
                round, m1, m2, e1, e2);
  }
  m.stop();
  std::printf("%d files of 8-12 KB, kernel caches dropped before each pass, %u serving threads\n", o.files, g_threads);
  report("mount reads: 2 threads / 1", mount_ratios, "higher is better; 2 cores");
  report("ext4 reads (cold): 2 threads / 1", ext4_ratios, "the same on ext4, from disk");
  std::filesystem::remove_all(o.dir);
  return 0;
}

// --- small ------------------------------------------------------------------------------

struct Phases {
  double create = 0, stat = 0, remove = 0;
};

Phases small_files(const std::string& root, int files) {
  std::string data(1024, 'x');
  auto name = [&](int i) { return root + "/d" + std::to_string(i % 100) + "/f" + std::to_string(i); };
  for (int d = 0; d < 100; ++d) check(::mkdir((root + "/d" + std::to_string(d)).c_str(), 0755) == 0, "mkdir");
  Phases p;
  auto start = Clock::now();
  for (int i = 0; i < files; ++i) {
    int fd = ::open(name(i).c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    check(fd >= 0, "create " + name(i));
    check(::write(fd, data.data(), data.size()) == 1024, "write");
    ::close(fd);
  }
  p.create = seconds_since(start);
  start = Clock::now();
  struct stat st {};
  for (int i = 0; i < files; ++i) check(::stat(name(i).c_str(), &st) == 0 && st.st_size == 1024, "stat");
  p.stat = seconds_since(start);
  start = Clock::now();
  for (int i = 0; i < files; ++i) check(::unlink(name(i).c_str()) == 0, "unlink");
  p.remove = seconds_since(start);
  return p;
}

bool spawn_wait(std::vector<const char*> argv) {
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawnp(&pid, argv[0], nullptr, nullptr, const_cast<char**>(argv.data()), environ) != 0) return false;
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int run_small(const Options& o) {
  std::map<std::string, std::vector<Phases>> t;
  for (int round = 0; round < o.rounds; ++round) {
    std::filesystem::remove_all(o.dir);
    std::filesystem::create_directories(o.dir + "/ext4");
    std::filesystem::create_directories(o.dir + "/under");
    std::filesystem::create_directories(o.dir + "/bind");
    {
      MountedPool m(o.dir + "/p.anyfs", o.dir + "/mnt", true);
      t["mount"].push_back(small_files(o.dir + "/mnt", o.files));
      m.stop();
    }
    if (!spawn_wait({"bindfs", (o.dir + "/under").c_str(), (o.dir + "/bind").c_str()})) {
      std::fprintf(stderr, "bindfs failed (Debian package bindfs)\n");
      return 1;
    }
    t["bindfs"].push_back(small_files(o.dir + "/bind", o.files));
    spawn_wait({"fusermount3", "-u", (o.dir + "/bind").c_str()}) || spawn_wait({"umount", (o.dir + "/bind").c_str()});
    t["ext4"].push_back(small_files(o.dir + "/ext4", o.files));
    for (const char* s : {"mount", "bindfs", "ext4"})
      std::printf("round %d %-6s create %.2f s, stat %.2f s, delete %.2f s\n", round, s, t[s].back().create,
                  t[s].back().stat, t[s].back().remove);
  }
  auto ratios = [&](const char* base, double Phases::*phase) {
    std::vector<double> out;
    for (std::size_t i = 0; i < t["mount"].size(); ++i) out.push_back(t[base][i].*phase / (t["mount"][i].*phase));
    return out;
  };
  std::printf("%d files of 1 KiB in 100 directories\n", o.files);
  for (auto [label, phase] : {std::pair{"create", &Phases::create}, std::pair{"stat", &Phases::stat},
                              std::pair{"delete", &Phases::remove}}) {
    report((std::string(label) + ": mount vs ext4").c_str(), ratios("ext4", phase), "throughput ratio (>= 0.5 wanted)");
    report((std::string(label) + ": mount vs bindfs").c_str(), ratios("bindfs", phase),
           "throughput ratio (>= 1 wanted)");
  }
  std::filesystem::remove_all(o.dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (argc < 2) {
    std::fprintf(stderr, "usage: mount_bench seq|small|parallel-reads [--mib M] [--files N] [--rounds R] [--dir D]\n");
    return 2;
  }
  o.workload = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--mib") o.mib = std::stoi(v);
    else if (k == "--files") o.files = std::stoi(v);
    else if (k == "--rounds") o.rounds = std::stoi(v);
    else if (k == "--dir") o.dir = v;
    else if (k == "--threads") g_threads = o.threads = static_cast<unsigned>(std::stoi(v));
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (auto r = anyfs::fuse_available(); !r) {
    std::fprintf(stderr, "no FUSE: %s\n", r.error().to_string().c_str());
    return 1;
  }
  if (o.workload == "seq") return run_seq(o);
  if (o.workload == "small") return run_small(o);
  if (o.workload == "parallel-reads") return run_parallel_reads(o);
  std::fprintf(stderr, "unknown workload %s\n", o.workload.c_str());
  return 2;
}
