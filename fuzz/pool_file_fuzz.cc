// Opening a damaged pool file: the input is the whole file. The pool is opened,
// verified, walked (every dataset, snapshot and clone: listings, stats, file
// contents, symlinks, xattrs), its history read, and a change written and
// committed. Every call must return a value or a clean error; nothing may
// crash, hang or allocate without bound. The seed is a small whole pool
// (fuzz/corpus/pool_file/), remade with `ANYFS_FUZZ_MAKE_SEED=FILE pool_file_fuzz`.
#include <fuzzer/FuzzedDataProvider.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "anyfs/pool.h"
#include "fuzz/fuzz_check.h"

using namespace anyfs;
namespace fs = std::filesystem;

namespace {

std::string g_dir;

// Reads everything under `dir` (at most `budget` objects, so that a damaged
// directory cycle cannot run forever).
void walk(Fs& fs, const std::string& dir, int depth, int& budget) {
  auto entries = fs.read_dir(dir);
  if (!entries || depth > 16) return;
  for (const auto& e : *entries) {
    if (--budget < 0) return;
    std::string p = dir == "/" ? "/" + e.name : dir + "/" + e.name;
    auto st = fs.lstat(p);
    if (!st) continue;
    (void)fs.list_xattr(p);
    if (st->is_symlink()) (void)fs.readlink(p);
    if (st->is_regular() && st->size < (64u << 20)) (void)fs.read_file(p);
    if (st->is_dir()) walk(fs, p, depth + 1, budget);
  }
}

void walk(Fs& fs) {
  int budget = 2000;
  (void)fs.statfs();
  walk(fs, "/", 0, budget);
}

void exercise(Pool& pool) {
  (void)pool.verify();
  (void)pool.stats();
  (void)pool.log();
  auto names = pool.datasets();
  if (!names) return;
  for (const auto& name : *names) {
    auto ds = pool.dataset(name);
    if (ds) walk(**ds);
    auto snaps = pool.snapshots(name);
    if (!snaps) continue;
    for (const auto& snap : *snaps) {
      auto view = pool.dataset_at(name, AsOf::at_snapshot(snap.name));
      if (view) walk(**view);
      (void)pool.diff(name, AsOf::at_snapshot(snap.name), AsOf{});
    }
    (void)pool.properties(name);
  }
  auto root = pool.dataset("");
  if (root) {
    (void)(*root)->write_file("/fuzz-new", "written after the damage");
    (void)(*root)->mkdir("/fuzz-dir");
    (void)(*root)->remove("/d/small");
  }
  (void)pool.sync();
  (void)pool.verify();
}

// A small pool with a bit of everything the format has: directories, small and
// chunked files in each codec, a symlink, a hard link, xattrs, snapshots, a
// clone, a second dataset, history.
int make_seed(const std::string& file) {
  PoolCreateOptions options;
  options.page_size = 4096;
  auto pool = Pool::create(file, options);
  if (!pool) return std::fprintf(stderr, "%s\n", pool.error().to_string().c_str()), 1;
  auto& p = **pool;
  auto ds = p.dataset("").value();
  auto must = [](const auto& r) {
    if (!r) std::fprintf(stderr, "%s\n", r.error().to_string().c_str()), std::exit(1);
  };
  must(ds->mkdir("/d"));
  must(ds->write_file("/d/small", "hello, pool"));
  std::string text;
  for (int i = 0; i < 3000; ++i) text += "line " + std::to_string(i) + " of a compressible file\n";
  must(p.set_property("", "compression", "lz4"));
  must(ds->write_file("/d/lz4", text));
  must(p.set_property("", "compression", "zstd"));
  must(ds->write_file("/d/zstd", text.substr(0, 20000)));
  must(ds->symlink("d/small", "/link"));
  must(ds->link("/d/small", "/hard"));
  must(ds->set_xattr("/d/small", "user.note", "kept"));
  must(p.snapshot("", "first"));
  must(ds->write_file("/d/small", "changed after the snapshot"));
  must(ds->rename("/d/zstd", "/moved"));
  must(p.clone("", "first", "copy"));
  must(p.create_dataset("other"));
  must(p.dataset("other").value()->write_file("/x", "in another dataset"));
  must(p.snapshot("other", "s"));
  must(p.close());
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* seed = std::getenv("ANYFS_FUZZ_MAKE_SEED")) std::exit(make_seed(seed));
  g_dir = (fs::exists("/dev/shm") ? std::string("/dev/shm") : fs::temp_directory_path().string()) +
          "/anyfs-fuzz-" + std::to_string(getpid());
  fs::create_directories(g_dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string file = g_dir + "/pool";
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(file + suffix);
  {
    std::ofstream out(file, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto pool = Pool::open(file);
  if (pool) {
    exercise(**pool);
    (void)(*pool)->close();
  } else {
    FUZZ_CHECK(!pool.error().message.empty()) << "open refused without a message";
  }
  return 0;
}
