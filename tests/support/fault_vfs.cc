#include "support/fault_vfs.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "util/shim_vfs.h"

namespace anyfs::testing {
namespace {

// One write or truncate not yet made durable by a sync of its file.
struct Change {
  bool truncate = false;
  std::int64_t offset = 0;   // write: where; truncate: the new size
  std::string data;          // write: the bytes written
  std::string old_data;      // the bytes it replaced (up to the old end of file)
  std::int64_t old_size = 0;  // the file size before it
};

struct State {
  std::mutex mu;
  sql::ShimVfs vfs;  // over the default VFS
  std::map<std::string, std::vector<Change>> unsynced;  // by file path
  std::uint64_t syncs = 0, writes = 0;
  std::uint64_t cut_at = 0, fail_write_at = 0;
  int fail_code = SQLITE_IOERR_WRITE;
  // fail_nth: one planned fault.
  std::uint64_t counts[5] = {};
  int fault_op = -1;
  std::uint64_t fault_at = 0;
  FaultVfs::Fault fault = FaultVfs::Fault::Eio;
  bool injected = false;
  bool torn = false;
  std::uint64_t seed = 0;
  bool dead = false;
  std::uint64_t pool_reads = 0, flip_at = 0, flip_seed = 0;
  bool flipped = false;
};

State& state() {
  static State s;
  return s;
}

struct FaultFile : sql::ShimFile {
  std::string* path;  // null for files without a name (temp files): not tracked
};

FaultFile* of(sqlite3_file* f) { return static_cast<FaultFile*>(sql::shim_file(f)); }
sqlite3_file* real_of(sqlite3_file* f) { return sql::real_file(f); }

// What SQLite's unix VFS returns when the OS reports `fault` during `op`.
int sqlite_code(FaultVfs::Op op, FaultVfs::Fault fault) {
  using Op = FaultVfs::Op;
  if (op == Op::Open) return SQLITE_CANTOPEN;  // EIO, ENOSPC and EMFILE alike
  if (fault == FaultVfs::Fault::NoSpace && (op == Op::Write || op == Op::Truncate)) return SQLITE_FULL;
  switch (op) {
    case Op::Read: return SQLITE_IOERR_READ;
    case Op::Write: return SQLITE_IOERR_WRITE;
    case Op::Sync: return SQLITE_IOERR_FSYNC;
    case Op::Truncate: return SQLITE_IOERR_TRUNCATE;
    case Op::Open: break;
  }
  return SQLITE_IOERR;
}

// Counts an operation; returns the code to fail it with, or SQLITE_OK.
// REQUIRES: s.mu held.
int planned_fault(State& s, FaultVfs::Op op) {
  auto i = static_cast<int>(op);
  if (++s.counts[i] != s.fault_at || s.fault_op != i) return SQLITE_OK;
  s.injected = true;
  return sqlite_code(op, s.fault);
}

// Restores `path` to its last synced content, then (torn) replays a prefix.
void power_cut_file(const std::string& path, const std::vector<Change>& changes, std::mt19937_64& rng, bool torn) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return;
  for (auto it = changes.rbegin(); it != changes.rend(); ++it) {
    if (!it->old_data.empty())
      (void)!::pwrite(fd, it->old_data.data(), it->old_data.size(), it->offset);
    (void)!::ftruncate(fd, it->old_size);
  }
  if (torn && !changes.empty()) {
    std::size_t keep = rng() % (changes.size() + 1);
    for (std::size_t i = 0; i < keep && i < changes.size(); ++i) {
      const Change& c = changes[i];
      if (c.truncate) {
        (void)!::ftruncate(fd, c.offset);
        continue;
      }
      std::size_t n = c.data.size();
      if (i + 1 == keep && rng() % 2 == 0) n = (rng() % (n / 512 + 1)) * 512;  // torn at a sector
      (void)!::pwrite(fd, c.data.data(), std::min(n, c.data.size()), c.offset);
    }
  }
  ::close(fd);
}

// REQUIRES: s.mu held.
void power_cut(State& s) {
  s.dead = true;
  std::mt19937_64 rng(s.seed);
  for (const auto& [path, changes] : s.unsynced) power_cut_file(path, changes, rng, s.torn);
  s.unsynced.clear();
}

int x_close(sqlite3_file* f) {
  auto* ff = of(f);
  int rc = ff->real->pMethods->xClose(ff->real);
  delete ff->path;
  ff->path = nullptr;
  return rc;
}

int x_read(sqlite3_file* f, void* buf, int amt, sqlite3_int64 off) {
  {
    std::lock_guard lock(state().mu);
    if (state().dead) return SQLITE_IOERR_READ;
    if (int rc = planned_fault(state(), FaultVfs::Op::Read); rc != SQLITE_OK) return rc;
  }
  int rc = real_of(f)->pMethods->xRead(real_of(f), buf, amt, off);
  const std::string* path = of(f)->path;
  if (rc != SQLITE_OK || path == nullptr || path->ends_with("-wal") || path->ends_with("-journal") || amt <= 0)
    return rc;
  std::lock_guard lock(state().mu);
  State& s = state();
  if (++s.pool_reads == s.flip_at) {
    std::mt19937_64 rng(s.flip_seed);
    auto* bytes = static_cast<unsigned char*>(buf);
    bytes[rng() % static_cast<std::uint64_t>(amt)] ^= static_cast<unsigned char>(1u << (rng() % 8));
    s.flipped = true;
  }
  return rc;
}

int x_write(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
  auto* ff = of(f);
  State& s = state();
  std::lock_guard lock(s.mu);
  if (s.dead) return SQLITE_IOERR_WRITE;
  if (++s.writes == s.fail_write_at) return s.fail_code;
  if (int rc = planned_fault(s, FaultVfs::Op::Write); rc != SQLITE_OK) return rc;
  if (ff->path != nullptr) {
    Change c;
    c.offset = off;
    c.data.assign(static_cast<const char*>(buf), static_cast<std::size_t>(amt));
    sqlite3_int64 size = 0;
    ff->real->pMethods->xFileSize(ff->real, &size);
    c.old_size = size;
    if (off < size) {
      std::size_t n = static_cast<std::size_t>(std::min<sqlite3_int64>(amt, size - off));
      c.old_data.resize(n);
      ff->real->pMethods->xRead(ff->real, c.old_data.data(), static_cast<int>(n), off);
    }
    s.unsynced[*ff->path].push_back(std::move(c));
  }
  return ff->real->pMethods->xWrite(ff->real, buf, amt, off);
}

int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  auto* ff = of(f);
  State& s = state();
  std::lock_guard lock(s.mu);
  if (s.dead) return SQLITE_IOERR_TRUNCATE;
  if (int rc = planned_fault(s, FaultVfs::Op::Truncate); rc != SQLITE_OK) return rc;
  if (ff->path != nullptr) {
    Change c;
    c.truncate = true;
    c.offset = size;
    sqlite3_int64 old = 0;
    ff->real->pMethods->xFileSize(ff->real, &old);
    c.old_size = old;
    if (size < old) {
      c.old_data.resize(static_cast<std::size_t>(old - size));
      ff->real->pMethods->xRead(ff->real, c.old_data.data(), static_cast<int>(old - size), size);
    }
    s.unsynced[*ff->path].push_back(std::move(c));
  }
  return ff->real->pMethods->xTruncate(ff->real, size);
}

int x_sync(sqlite3_file* f, int flags) {
  auto* ff = of(f);
  State& s = state();
  std::lock_guard lock(s.mu);
  if (s.dead) return SQLITE_IOERR_FSYNC;
  if (++s.syncs == s.cut_at) {
    power_cut(s);
    return SQLITE_IOERR_FSYNC;
  }
  if (int rc = planned_fault(s, FaultVfs::Op::Sync); rc != SQLITE_OK) return rc;
  int rc = ff->real->pMethods->xSync(ff->real, flags);
  if (rc == SQLITE_OK && ff->path != nullptr) s.unsynced.erase(*ff->path);
  return rc;
}

int x_shm_unmap(sqlite3_file* f, int delete_flag) {
  bool dead;
  {
    std::lock_guard lock(state().mu);
    dead = state().dead;
  }
  return real_of(f)->pMethods->xShmUnmap(real_of(f), dead ? 0 : delete_flag);
}

// Version 2: no xFetch, so SQLite reads through xRead (no memory map to bypass us).
const sqlite3_io_methods k_methods = [] {
  sqlite3_io_methods m = sql::forwarding_io_methods(2);
  m.xClose = x_close;
  m.xRead = x_read;
  m.xWrite = x_write;
  m.xTruncate = x_truncate;
  m.xSync = x_sync;
  m.xShmUnmap = x_shm_unmap;
  return m;
}();

int v_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  sql::start_shim_file(f, sizeof(FaultFile));
  auto* ff = of(f);
  ff->path = nullptr;
  sqlite3_vfs* real = sql::base_vfs(vfs);
  {
    std::lock_guard lock(state().mu);
    if (state().dead) return SQLITE_CANTOPEN;
    if (int rc = planned_fault(state(), FaultVfs::Op::Open); rc != SQLITE_OK) {
      // What the OS said, for sqlite3_system_errno (the unix VFS reports errno).
      errno = state().fault == FaultVfs::Fault::TooManyFiles ? EMFILE
              : state().fault == FaultVfs::Fault::NoSpace    ? ENOSPC
                                                            : EIO;
      return rc;
    }
  }
  int rc = real->xOpen(real, name, ff->real, flags, out_flags);
  if (ff->real->pMethods != nullptr) {
    f->pMethods = &k_methods;
    if (name != nullptr) ff->path = new std::string(name);
  }
  return rc;
}

int v_delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  {
    std::lock_guard lock(state().mu);
    if (state().dead) return SQLITE_IOERR_DELETE;
    state().unsynced.erase(name);
  }
  sqlite3_vfs* real = sql::base_vfs(vfs);
  return real->xDelete(real, name, sync_dir);
}

}  // namespace

FaultVfs& FaultVfs::get() {
  static FaultVfs* instance = [] {
    State& s = state();
    sql::init_shim_vfs(s.vfs, sqlite3_vfs_find(nullptr), k_name, static_cast<int>(sizeof(FaultFile)), v_open);
    s.vfs.vfs.xDelete = v_delete;
    sqlite3_vfs_register(&s.vfs.vfs, 0);
    return new FaultVfs();
  }();
  return *instance;
}

void FaultVfs::reset() {
  State& s = state();
  std::lock_guard lock(s.mu);
  s.unsynced.clear();
  s.syncs = s.writes = 0;
  s.cut_at = s.fail_write_at = 0;
  for (auto& c : s.counts) c = 0;
  s.fault_op = -1;
  s.fault_at = 0;
  s.injected = false;
  s.torn = false;
  s.dead = false;
  s.pool_reads = s.flip_at = s.flip_seed = 0;
  s.flipped = false;
}

void FaultVfs::flip_nth_read(std::uint64_t n, std::uint64_t seed) {
  std::lock_guard lock(state().mu);
  state().flip_at = n;
  state().flip_seed = seed;
}

std::uint64_t FaultVfs::pool_reads() const {
  std::lock_guard lock(state().mu);
  return state().pool_reads;
}

bool FaultVfs::flip_injected() const {
  std::lock_guard lock(state().mu);
  return state().flipped;
}

void FaultVfs::cut_at_sync(std::uint64_t n, bool torn, std::uint64_t seed) {
  State& s = state();
  std::lock_guard lock(s.mu);
  s.cut_at = n;
  s.torn = torn;
  s.seed = seed;
}

void FaultVfs::fail_write(std::uint64_t n, int code) {
  State& s = state();
  std::lock_guard lock(s.mu);
  s.fail_write_at = n;
  s.fail_code = code;
}

const char* FaultVfs::name(Op op) {
  static const char* names[] = {"read", "write", "sync", "truncate", "open"};
  return names[static_cast<int>(op)];
}

const char* FaultVfs::name(Fault fault) {
  static const char* names[] = {"EIO", "ENOSPC", "EMFILE"};
  return names[static_cast<int>(fault)];
}

void FaultVfs::fail_nth(Op op, std::uint64_t n, Fault fault) {
  State& s = state();
  std::lock_guard lock(s.mu);
  s.fault_op = static_cast<int>(op);
  s.fault_at = n;
  s.fault = fault;
}

std::uint64_t FaultVfs::count(Op op) const {
  std::lock_guard lock(state().mu);
  return state().counts[static_cast<int>(op)];
}

bool FaultVfs::fault_injected() const {
  std::lock_guard lock(state().mu);
  return state().injected;
}

std::uint64_t FaultVfs::syncs() const {
  std::lock_guard lock(state().mu);
  return state().syncs;
}
std::uint64_t FaultVfs::writes() const {
  std::lock_guard lock(state().mu);
  return state().writes;
}
bool FaultVfs::power_lost() const {
  std::lock_guard lock(state().mu);
  return state().dead;
}

Result<FaultPool> open_through_fault_vfs(const std::string& pool_path) {
  FaultPool out;
  out.pool = ANYFS_TRY(Pool::open(pool_path, {.vfs = FaultVfs::k_name}));
  out.fs = ANYFS_TRY(out.pool->dataset());
  return out;
}

}  // namespace anyfs::testing
