// Pool: creating and opening a pool file, the writer lock, the commit timer and
// background prune, and the maintenance calls (whose work is in
// pool/maintenance.cc). Datasets are in pool/pool_datasets.cc, history in
// pool/pool_history.cc.
#include "anyfs/pool.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "meta/pool_file.h"
#include "pool/dataset.h"
#include "pool/history.h"
#include "pool/maintenance.h"
#include "pool/pool_core.h"
#include "pool/pool_impl.h"
#include "pool/pool_volumes.h"
#include "util/memory.h"
#include "util/uuid.h"

namespace anyfs {
namespace {

std::string holder_description() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return fmt::format("pid {} on {}", ::getpid(), host);
}

// The writer lock: flock on the pool file itself, so it dies with the process.
// The descriptor stays open until SQLite has closed the file, because closing any
// descriptor of a file drops the process's POSIX locks on it — SQLite's included.
Result<void> take_writer_lock(PoolCore& core) REQUIRES(pool_lock) {
  int fd = ::open(core.path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return fail_errno(errno, core.path, "open pool");
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err != EWOULDBLOCK) return fail_errno(err, core.path, "lock pool");
    std::string holder = "another process";
    if (auto writer = core.meta->setting("writer"); writer && *writer) holder = **writer;
    return fail(Errc::Busy, core.path,
                fmt::format("the pool is open for writing by {}; open it read-only or wait", holder));
  }
  core.lock_fd = fd;
  return {};
}

std::uint64_t default_cache_bytes() {
  return std::clamp<std::uint64_t>(usable_memory_bytes() / 16, 32ull << 20, 4ull << 30);
}

Result<std::shared_ptr<PoolCore>> connect(const std::string& path, const PoolOpenOptions& options) {
  auto opened = ANYFS_TRY(open_sqlite_pool_file(
      path, {.read_only = options.read_only, .vfs = options.vfs, .mmap_bytes = options.mmap_bytes}));
  auto core = std::make_shared<PoolCore>();
  core->path = path;
  core->read_only = options.read_only;
  core->immutable = opened.file->immutable();
  core->file = std::move(opened.file);
  core->meta = std::move(opened.meta);
  core->history = std::move(opened.history);
  core->chunks = std::move(opened.chunks);
  core->readers.attach(core->file.get());
  core->chunk_cache.set_capacity(options.cache_bytes ? *options.cache_bytes : default_cache_bytes());
  return core;
}

}  // namespace

Result<void> PoolImpl::start() {
  PoolLock lock(core_->mu);
  auto& meta = *core_->meta;
  auto last_tid = ANYFS_TRY(meta.setting("last_tid"));
  auto last_ino = ANYFS_TRY(meta.setting("last_ino"));
  core_->counters.start(std::max<Tid>(last_tid ? std::stoull(*last_tid) : 0, ANYFS_TRY(meta.max_tid())),
                        std::max<Ino>(last_ino ? std::stoull(*last_ino) : 0, ANYFS_TRY(meta.max_ino())));
  meta.set_txg_floor(core_->counters.committed_tid());
  auto root = ANYFS_TRY(settings_of(""));
  core_->sync_mode = root.sync;
  core_->txg_timeout = root.txg_timeout;
  for (const auto& d : ANYFS_TRY(core_->history->datasets()))
    ANYFS_CHECK(refresh_pin(*core_, d.id, ANYFS_TRY(settings_of(d.name))));
  if (!core_->read_only) {
    ANYFS_CHECK(remove_orphan_inodes());
    // No pass at start: a short-lived process would spend its time on it. What a
    // pass cut short by the last close left waits for the periodic one.
    last_prune_ = std::chrono::steady_clock::now();
    timer_ = std::thread([this] { commit_timer(); });
  }
  return {};
}

Result<void> PoolImpl::sync() {
  PoolLock lock(core_->mu);
  return core_->commit();
}

Result<PoolStats> PoolImpl::stats() {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(core_->begin_read());
  ANYFS_CHECK(core_->commit());
  return pool_stats(*core_);
}

Result<VerifyReport> PoolImpl::verify(const VerifyOptions& options) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(core_->begin_read());
  ANYFS_CHECK(core_->commit());
  return verify_pool(*core_, options);
}

Result<GcReport> PoolImpl::gc(const GcOptions& options) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(core_->check_usable());
  if (core_->read_only) return fail(Errc::ReadOnly, core_->path, "gc needs the pool open for writing");
  ANYFS_CHECK(core_->commit());
  auto report = gc_pool(*core_, options);
  if (!report) core_->poison(report.error());
  return report;
}

Result<CompactReport> PoolImpl::compact() {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(core_->check_usable());
  if (core_->read_only) return fail(Errc::ReadOnly, core_->path, "compact needs the pool open for writing");
  ANYFS_CHECK(core_->commit());
  return compact_pool(*core_);
}

Result<void> PoolImpl::close() {
  {
    PoolLock lock(core_->mu);
    if (core_->closed) return {};
    stopping_ = true;
    core_->mu.notify_all(core_->txg_cv);
  }
  if (timer_.joinable()) timer_.join();
  // Datasets lock the pool when they go, so they go after the lock is released.
  std::map<std::string, std::shared_ptr<Dataset>, std::less<>> datasets;
  PoolLock lock(core_->mu);
  datasets.swap(open_);
  Result<void> outcome;
  if (!core_->read_only && !core_->stopped()) {
    outcome = core_->commit();
    core_->chunks->release_handles();
    if (outcome) outcome = core_->file->checkpoint();
    if (outcome) outcome = core_->meta->set_setting("clean", "1");
    if (outcome) outcome = core_->file->checkpoint();
  }
  // Closed cleanly (marked so): the log may go as the file closes.
  if (!core_->read_only && !core_->stopped() && outcome) core_->file->keep_log(false);
  core_->closed = true;
  core_->readers.close();
  core_->participants.clear();
  core_->chunks.reset();
  core_->history.reset();
  core_->meta.reset();
  core_->file.reset();
  if (core_->lock_fd >= 0) ::close(core_->lock_fd);  // after SQLite closed the file: see take_writer_lock
  core_->lock_fd = -1;
  return outcome;
}

Result<void> PoolImpl::remove_orphan_inodes() {
  bool any = false;
  for (auto& d : ANYFS_TRY(core_->meta->datasets())) {
    auto inos = ANYFS_TRY(core_->meta->unlinked_inodes(d.id));
    for (Ino ino : inos) {
      if (!any) {
        ANYFS_TRY(core_->begin_op(d.id, "recover", "inodes unlinked while open"));
        any = true;
      }
      ANYFS_CHECK(core_->meta->drop_inode(d.id, ino, core_->txg_tid()));
    }
  }
  if (any) return core_->commit();
  return {};
}

// Commits the open transaction group once it is txg_timeout old, and runs the
// prune pass in small steps in between (releasing the lock after each, so that
// writers wait for one step at most).
void PoolImpl::commit_timer() {
  PoolLock lock(core_->mu);
  while (!stopping_) {
    auto timeout = core_->txg_timeout;
    if (core_->meta && core_->meta->in_transaction() &&
        std::chrono::steady_clock::now() >= core_->txg_opened + timeout) {
      if (core_->check_usable()) (void)core_->commit(false);
      continue;
    }
    // Bad copies reads found, rewritten without waiting for a write.
    if (core_->meta && !core_->meta->in_transaction() && core_->check_usable() && core_->chunks->wants_commit()) {
      (void)core_->commit(false);
      if (core_->chunks->wants_commit()) core_->mu.wait_until(core_->txg_cv, std::chrono::steady_clock::now() + timeout);
      continue;
    }
    if (std::chrono::steady_clock::now() - last_prune_ > std::chrono::seconds(60)) prune_wanted_ = true;
    // A pass under way goes on; a new one starts when one is wanted.
    if ((prune_wanted_ || !prune_todo_.empty()) && background_prune_step()) {
      lock.unlock();
      std::this_thread::yield();
      lock.lock();
      continue;
    }
    const auto deadline = core_->meta && core_->meta->in_transaction() ? core_->txg_opened + timeout
                                                                       : std::chrono::steady_clock::now() + timeout;
    core_->mu.wait_until(core_->txg_cv, deadline);
  }
}

bool PoolImpl::background_prune_step() {
  if (!core_->check_usable()) return false;
  PruneReport report;
  auto more = prune_step_locked(2000, report);
  if (!more) {
    core_->poison(more.error());
    return false;
  }
  return *more;
}

Result<std::shared_ptr<Pool>> Pool::create(const std::string& path, const PoolCreateOptions& options) {
  if (options.page_size < 4096 || options.page_size > 65536 || (options.page_size & (options.page_size - 1)) != 0)
    return fail(Errc::InvalidArgument, path, "page size must be a power of two from 4096 to 65536");
  std::vector<std::pair<std::string, std::string>> props;
  for (const auto& [name, value] : options.properties) props.emplace_back(name, ANYFS_TRY(check_property(name, value)));
  // O_EXCL: never overwrite anything that is there.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return fail_errno(errno, path, "create pool");
  ::close(fd);
  auto made = create_sqlite_pool_file(path, options.page_size, options.page_checksums,
                                      [&](OpenedPoolFile& pool) -> Result<void> {
    auto& meta = *pool.meta;
    ANYFS_CHECK(meta.set_setting("uuid", random_uuid()));
    if (options.page_checksums) ANYFS_CHECK(meta.set_setting("page_checksums", "xxh3-64"));
    ANYFS_CHECK(meta.set_setting("created", std::to_string(wall_clock_ns())));
    DatasetId root = ANYFS_TRY(meta.create_dataset("", 1));
    for (const auto& [name, value] : props) ANYFS_CHECK(meta.set_property(root, name, value));
    for (const auto& [name, value] : props)
      if (name == "history" && value != "off") ANYFS_CHECK(pool.history->set_history_from(root, Tid{1}));
    std::int64_t t = wall_clock_ns();
    InodeRecord rec;
    rec.ino = k_root_ino;
    rec.kind = FileKind::Directory;
    rec.mode = 0755;
    rec.uid = ::geteuid();
    rec.gid = ::getegid();
    rec.nlink = 2;
    rec.atime_ns = rec.mtime_ns = rec.ctime_ns = rec.btime_ns = t;
    rec.generation = 1;
    ANYFS_CHECK(meta.put_inode(root, rec, 1));
    ANYFS_CHECK(meta.log({1, t, root, "create", "pool"}));
    ANYFS_CHECK(meta.set_setting("last_tid", "1"));
    ANYFS_CHECK(meta.set_setting("last_ino", "1"));
    return {};
  });
  if (!made) {
    ::unlink(path.c_str());
    ::unlink((path + "-wal").c_str());
    ::unlink((path + "-shm").c_str());
    return std::unexpected(made.error());
  }
  auto pool = ANYFS_TRY(open(path, {}));
  for (const VolumeSpec& volume : options.volumes) ANYFS_CHECK(pool->add_volume(volume));
  return pool;
}

Result<std::shared_ptr<Pool>> Pool::open(const std::string& path, const PoolOpenOptions& options) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail(Errc::NotFound, path, "no such pool file");
  if (!options.read_only && ::access(path.c_str(), W_OK) != 0)
    return fail(Errc::ReadOnly, path, "the pool file is not writable; open it read-only");
  auto core = ANYFS_TRY(connect(path, options));
  if (!core->read_only) {
    // A volume it cannot do without (chunks with no other copy, or a mirror
    // placement left short of volumes): the pool opens read-only, saying why.
    std::string reason;
    {
      PoolLock lock(core->mu);
      std::uint64_t without_copy = 0;
      reason = ANYFS_TRY(degraded_reason(*core, without_copy));
    }
    if (degraded_needs_read_only(reason)) {
      core.reset();
      PoolOpenOptions read_only = options;
      read_only.read_only = true;
      core = ANYFS_TRY(connect(path, read_only));
      core->read_only_reason = reason;
    }
  }
  if (!core->read_only) {
    // Nothing else has the core yet; the lock is what the stores are used under.
    PoolLock lock(core->mu);
    ANYFS_CHECK(take_writer_lock(*core));
    core->file->keep_log(true);
    // A pool whose last writer did not close it has its newest commits in the
    // log; if that is gone, they are gone, and the pool must not pretend.
    auto clean = ANYFS_TRY(core->meta->setting("clean"));
    if (clean && *clean == "0" && !core->file->log_found_at_open())
      return fail(Errc::Corrupt, path,
                  fmt::format("the pool was not closed cleanly and its write-ahead log {}-wal is missing: "
                              "commits since the last checkpoint are lost; restore the -wal file, or open "
                              "read-only to see the state as of that checkpoint",
                              path));
    ANYFS_CHECK(core->meta->begin());
    ANYFS_CHECK(core->meta->set_setting("writer", holder_description()));
    ANYFS_CHECK(core->meta->set_setting("clean", "0"));
    ANYFS_CHECK(core->meta->commit());
    // The "not clean" mark must reach the main file: a lost WAL is then
    // detectable. On a full file system the checkpoint may find no room for
    // pages the log holds beyond the file's end: the pool opens anyway (its
    // log stays beside it and is checkpointed once space is freed), since
    // removing files is how the user makes room.
    if (auto done = core->file->checkpoint(); !done && done.error().code != Errc::NoSpace)
      return std::unexpected(done.error());
    // The log is kept small beside the file system's free space (pool/space_guard.h).
    core->space.attach(path);
    ANYFS_CHECK(core->file->limit_log(core->space.txg_limit(), core->space.wal_limit()));
  }
  auto pool = std::make_shared<PoolImpl>(core);
  ANYFS_CHECK(pool->start());
  return std::static_pointer_cast<Pool>(pool);
}

}  // namespace anyfs
