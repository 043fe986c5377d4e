// Pool workloads, each beside its baseline in the same run, rounds alternating
// (A B A B ...) so that load from other jobs hits both; the figure quoted is the
// median of the per-round ratios. Results go to docs/PERFORMANCE.md.
//
// Every workload takes --page-size N (default 16384) and --compression C (default:
// the pool default) and --page-checksums on|off (default on); small-reads also
// --mmap-mib M (the reading pool's memory map) and --cache-mib C (its
// decoded-chunk cache; 0 turns it off).
//
//   pool_bench small-reads [--files N] [--rounds R] [--dir D]
//       N files of 8-12 KB in 100 directories, random whole-file reads, warm:
//       the pool's root dataset vs open/read/close of the same files on ext4.
//   pool_bench parallel-reads [--files N] [--rounds R] [--dir D]
//       The same tree read by 1 thread and by 2 (reads/s), and by 2 beside a
//       writer rewriting other files (time against 2 alone).
//   pool_bench create [--files N] [--rounds R] [--dir D]
//       N empty files created in one directory (then sync): pool vs ext4 open(O_CREAT)/close.
//   pool_bench big-write [--mib M] [--rounds R] [--dir D]
//   pool_bench write-only|read-only [--mib M] [--rounds R] [--dir D]   (one side, to profile)
//   pool_bench volumes [--mib M] [--rounds R] [--dir D]   (the pool file, 1/2/4 striped volumes, 2 mirrored)
//   pool_bench upkeep [--mib M] [--rounds R] [--dir D]    (3 volumes, mirror=2: read, scrub, drain)
//       M MiB of incompressible data written through the API in 1 MiB pieces, then
//       sync: pool vs SQLite alone ingesting the same bytes as 64 KiB blob rows
//       (WAL, a commit every 2048 rows, same page size). Then read back warm: pool
//       vs read() of a host file.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "anyfs/pool.h"
#include "bench_support.h"

namespace {

using namespace anyfs::bench;

struct Options {
  std::string workload;
  std::string dir = "/tmp/anyfs-pool-bench";
  std::string layout;  // volumes: only this layout (and one volume, the baseline)
  int files = 100'000;
  int rounds = 5;
  int mib = 1024;
  std::uint32_t page_size = 16384;
  std::string compression;  // empty: the default
  std::uint64_t mmap_mib = 0;  // 0: the default
  std::optional<std::uint64_t> cache_mib;  // unset: the default
  bool page_checksums = true;
  anyfs::PoolCreateOptions create() const {
    anyfs::PoolCreateOptions c;
    c.page_size = page_size;
    c.page_checksums = page_checksums;
    if (!compression.empty()) c.properties.emplace_back("compression", compression);
    return c;
  }
};

std::string fresh(const Options& o, const std::string& name) {
  std::string p = o.dir + "/" + name;
  std::filesystem::remove_all(p);
  return p;
}

// N files of 8-12 KB of text-like content in 100 directories, in a pool and
// in a host directory (ext4), synced and compacted; the pool reopened with
// the map asked for.
struct SmallTree {
  std::shared_ptr<anyfs::Pool> pool;
  std::shared_ptr<anyfs::Dataset> fs;
  std::string host;
  std::string pool_path;
  std::vector<std::string> names;
};

SmallTree small_tree(const Options& o, std::mt19937_64& rng) {
  SmallTree t;
  t.host = fresh(o, "small-host");
  t.pool_path = fresh(o, "small.anyfs");
  std::filesystem::remove(t.pool_path);
  std::filesystem::create_directories(t.host);
  t.pool = must(anyfs::Pool::create(t.pool_path, o.create()), "create pool");
  t.fs = must(t.pool->dataset(), "dataset");
  for (int d = 0; d < 100; ++d) {
    std::string dir = "/d" + std::to_string(d);
    std::filesystem::create_directories(t.host + dir);
    must(t.fs->mkdir(dir), "mkdir");
  }
  for (int i = 0; i < o.files; ++i) {
    std::string name = "/d" + std::to_string(i % 100) + "/f" + std::to_string(i);
    std::string data = file_content(rng, 8192 + rng() % 4096);
    must(t.fs->write_file(name, data), "write");
    int fd = ::open((t.host + name).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size())) std::exit(1);
    ::close(fd);
    t.names.push_back(name);
  }
  must(t.pool->sync(), "sync");
  must(t.pool->compact(), "compact");
  if (o.mmap_mib != 0 || o.cache_mib) {  // reopen with the map and cache asked for
    t.fs.reset();
    must(t.pool->close(), "close");
    anyfs::PoolOpenOptions open;
    if (o.mmap_mib != 0) open.mmap_bytes = o.mmap_mib << 20;
    if (o.cache_mib) open.cache_bytes = *o.cache_mib << 20;
    t.pool = must(anyfs::Pool::open(t.pool_path, open), "open pool");
    t.fs = must(t.pool->dataset(), "dataset");
  }
  std::printf("%d files of 8-12 KB written; pool file %.1f MiB for %.1f MiB of content stored\n", o.files,
              std::filesystem::file_size(t.pool_path) / 1048576.0,
              must(t.pool->stats(), "stats").chunk_stored_bytes / 1048576.0);
  return t;
}

// Reads the files order[i] for i in [from, to) whole through the pool.
void read_whole(anyfs::Fs& fs, const std::vector<std::string>& names, const std::vector<int>& order, std::size_t from,
                std::size_t to) {
  std::string buf(16384, '\0');
  for (std::size_t k = from; k < to; ++k) {
    auto f = must(fs.open(names[order[k]], anyfs::OpenFlags::Read), "open");
    std::uint64_t at = 0;
    for (;;) {
      std::size_t n = must(f->pread(buf, at), "pread");
      if (n == 0) break;
      at += n;
    }
  }
}

int small_reads(const Options& o) {
  std::mt19937_64 rng(42);
  SmallTree tree = small_tree(o, rng);
  auto& fs = tree.fs;
  auto& names = tree.names;
  const std::string& host = tree.host;
  const int reads = std::max(20'000, o.files);
  std::vector<int> order(reads);
  for (auto& x : order) x = static_cast<int>(rng() % names.size());
  std::string buf(16384, '\0');
  auto run_host = [&] {
    auto start = Clock::now();
    for (int i : order) {
      int fd = ::open((host + names[i]).c_str(), O_RDONLY);
      while (::read(fd, buf.data(), buf.size()) > 0) {
      }
      ::close(fd);
    }
    return reads / seconds_since(start);
  };
  auto run_pool = [&] {
    auto start = Clock::now();
    read_whole(*fs, names, order, 0, order.size());
    return reads / seconds_since(start);
  };
  run_host();  // warm both
  run_pool();
  std::vector<double> ratios;
  double host_rate = 0, pool_rate = 0;
  for (int r = 0; r < o.rounds; ++r) {
    host_rate = run_host();
    pool_rate = run_pool();
    ratios.push_back(pool_rate / host_rate);
  }
  std::printf("  last round: ext4 %.0f reads/s, pool %.0f reads/s\n", host_rate, pool_rate);
  report("small-reads pool/ext4 (ops/s)", ratios, "higher is better; target >= 1.35");
  fs.reset();
  must(tree.pool->close(), "close");
  return 0;
}

// CPU seconds the calling thread has used.
double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

// The same tree read by 1 and by 2 threads (each half the reads), then by 2
// threads while a writer rewrites other files of 64 KiB beside them (its
// commits come from the timer): reads/s of 2 threads over 1, and the time 2
// threads take with the writer over without. That time splits into two
// factors, from the readers' CPU time: how much more CPU each read took
// (waiting on the lock, caches shared with the writer) and how many fewer
// cores the readers got (the writer and the workers hashing and compressing
// its data ran on the rest).
int parallel_reads(const Options& o) {
  std::mt19937_64 rng(42);
  SmallTree tree = small_tree(o, rng);
  const int reads = std::max(20'000, o.files);
  std::vector<int> order(reads);
  for (auto& x : order) x = static_cast<int>(rng() % tree.names.size());
  must(tree.fs->mkdir("/w"), "mkdir");
  struct Run {
    double seconds = 0;
    double reader_cpu = 0;  // CPU seconds of the reading threads together
  };
  auto run = [&](int threads) {
    auto start = Clock::now();
    std::vector<std::thread> ts;
    std::vector<double> cpu(threads);
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&, t] {
        read_whole(*tree.fs, tree.names, order, order.size() * t / threads, order.size() * (t + 1) / threads);
        cpu[t] = thread_cpu_seconds();
      });
    for (auto& t : ts) t.join();
    Run r{seconds_since(start), 0};
    for (double c : cpu) r.reader_cpu += c;
    return r;
  };
  auto run_beside_writer = [&](int threads) {
    std::atomic<bool> stop = false;
    std::thread writer([&] {
      std::mt19937_64 wrng(7);
      std::string data = file_content(wrng, 64 << 10);
      for (int i = 0; !stop; ++i) {
        data[wrng() % data.size()] ^= 1;  // new content every time
        must(tree.fs->write_file("/w/f" + std::to_string(i % 64), data), "write");
      }
    });
    Run r = run(threads);
    stop = true;
    writer.join();
    must(tree.pool->sync(), "sync");  // its last group does not spill into the next quiet run
    return r;
  };
  run(1);  // warm
  std::vector<double> scaling, cost, cpu_per_read, cores_lost;
  Run one, two, busy;
  for (int r = 0; r < o.rounds; ++r) {
    one = run(1);
    two = run(2);
    busy = run_beside_writer(2);
    scaling.push_back(one.seconds / two.seconds);
    cost.push_back(busy.seconds / two.seconds);
    cpu_per_read.push_back(busy.reader_cpu / two.reader_cpu);
    cores_lost.push_back((two.reader_cpu / two.seconds) / (busy.reader_cpu / busy.seconds));
  }
  std::printf("  last round: 1 thread %.0f reads/s, 2 threads %.0f reads/s, 2 beside a writer %.0f reads/s\n",
              reads / one.seconds, reads / two.seconds, reads / busy.seconds);
  std::printf("  readers' cores: 1 thread %.2f, 2 threads %.2f, 2 beside the writer %.2f\n",
              one.reader_cpu / one.seconds, two.reader_cpu / two.seconds, busy.reader_cpu / busy.seconds);
  const auto stats = must(tree.pool->stats(), "stats");
  std::printf("  decoded-chunk cache: %.0f of %.0f MiB, %llu hits, %llu misses\n", stats.cache_bytes / 1048576.0,
              stats.cache_capacity / 1048576.0, static_cast<unsigned long long>(stats.cache_hits),
              static_cast<unsigned long long>(stats.cache_misses));
  report("parallel-reads 2 threads/1 (ops/s)", scaling, "higher is better; target >= 1.7");
  report("parallel-reads writer beside (time)", cost, "lower is better; target <= 1.3");
  report("  = readers' CPU per read, beside/quiet", cpu_per_read, "the lock and shared caches");
  report("  x readers' cores, quiet/beside", cores_lost, "cores the writer and workers took");
  tree.fs.reset();
  must(tree.pool->close(), "close");
  return 0;
}

int create(const Options& o) {
  std::vector<double> ratios;
  double host_rate = 0, pool_rate = 0;
  for (int r = 0; r < o.rounds; ++r) {
    // Old trees are moved aside and deleted after measuring (see FACTS: freshly
    // freed inodes slow creation on these disks).
    std::string host = fresh(o, "create-host-" + std::to_string(r));
    std::filesystem::create_directories(host);
    auto start = Clock::now();
    for (int i = 0; i < o.files; ++i) {
      int fd = ::open((host + "/f" + std::to_string(i)).c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
      ::close(fd);
    }
    ::sync();
    host_rate = o.files / seconds_since(start);
    std::string pool_path = fresh(o, "create-" + std::to_string(r) + ".anyfs");
    auto pool = must(anyfs::Pool::create(pool_path, o.create()), "create pool");
    auto fs = must(pool->dataset(), "dataset");
    start = Clock::now();
    for (int i = 0; i < o.files; ++i) {
      auto f = must(fs->open("/f" + std::to_string(i),
                             anyfs::OpenFlags::Write | anyfs::OpenFlags::Create | anyfs::OpenFlags::Exclusive),
                    "create");
      must(f->close(), "close");
    }
    must(pool->sync(), "sync");
    pool_rate = o.files / seconds_since(start);
    must(pool->close(), "close");
    ratios.push_back(pool_rate / host_rate);
  }
  for (int r = 0; r < o.rounds; ++r) {
    std::filesystem::remove_all(o.dir + "/create-host-" + std::to_string(r));
    std::filesystem::remove(o.dir + "/create-" + std::to_string(r) + ".anyfs");
  }
  std::printf("  last round: ext4 %.0f creates/s, pool %.0f creates/s\n", host_rate, pool_rate);
  report("create pool/ext4 (files/s)", ratios, "higher is better; target >= 1.0");
  return 0;
}

// `mib` pieces of 1 MiB of incompressible bytes.
std::vector<std::string> random_pieces(int mib) {
  std::mt19937_64 rng(7);
  std::vector<std::string> pieces(mib, std::string(1 << 20, '\0'));
  for (auto& p : pieces)
    for (std::size_t i = 0; i < p.size(); i += 8) {
      std::uint64_t v = rng();
      std::memcpy(p.data() + i, &v, 8);
    }
  return pieces;
}

// Writes `pieces` as /big through a handle, then syncs; returns the seconds taken.
double write_through(anyfs::Pool& pool, anyfs::Fs& fs, const std::vector<std::string>& pieces) {
  auto start = Clock::now();
  auto f = must(fs.open("/big", anyfs::OpenFlags::Write | anyfs::OpenFlags::Create), "open");
  std::uint64_t at = 0;
  for (const auto& p : pieces) {
    must(f->pwrite(p, at), "pwrite");
    at += p.size();
  }
  must(f->close(), "close");
  must(pool.sync(), "sync");
  return seconds_since(start);
}

// SQLite alone: the same bytes as 64 KiB blob rows, one writer, WAL, a commit
// every 2048 rows, checkpoint at the end (the ingest figure of FACTS.md).
double sqlite_ingest(const std::string& path, const std::vector<std::string>& pieces, std::uint32_t page_size) {
  std::filesystem::remove(path);
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  std::string setup = "PRAGMA page_size=" + std::to_string(page_size) +
                      "; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                      "CREATE TABLE c(id INTEGER PRIMARY KEY, hash BLOB, data BLOB)";
  sqlite3_exec(db, setup.c_str(), nullptr, nullptr, nullptr);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO c(hash, data) VALUES(?1, ?2)", -1, &stmt, nullptr);
  auto start = Clock::now();
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  int rows = 0;
  for (const auto& piece : pieces) {
    for (std::size_t at = 0; at < piece.size(); at += 65536) {
      sqlite3_bind_blob(stmt, 1, piece.data() + at, 32, SQLITE_STATIC);
      sqlite3_bind_blob(stmt, 2, piece.data() + at, static_cast<int>(std::min<std::size_t>(65536, piece.size() - at)),
                        SQLITE_STATIC);
      sqlite3_step(stmt);
      sqlite3_reset(stmt);
      if (++rows % 2048 == 0) sqlite3_exec(db, "COMMIT; BEGIN", nullptr, nullptr, nullptr);
    }
  }
  sqlite3_exec(db, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
  double t = seconds_since(start);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  std::filesystem::remove(path);
  return t;
}

// Reads /big whole through the pool in preads of buf's size; the seconds taken.
double read_big(anyfs::Fs& fs, std::string& buf) {
  auto t0 = Clock::now();
  auto in = must(fs.open("/big", anyfs::OpenFlags::Read), "open");
  for (std::uint64_t off = 0;;) {
    std::size_t n = must(in->pread(buf, off), "pread");
    if (n == 0) break;
    off += n;
  }
  return seconds_since(t0);
}

int big_write(const Options& o) {
  std::vector<std::string> pieces = random_pieces(o.mib);
  const double mb = o.mib * 1.048576;
  std::vector<double> write_ratios, read_ratios;
  for (int r = 0; r < o.rounds; ++r) {
    double sqlite_s = sqlite_ingest(o.dir + "/ingest.sqlite", pieces, o.page_size);
    std::string pool_path = fresh(o, "big.anyfs");
    auto pool = must(anyfs::Pool::create(pool_path, o.create()), "create pool");
    auto fs = must(pool->dataset(), "dataset");
    double pool_s = write_through(*pool, *fs, pieces);
    write_ratios.push_back(sqlite_s / pool_s);
    std::printf("  round %d: sqlite alone %.0f MB/s, pool %.0f MB/s\n", r, mb / sqlite_s, mb / pool_s);
    // Read back, warm: the pool vs read() of a host file of the same bytes.
    std::string host = o.dir + "/big.host";
    int fd = ::open(host.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    for (const auto& p : pieces)
      if (::write(fd, p.data(), p.size()) < 0) return 1;
    ::close(fd);
    std::string buf(1 << 20, '\0');
    auto read_host = [&] {
      auto t0 = Clock::now();
      int in = ::open(host.c_str(), O_RDONLY);
      while (::read(in, buf.data(), buf.size()) > 0) {
      }
      ::close(in);
      return seconds_since(t0);
    };
    auto read_pool = [&] { return read_big(*fs, buf); };
    read_host();
    read_pool();
    double host_s = read_host(), pool_read_s = read_pool();
    read_ratios.push_back(host_s / pool_read_s);
    std::printf("  round %d: read() %.0f MB/s, pool read %.0f MB/s\n", r, mb / host_s, mb / pool_read_s);
    must(pool->close(), "close");
    std::filesystem::remove(host);
    std::filesystem::remove(pool_path);
  }
  report("big-write pool/sqlite (MB/s)", write_ratios, "higher is better; target >= 0.9");
  report("big-read pool/read() (MB/s)", read_ratios, "higher is better; target >= 0.5");
  return 0;
}

// The pool half of big-write alone, for profiling (perf record pool_bench write-only).
int write_only(const Options& o) {
  std::vector<std::string> pieces = random_pieces(o.mib);
  std::string pool_path = fresh(o, "write-only.anyfs");
  auto pool = must(anyfs::Pool::create(pool_path, o.create()), "create pool");
  auto fs = must(pool->dataset(), "dataset");
  double seconds = write_through(*pool, *fs, pieces);
  std::printf("pool write %.0f MB/s\n", o.mib * 1.048576 / seconds);
  must(pool->close(), "close");
  std::filesystem::remove(pool_path);
  return 0;
}

// 1 GiB (--mib) of incompressible bytes written and synced into a pool of 0
// (the pool file alone), 1, 2 and 4 volume files with placement=stripe, and
// into 2 with mirror=2; then read back warm. Ratios against one volume, in
// the same run (issue 17's targets: 2 striped volumes >= 1.4x one; mirror=2
// >= 0.7x one copy; a mirrored read >= 1x an unmirrored one).
int volumes(const Options& o) {
  std::vector<std::string> pieces = random_pieces(o.mib);
  const double mb = o.mib * 1.048576;
  struct Layout {
    const char* name;
    int volumes;
    const char* placement;
  };
  const Layout layouts[] = {{"pool file", 0, "linear"}, {"1 volume", 1, "linear"}, {"2 striped", 2, "stripe"},
                            {"4 striped", 4, "stripe"}, {"2 mirrored", 2, "mirror=2"}};
  std::map<std::string, std::vector<double>> write_mbs, read_mbs;
  std::string buf(1 << 20, '\0');
  for (int r = 0; r < o.rounds; ++r) {
    for (const Layout& l : layouts) {
      if (!o.layout.empty() && o.layout != l.name && std::string(l.name) != "1 volume") continue;
      std::string pool_path = fresh(o, "volumes.anyfs");
      anyfs::PoolCreateOptions c = o.create();
      c.properties.emplace_back("placement", l.placement);
      for (int v = 0; v < l.volumes; ++v) {
        const std::string vol = o.dir + "/volumes.v" + std::to_string(v);
        std::filesystem::remove(vol);
        c.volumes.push_back({vol, 0});
      }
      auto pool = must(anyfs::Pool::create(pool_path, c), "create pool");
      auto fs = must(pool->dataset(), "dataset");
      const double w = mb / write_through(*pool, *fs, pieces);
      read_big(*fs, buf);
      const double rd = mb / read_big(*fs, buf);
      write_mbs[l.name].push_back(w);
      read_mbs[l.name].push_back(rd);
      std::printf("  round %d: %-10s write %6.0f MB/s, read %6.0f MB/s\n", r, l.name, w, rd);
      must(pool->close(), "close");
      std::filesystem::remove(pool_path);
      for (int v = 0; v < l.volumes; ++v) std::filesystem::remove(o.dir + "/volumes.v" + std::to_string(v));
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double one_w = median(write_mbs["1 volume"]), one_r = median(read_mbs["1 volume"]);
  for (const Layout& l : layouts) {
    if (write_mbs[l.name].empty()) continue;
    std::printf("%-10s write %6.0f MB/s (%.2fx one volume), read %6.0f MB/s (%.2fx)\n", l.name,
                median(write_mbs[l.name]), median(write_mbs[l.name]) / one_w, median(read_mbs[l.name]),
                median(read_mbs[l.name]) / one_r);
  }
  return 0;
}

// The upkeep of a pool of three volumes with mirror=2 (issue 17): --mib of
// incompressible bytes written, read back warm (the pool's sequential read
// rate), scrubbed (every copy read and both checksums checked), then one
// volume drained onto the others. Scrub's rate is the stored bytes of every
// copy it read a second, against the read's; the drain's the bytes it moved.
int upkeep(const Options& o) {
  std::vector<std::string> pieces = random_pieces(o.mib);
  const double mb = o.mib * 1.048576;
  std::string buf(1 << 20, '\0');
  std::vector<double> reads, scrubs, drains;
  for (int r = 0; r < o.rounds; ++r) {
    std::string pool_path = fresh(o, "upkeep.anyfs");
    anyfs::PoolCreateOptions c = o.create();
    c.properties.emplace_back("placement", "mirror=2");
    for (int v = 0; v < 3; ++v) {
      const std::string vol = o.dir + "/upkeep.v" + std::to_string(v);
      std::filesystem::remove(vol);
      c.volumes.push_back({vol, 0});
    }
    auto pool = must(anyfs::Pool::create(pool_path, c), "create pool");
    auto fs = must(pool->dataset(), "dataset");
    write_through(*pool, *fs, pieces);
    read_big(*fs, buf);
    const double rd = mb / read_big(*fs, buf);
    const auto t0 = std::chrono::steady_clock::now();
    const anyfs::ScrubReport scrub = must(pool->scrub(), "scrub");
    const double scrub_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double scrub_mbs = static_cast<double>(scrub.bytes_read) / 1e6 / scrub_s;
    const auto t1 = std::chrono::steady_clock::now();
    const anyfs::EvacuationReport drain = must(pool->remove_volume(o.dir + "/upkeep.v0"), "remove volume");
    const double drain_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    const double drain_mbs = static_cast<double>(drain.bytes_moved) / 1e6 / drain_s;
    std::printf("  round %d: read %6.0f MB/s, scrub %6.0f MB/s of copies (%.2fx the read), drain %6.0f MB/s\n", r, rd,
                scrub_mbs, scrub_mbs / rd, drain_mbs);
    reads.push_back(rd);
    scrubs.push_back(scrub_mbs);
    drains.push_back(drain_mbs);
    must(pool->close(), "close");
    std::filesystem::remove(pool_path);
    for (int v = 0; v < 3; ++v) std::filesystem::remove(o.dir + "/upkeep.v" + std::to_string(v));
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf("read %6.0f MB/s, scrub %6.0f MB/s (%.2fx the read), drain %6.0f MB/s\n", median(reads), median(scrubs),
              median(scrubs) / median(reads), median(drains));
  return 0;
}

// The pool's read back of big-write alone, for profiling (perf record
// pool_bench read-only): written once, then read --rounds times warm.
int read_only(const Options& o) {
  std::vector<std::string> pieces = random_pieces(o.mib);
  std::string pool_path = fresh(o, "read-only.anyfs");
  auto pool = must(anyfs::Pool::create(pool_path, o.create()), "create pool");
  auto fs = must(pool->dataset(), "dataset");
  write_through(*pool, *fs, pieces);
  std::string buf(1 << 20, '\0');
  for (int r = 0; r <= o.rounds; ++r) {
    const double seconds = read_big(*fs, buf);
    if (r > 0) std::printf("pool read %.0f MB/s\n", o.mib * 1.048576 / seconds);
  }
  must(pool->close(), "close");
  std::filesystem::remove(pool_path);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (argc < 2) {
    std::fprintf(stderr, "usage: pool_bench small-reads|parallel-reads|create|big-write [--files N] [--rounds R] [--mib M] [--dir D]\n");
    return 2;
  }
  o.workload = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--files") o.files = std::atoi(argv[i + 1]);
    else if (k == "--rounds") o.rounds = std::atoi(argv[i + 1]);
    else if (k == "--mib") o.mib = std::atoi(argv[i + 1]);
    else if (k == "--dir") o.dir = argv[i + 1];
    else if (k == "--layout") o.layout = argv[i + 1];
    else if (k == "--page-size") o.page_size = static_cast<std::uint32_t>(std::atoi(argv[i + 1]));
    else if (k == "--compression") o.compression = argv[i + 1];
    else if (k == "--mmap-mib") o.mmap_mib = std::strtoull(argv[i + 1], nullptr, 10);
    else if (k == "--cache-mib") o.cache_mib = std::strtoull(argv[i + 1], nullptr, 10);
    else if (k == "--page-checksums") o.page_checksums = std::string(argv[i + 1]) != "off";
    else return std::fprintf(stderr, "unknown option %s\n", k.c_str()), 2;
  }
  std::filesystem::create_directories(o.dir);
  if (o.workload == "small-reads") return small_reads(o);
  if (o.workload == "parallel-reads") return parallel_reads(o);
  if (o.workload == "create") return create(o);
  if (o.workload == "big-write") return big_write(o);
  if (o.workload == "write-only") return write_only(o);
  if (o.workload == "read-only") return read_only(o);
  if (o.workload == "volumes") return volumes(o);
  if (o.workload == "upkeep") return upkeep(o);
  std::fprintf(stderr, "unknown workload %s\n", o.workload.c_str());
  return 2;
}
