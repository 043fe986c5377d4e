// The record and chunk engines alone, beside each other in one run
// (bench/run_engines.sh starts the servers and runs the peers):
//   engine_bench meta --files N --pg URL
//     N files made (inode + entry) in transactions of 1,000 and one at a
//     time, looked up and read back, on SQLite (a pool-format file, its
//     default durability) and on PostgreSQL (a fresh schema); ops/s and the
//     ratio against SQLite.
//   engine_bench chunks --mib M --ceph CONF
//     M incompressible 1 MiB chunks put on RADOS (writes in flight, then
//     make_durable) and read back; MB/s.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "bench_support.h"
#include "chunk/hash.h"
#include "chunk/rados_chunk_store.h"
#include "meta/meta_store.h"
#include "meta/pg/pg_db.h"
#include "meta/pg/pg_meta_store.h"
#include "meta/pg/pg_schema.h"
#include "meta/schema.h"
#include "util/sqlite.h"

namespace anyfs {
namespace {

double seconds_of(const std::function<void()>& fn) {
  const auto t0 = bench::Clock::now();
  fn();
  return bench::seconds_since(t0);
}

template <class T>
T need(Result<T> r, const char* what) {
  return bench::must(std::move(r), what);
}
inline void need(Result<void> r, const char* what) { bench::must(std::move(r), what); }

struct MetaFigures {
  double batched = 0, single = 0, lookup = 0, stat = 0;  // ops/s
};

MetaFigures run_meta(MetaStore& s, int files) {
  MetaFigures f;
  need(s.begin(), "begin");
  const DatasetId ds = need(s.create_dataset("bench", 1), "dataset");
  need(s.commit(), "commit");
  auto make = [&](int n, Tid tid) {
    InodeRecord r;
    r.ino = static_cast<Ino>(n + 2);
    r.kind = FileKind::Regular;
    r.mode = 0100644;
    r.nlink = 1;
    need(s.put_inode(ds, r, tid), "put_inode");
    need(s.put_dirent(ds, {1, "file-" + std::to_string(n), r.ino, FileKind::Regular}, tid), "put_dirent");
  };
  f.batched = files / seconds_of([&] {
    for (int n = 0; n < files; ++n) {
      if (n % 1000 == 0) need(s.begin(), "begin");
      make(n, 10);
      if (n % 1000 == 999 || n == files - 1) need(s.commit(), "commit");
    }
  });
  const int singles = std::min(files, 2000);
  f.single = singles / seconds_of([&] {
    for (int n = 0; n < singles; ++n) {
      need(s.begin(), "begin");
      make(files + n, 20);
      need(s.commit(), "commit");
    }
  });
  std::mt19937 rng(3);
  f.lookup = files / seconds_of([&] {
    for (int n = 0; n < files; ++n)
      if (!need(s.lookup(ds, 1, "file-" + std::to_string(rng() % files)), "lookup")) std::exit(1);
  });
  f.stat = files / seconds_of([&] {
    for (int n = 0; n < files; ++n)
      if (!need(s.inode(ds, static_cast<Ino>(rng() % files + 2)), "inode")) std::exit(1);
  });
  return f;
}

int meta(int files, const std::string& pg_url) {
  char dir[] = "/tmp/engine-bench-XXXXXX";
  if (::mkdtemp(dir) == nullptr) return 1;
  sql::OpenOptions o;
  o.create = true;
  auto db = need(sql::Db::open(std::string(dir) + "/meta.db", o), "sqlite");
  need(create_schema(*db), "schema");
  auto sqlite_store = make_sqlite_meta_store(*db);
  const MetaFigures lite = run_meta(*sqlite_store, files);

  auto pg = need(pg::Db::connect(pg_url), "postgresql");
  const std::string schema = "bench_" + std::to_string(::getpid());
  need(pg::create_or_use_schema(*pg, schema), "schema");
  auto pg_store = make_pg_meta_store(*pg);
  const MetaFigures post = run_meta(*pg_store, files);
  need(pg::drop_schema(*pg, schema), "drop schema");
  std::filesystem::remove_all(dir);

  std::printf("%-36s %12s %12s %8s\n", "operation (ops/s)", "SQLite", "PostgreSQL", "PG/SQLite");
  auto row = [](const char* what, double a, double b) { std::printf("%-36s %12.0f %12.0f %7.2fx\n", what, a, b, b / a); };
  row("create, 1,000 per transaction", lite.batched, post.batched);
  row("create, one per transaction", lite.single, post.single);
  row("lookup of a name", lite.lookup, post.lookup);
  row("read of an inode", lite.stat, post.stat);
  return 0;
}

int chunks(int mib, const std::string& conf) {
  RadosOptions options{conf, "anyfs", "bench-" + std::to_string(::getpid())};
  options.delete_grace = std::chrono::milliseconds(0);  // removed at the end: no reader to wait for
  auto store = need(open_rados_chunk_store(options), "rados");
  // The chunks made (random bytes, hashed) before the clock starts: the
  // figure is the store's, as rados bench's is the cluster's.
  std::mt19937_64 rng(7);
  std::vector<ChunkId> ids;
  std::vector<StoredChunk> made;
  for (int n = 0; n < mib; ++n) {
    std::string data(1 << 20, '\0');
    for (std::size_t i = 0; i + 8 <= data.size(); i += 8) {
      const std::uint64_t w = rng();
      std::memcpy(data.data() + i, &w, 8);
    }
    ids.push_back(sha256(data));
    const std::uint64_t sum = xxh3(data);
    made.push_back({Codec::None, static_cast<std::uint32_t>(data.size()), std::move(data), sum});
  }
  const double put_s = seconds_of([&] {
    for (int n = 0; n < mib; ++n) need(store->put(ids[n], made[n]), "put");
    need(store->make_durable(), "make_durable");
  });
  std::size_t bytes = 0;
  const double get_s = seconds_of([&] {
    for (const ChunkId& id : ids) bytes += need(store->get(id), "get").stored.size();
  });
  for (const ChunkId& id : ids) need(store->remove(id), "remove");
  store->committed();  // the objects go (a memstore OSD holds them in memory)
  std::printf("RADOS chunk store: put %.1f MB/s, get %.1f MB/s, %d MiB of 1 MiB chunks\n",
              mib * 1.048576 / put_s, bytes / 1e6 / get_s, mib);
  return 0;
}

}  // namespace
}  // namespace anyfs

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "", pg, ceph;
  int files = 20000, mib = 256;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--files") files = std::stoi(value);
    else if (key == "--mib") mib = std::stoi(value);
    else if (key == "--pg") pg = value;
    else if (key == "--ceph") ceph = value;
  }
  if (mode == "meta" && !pg.empty()) return anyfs::meta(files, pg);
  if (mode == "chunks" && !ceph.empty()) return anyfs::chunks(mib, ceph);
  std::fprintf(stderr,
               "usage: engine_bench meta --files N --pg URL | chunks --mib M --ceph CONF\n"
               "(bench/run_engines.sh starts the servers)\n");
  return 2;
}
