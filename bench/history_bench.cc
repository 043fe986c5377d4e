// History workloads (issue 4), each beside its baseline in the same run.
// Results go to docs/PERFORMANCE.md, "History".
//
//   history_bench snapshot [--files N...]
//       For each N (default 1000 100000 1000000): a pool of N empty files in
//       directories of 1000; the time to take a snapshot (median of 5, a file
//       changed before each). Flat means O(1) in the tree.
//   history_bench as-of [--files N] [--rounds R]
//       N files of 10 KB (history=all), each overwritten once: reading every file
//       as of the first state vs reading it live, alternating rounds.
//   history_bench diff [--files N] [--changed C]
//       A tree of N files; snapshot; C files changed; snapshot: diff of the two
//       snapshots vs a full walk of the tree (read_dir + lstat of everything).
//   history_bench overwrite [--count K]
//       history=off, no snapshot: the metadata pages (dbstat, every table but
//       the chunks) after one 4 KB write, and after K more overwrites of it
//       through one handle with a commit every 1000.
//   history_bench reclaim [--mib M]
//       M MiB in 1 MiB files held only by a snapshot; a writer creating 4 KB
//       files, its latency p50/p99 while quiet and while the snapshot's destroy
//       is reclaimed in the background.
#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>

#include "anyfs/pool.h"
#include "bench_support.h"

namespace {

using namespace anyfs;
using namespace anyfs::bench;

struct Options {
  std::string workload;
  std::string dir = "/tmp/anyfs-history-bench";
  std::vector<int> files;
  int rounds = 5;
  int changed = 100;
  long count = 1'000'000;
  int mib = 1024;
};

std::string fresh_pool(const Options& o, const std::string& name) {
  std::filesystem::create_directories(o.dir);
  std::string p = o.dir + "/" + name;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(p + suffix);
  return p;
}

// N empty files in directories of 1000 (one commit per directory).
void fill(Pool& pool, Fs& fs, int n) {
  for (int i = 0; i < n; ++i) {
    std::string dir = "/d" + std::to_string(i / 1000);
    if (i % 1000 == 0) must(fs.mkdir(dir), "mkdir");
    auto f = must(fs.open(dir + "/f" + std::to_string(i), OpenFlags::Write | OpenFlags::Create), "create");
    must(f->close(), "close");
    if (i % 1000 == 999) must(pool.sync(), "sync");
  }
  must(pool.sync(), "sync");
}

int snapshot_time(const Options& o) {
  std::vector<int> sizes = o.files.empty() ? std::vector<int>{1000, 100'000, 1'000'000} : o.files;
  double first = 0;
  for (int n : sizes) {
    std::string path = fresh_pool(o, "snap.anyfs");
    auto pool = must(Pool::create(path, {}), "create pool");
    auto fs = must(pool->dataset(), "dataset");
    auto t0 = Clock::now();
    fill(*pool, *fs, n);
    double fill_s = seconds_since(t0);
    std::vector<double> times;
    for (int r = 0; r < 5; ++r) {
      must(fs->write_file("/d0/f0", std::to_string(r)), "write");  // something to commit
      must(pool->sync(), "sync");
      auto start = Clock::now();
      must(pool->snapshot("", "s" + std::to_string(r)), "snapshot");
      times.push_back(seconds_since(start) * 1e3);
    }
    double ms = median(times);
    if (first == 0) first = ms;
    std::printf("snapshot of %8d files: %.3f ms (median of 5; fill took %.1f s)  ratio to the first size %.2f\n", n,
                ms, fill_s, ms / first);
    must(pool->close(), "close");
  }
  return 0;
}

int as_of(const Options& o) {
  int n = o.files.empty() ? 1000 : o.files.front();
  std::string path = fresh_pool(o, "asof.anyfs");
  auto pool = must(Pool::create(path, {.properties = {{"history", "all"}}}), "create pool");
  auto fs = must(pool->dataset(), "dataset");
  std::mt19937_64 rng(1);
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) {
    names.push_back("/f" + std::to_string(i));
    must(fs->write_file(names.back(), file_content(rng, 10'000)), "write");
  }
  must(pool->sync(), "sync");
  std::uint64_t old_tid = must(pool->committed_tid(), "tid");
  for (const auto& name : names) must(fs->write_file(name, file_content(rng, 10'000)), "overwrite");
  must(pool->close(), "close");
  // Cold: each round opens the pool afresh for each side (empty caches, as a
  // command would). Warm: one view each, read again.
  std::vector<char> buf(16'384);
  auto read_all = [&](Fs& f) {
    auto start = Clock::now();
    for (const auto& name : names) {
      auto h = must(f.open(name, OpenFlags::Read), "open");
      must(h->pread(buf, 0), "read");
    }
    return seconds_since(start);
  };
  auto view = [&](bool past) {
    auto pool = must(Pool::open(path, {.read_only = true}), "open");
    std::shared_ptr<Fs> fs = past ? std::shared_ptr<Fs>(must(pool->dataset_at("", AsOf::at_tid(old_tid)), "at"))
                                  : std::shared_ptr<Fs>(must(pool->dataset(), "dataset"));
    return std::pair(pool, fs);
  };
  std::vector<double> ratios, warm_ratios;
  double live_s = 0, past_s = 0, live_warm = 0, past_warm = 0;
  for (int r = 0; r < o.rounds; ++r) {
    auto [lp, live] = view(false);
    double a = read_all(*live);
    auto [pp, past] = view(true);
    double b = read_all(*past);
    double aw = read_all(*live), bw = read_all(*past);
    live_s += a;
    past_s += b;
    live_warm += aw;
    past_warm += bw;
    ratios.push_back(b / a);
    warm_ratios.push_back(bw / aw);
  }
  std::printf("read of %d 10 KB files, cold: live %.1f us/file, as of an old TID %.1f us/file; warm: %.1f vs %.1f\n",
              n, live_s / o.rounds / n * 1e6, past_s / o.rounds / n * 1e6, live_warm / o.rounds / n * 1e6,
              past_warm / o.rounds / n * 1e6);
  report("as-of read / live read (warm)", warm_ratios, "(target: within 1.5x)");
  report("as-of read / live read (cold)", ratios, "(target: within 1.5x)");
  return 0;
}

std::uint64_t walk(Fs& fs, const std::string& dir) {
  std::uint64_t n = 0;
  for (const auto& e : must(fs.read_dir(dir), "read_dir")) {
    std::string p = dir == "/" ? "/" + e.name : dir + "/" + e.name;
    must(fs.lstat(p), "lstat");
    ++n;
    if (e.kind == FileKind::Directory) n += walk(fs, p);
  }
  return n;
}

int diff_time(const Options& o) {
  int n = o.files.empty() ? 1'000'000 : o.files.front();
  std::string path = fresh_pool(o, "diff.anyfs");
  auto pool = must(Pool::create(path, {}), "create pool");
  auto fs = must(pool->dataset(), "dataset");
  fill(*pool, *fs, n);
  must(pool->snapshot("", "a"), "snapshot");
  std::mt19937_64 rng(5);
  for (int i = 0; i < o.changed; ++i) {
    int k = static_cast<int>(rng() % static_cast<std::uint64_t>(n));
    must(fs->write_file("/d" + std::to_string(k / 1000) + "/f" + std::to_string(k), "changed"), "write");
  }
  must(pool->snapshot("", "b"), "snapshot");
  must(pool->close(), "close");
  auto reader = must(Pool::open(path, {.read_only = true}), "open");
  std::vector<double> ratios;
  double diff_s = 0, walk_s = 0;
  std::size_t changes = 0;
  std::uint64_t walked = 0;
  for (int r = 0; r < o.rounds; ++r) {
    auto start = Clock::now();
    changes = must(reader->diff("", AsOf::at_snapshot("a"), AsOf::at_snapshot("b")), "diff").size();
    double d = seconds_since(start);
    auto live = must(reader->dataset(), "dataset");
    start = Clock::now();
    walked = walk(*live, "/");
    double w = seconds_since(start);
    diff_s += d;
    walk_s += w;
    ratios.push_back(d / w);
  }
  std::printf("diff of %d changes in %d files: %.2f ms; full walk of %llu entries: %.0f ms\n",
              static_cast<int>(changes), n, diff_s / o.rounds * 1e3, static_cast<unsigned long long>(walked),
              walk_s / o.rounds * 1e3);
  report("diff / full tree walk", ratios, "(target: under 0.01)");
  return 0;
}

// The integer `sql` returns, read from the committed pool file by a connection of its own.
std::int64_t count_rows(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* stmt = nullptr;
  std::int64_t out = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
    out = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

// Bytes of every table and index but the chunk volume's.
std::int64_t metadata_bytes(const std::string& path) {
  return count_rows(path,
                    "SELECT sum(pgsize) FROM dbstat WHERE name NOT IN ('chunks', 'sqlite_autoindex_chunks_1')");
}

// Bytes of the named tables and their indexes (dbstat), as "name IN (...)" lists them.
std::int64_t table_bytes(const std::string& path, const std::string& names) {
  std::string sql = "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN (" + names + ")";
  return count_rows(path, sql.c_str());
}

const char* k_record_tables =
    "'inodes','dirents','extents','xattrs','kv','inodes_born','inodes_died','dirents_born','dirents_died',"
    "'dirents_child','dirents_closed','extents_born','extents_died','xattrs_born','xattrs_died','kv_born','kv_died'";
const char* k_journal_tables = "'txlog','txlog_time','txgs','txgs_time'";

int overwrite(const Options& o) {
  std::string path = fresh_pool(o, "overwrite.anyfs");
  std::mt19937_64 rng(3);
  {
    auto pool = must(Pool::create(path, {}), "create pool");
    must(must(pool->dataset(), "dataset")->write_file("/f", file_content(rng, 4096)), "write");
    must(pool->close(), "close");
  }
  // Settled: what prune and gc leave, compacted.
  auto settle = [&] {
    auto pool = must(Pool::open(path, {}), "open");
    must(pool->prune(), "prune");
    must(pool->gc({.grace_seconds = 0}), "gc");
    must(pool->compact(), "compact");
    must(pool->close(), "close");
  };
  settle();
  std::int64_t one = metadata_bytes(path), one_records = table_bytes(path, k_record_tables),
               one_journal = table_bytes(path, k_journal_tables);
  auto start = Clock::now();
  {
    auto pool = must(Pool::open(path, {}), "open");
    auto fs = must(pool->dataset(), "dataset");
    auto f = must(fs->open("/f", OpenFlags::Write), "open");
    for (long i = 0; i < o.count; ++i) {
      std::string data = file_content(rng, 4096);
      must(f->pwrite(data, 0), "pwrite");
      if (i % 1000 == 999) must(pool->sync(), "sync");
    }
    must(f->close(), "close");
    must(pool->close(), "close");
  }
  double s = seconds_since(start);
  std::int64_t raw = metadata_bytes(path);
  settle();
  std::int64_t after = metadata_bytes(path), after_records = table_bytes(path, k_record_tables),
               after_journal = table_bytes(path, k_journal_tables);
  std::printf("%ld overwrites of a 4 KB file, a commit every 1000 (%.1f s), history=off, no snapshot:\n", o.count, s);
  std::printf("  record tables and indexes: %lld -> %lld bytes, ratio %.3f (target: within 1.10)\n",
              static_cast<long long>(one_records), static_cast<long long>(after_records),
              static_cast<double>(after_records) / static_cast<double>(one_records));
  std::printf("  all metadata after prune+gc: %lld -> %lld bytes, ratio %.3f (the txlog, one row per commit, is "
              "%lld -> %lld); before prune+gc %lld\n",
              static_cast<long long>(one), static_cast<long long>(after),
              static_cast<double>(after) / static_cast<double>(one), static_cast<long long>(one_journal),
              static_cast<long long>(after_journal), static_cast<long long>(raw));
  return 0;
}

int reclaim(const Options& o) {
  std::string path = fresh_pool(o, "reclaim.anyfs");
  auto pool = must(Pool::create(path, {.properties = {{"compression", "off"}}}), "create pool");
  auto fs = must(pool->dataset(), "dataset");
  std::mt19937_64 rng(9);
  std::string mib(1 << 20, '\0');
  for (int i = 0; i < o.mib; ++i) {
    for (auto& c : mib) c = static_cast<char>(rng());
    must(fs->write_file("/big" + std::to_string(i), mib), "write");
  }
  must(pool->snapshot("", "held"), "snapshot");
  for (int i = 0; i < o.mib; ++i) must(fs->remove("/big" + std::to_string(i)), "remove");
  must(pool->sync(), "sync");
  std::atomic<int> phase{0};  // 0 quiet, 1 reclaiming, 2 done
  std::vector<double> quiet, busy;
  std::thread writer([&] {
    std::mt19937_64 wrng(11);
    for (int i = 0; phase.load() != 2; ++i) {
      std::string data = file_content(wrng, 4096);
      auto start = Clock::now();
      must(fs->write_file("/w" + std::to_string(i % 2000), data), "write");
      double us = seconds_since(start) * 1e6;
      (phase.load() == 0 ? quiet : busy).push_back(us);
    }
  });
  std::this_thread::sleep_for(std::chrono::seconds(2));
  auto start = Clock::now();
  phase = 1;
  must(pool->destroy_snapshot("", "held"), "destroy");
  // Wait for the background pass, watching the committed file from outside.
  double reclaim_s = 0;
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (count_rows(path, "SELECT count(*) FROM extents WHERE tid_to < 9223372036854775807") == 0) {
      reclaim_s = seconds_since(start);
      break;
    }
  }
  phase = 2;
  writer.join();
  std::printf("reclaim of a %d MiB snapshot: %.2f s; writer latency quiet p50 %.0f us p99 %.0f us (%zu ops); "
              "during reclaim p50 %.0f us p99 %.0f us (%zu ops)\n",
              o.mib, reclaim_s, percentile(quiet, 0.5), percentile(quiet, 0.99), quiet.size(), percentile(busy, 0.5),
              percentile(busy, 0.99), busy.size());
  std::printf("%-34s ratio %.3f  (target: within 2x)\n", "writer p99 reclaiming / quiet",
              percentile(busy, 0.99) / percentile(quiet, 0.99));
  must(pool->close(), "close");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (argc < 2) {
    std::fprintf(stderr, "usage: history_bench snapshot|as-of|diff|overwrite|reclaim [options] (see the source)\n");
    return 2;
  }
  o.workload = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--files")
      o.files.push_back(std::stoi(v));
    else if (k == "--rounds")
      o.rounds = std::stoi(v);
    else if (k == "--changed")
      o.changed = std::stoi(v);
    else if (k == "--count")
      o.count = std::stol(v);
    else if (k == "--mib")
      o.mib = std::stoi(v);
    else if (k == "--dir")
      o.dir = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (o.workload == "snapshot") return snapshot_time(o);
  if (o.workload == "as-of") return as_of(o);
  if (o.workload == "diff") return diff_time(o);
  if (o.workload == "overwrite") return overwrite(o);
  if (o.workload == "reclaim") return reclaim(o);
  std::fprintf(stderr, "unknown workload %s\n", o.workload.c_str());
  return 2;
}
