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

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "chunk/sqlite_chunk_store.h"
#include "meta/schema.h"
#include "pool/dataset.h"
#include "pool/history.h"
#include "pool/maintenance.h"
#include "pool/pool_core.h"
#include "pool/pool_impl.h"
#include "util/page_checksum_vfs.h"
#include "util/wal_format.h"

namespace anyfs {
namespace {

std::string random_uuid() {
  unsigned char bytes[16] = {};
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  urandom.read(reinterpret_cast<char*>(bytes), sizeof bytes);
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += fmt::format("{:02x}", bytes[i]);
  }
  return out;
}

std::string holder_description() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return fmt::format("pid {} on {}", ::getpid(), host);
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// A pool file shorter than its header says was cut off (a failed copy, a full
// disk). Checked only when no WAL holds pages: a checkpoint that a crash
// interrupted may leave the file short until the WAL is replayed.
Result<void> check_not_truncated(const std::string& path) {
  struct stat wal {};
  if (::stat((path + "-wal").c_str(), &wal) == 0 && wal.st_size > 0) return {};
  std::ifstream in(path, std::ios::binary);
  unsigned char header[100] = {};
  if (!in.read(reinterpret_cast<char*>(header), sizeof header)) return {};  // too short: SQLite says what it is
  auto be32 = [&](int at) {
    return (std::uint32_t{header[at]} << 24) | (std::uint32_t{header[at + 1]} << 16) |
           (std::uint32_t{header[at + 2]} << 8) | std::uint32_t{header[at + 3]};
  };
  if (std::memcmp(header, "SQLite format 3", 16) != 0) return {};
  std::uint32_t page_size = (std::uint32_t{header[16]} << 8) | header[17];
  if (page_size == 1) page_size = 65536;
  // The size field is valid only when the change counter matches "version valid for".
  if (be32(24) != be32(92)) return {};
  std::uint64_t expected = std::uint64_t{be32(28)} * page_size;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  if (static_cast<std::uint64_t>(st.st_size) < expected)
    return fail(Errc::Corrupt, path,
                fmt::format("the pool file is truncated: {} bytes, its header says {}", st.st_size, expected));
  return {};
}

// A frame of the write-ahead log that went bad would make SQLite's recovery
// take it for the end of the log and drop every commit after it; a writer's
// next checkpoint would make the loss permanent. Checked before a writable
// open (a read-only one changes nothing, and verify reports the frame).
Result<void> check_wal_intact(const std::string& path) {
  auto wal = ANYFS_TRY(sql::read_wal(path));
  if (!wal.broken_frame) return {};
  return fail(Errc::Corrupt, path,
              fmt::format("frame {} of the write-ahead log {}-wal fails its checksum (damaged on disk): opening "
                          "the pool for writing would drop the commits after it; open it read-only to copy what "
                          "it holds, or restore the log from a copy",
                          *wal.broken_frame, path));
}

// Per-connection settings: WAL (atomic commits, readers beside the writer),
// full fsync on commit, a page cache and a memory map for reads, deleted rows
// not overwritten.
Result<void> configure(sql::Db& db, bool read_only, std::uint64_t mmap_bytes) {
  ANYFS_CHECK(db.exec(fmt::format("PRAGMA synchronous = FULL; PRAGMA cache_size = -16384; PRAGMA mmap_size = {};"
                                  "PRAGMA foreign_keys = OFF; PRAGMA temp_store = MEMORY; "
                                  // Debian's SQLite zeroes deleted rows by default: freeing
                                  // a chunk would then write all its pages again, through the
                                  // log — on a full disk, the removal that should make room
                                  // could not commit. Freed pages keep their bytes until
                                  // reused, as a file system's freed blocks do.
                                  "PRAGMA secure_delete = OFF",
                                  mmap_bytes)));
  if (!read_only) ANYFS_CHECK(db.exec("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 4096"));
  return {};
}


// Whether SQLite keeps the WAL file when the connection closes. A writer keeps
// it until its clean close: a pool left "not clean" (a failed open, a poisoned
// pool, a crash) must keep its WAL beside it, or the next open would take the
// missing WAL for a lost one and refuse — though SQLite had checkpointed it.
void keep_wal(sql::Db& db, bool keep) {
  int persist = keep ? 1 : 0;
  sqlite3_file_control(db.handle(), "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
}

// The writer lock: flock on the pool file itself, so it dies with the process.
// The descriptor stays open until SQLite has closed the file, because closing any
// descriptor of a file drops the process's POSIX locks on it — SQLite's included.
Result<void> take_writer_lock(PoolCore& core) {
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

// A reader needs the shared-memory file beside a pool (POOL-shm) to follow
// the write-ahead log; SQLite creates it on first open. Where the reader cannot
// create it (a read-only file system, a directory it may not write) and no
// one has, a log that holds no commits lets the pool be read as a file
// nothing changes (immutable); a log that holds commits cannot be read.
// Returns whether to open immutable. Errors: ReadOnly naming the cause.
Result<bool> needs_immutable_open(const std::string& path) {
  if (file_exists(path + "-shm")) return false;
  const std::string dir = std::filesystem::path(path).parent_path().string();
  if (::access(dir.empty() ? "." : dir.c_str(), W_OK) == 0) return false;
  const int why = errno;
  auto wal = ANYFS_TRY(sql::read_wal(path));
  if (wal.frames.empty()) return true;
  return fail(Errc::ReadOnly, path,
              fmt::format("its write-ahead log holds commits not yet in the pool file, and reading them needs "
                          "{}-shm, which cannot be created here ({}); open the pool once where it can be "
                          "written, or copy it with its -wal file",
                          path, why == EROFS ? "read-only file system" : "no write access to the directory"));
}

Result<std::shared_ptr<PoolCore>> connect(const std::string& path, const PoolOpenOptions& options) {
  ANYFS_CHECK(check_not_truncated(path));
  if (!options.read_only) ANYFS_CHECK(check_wal_intact(path));
  auto core = std::make_shared<PoolCore>();
  core->path = path;
  core->read_only = options.read_only;
  sql::OpenOptions db_options;
  db_options.read_only = options.read_only;
  db_options.vfs = options.vfs;
  if (options.read_only) db_options.immutable = core->immutable = ANYFS_TRY(needs_immutable_open(path));
  core->db = ANYFS_TRY(sql::Db::open(path, db_options));
  // A read of the header tells a pool from any other file before anything else runs.
  auto schema = check_schema(*core->db, !options.read_only);
  if (!schema) {
    schema.error().path = path;
    if (schema.error().code == Errc::Corrupt && schema.error().message.find("not an AnyFS") == std::string::npos)
      schema.error().message = "not an AnyFS pool, or its header is damaged (" + schema.error().message + ")";
    return std::unexpected(schema.error());
  }
  ANYFS_CHECK(configure(*core->db, options.read_only, options.mmap_bytes));
  core->meta = make_sqlite_meta_store(*core->db);
  // A pool made with page checksums whose header no longer says so has a
  // damaged header: reading on would skip every check.
  if (ANYFS_TRY(core->meta->setting("page_checksums")).has_value() && !ANYFS_TRY(sql::has_page_checksums(path)))
    return fail(Errc::Corrupt, path, "the header lost its page-checksum setting: the pool file is damaged");
  core->history = make_sqlite_history_store(*core->db, *core->meta);
  core->chunks = make_sqlite_chunk_store(*core->db);
  return core;
}

}  // namespace

Result<void> PoolImpl::start() {
  std::lock_guard lock(core_->mu);
  auto& meta = *core_->meta;
  auto last_tid = ANYFS_TRY(meta.setting("last_tid"));
  auto last_ino = ANYFS_TRY(meta.setting("last_ino"));
  core_->last_tid = std::max<Tid>(last_tid ? std::stoull(*last_tid) : 0, ANYFS_TRY(meta.max_tid()));
  core_->last_ino = std::max<Ino>(last_ino ? std::stoull(*last_ino) : 0, ANYFS_TRY(meta.max_ino()));
  core_->committed_tid = core_->last_tid;
  core_->committed_ino = core_->last_ino;
  meta.set_txg_floor(core_->committed_tid);
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
  std::lock_guard lock(core_->mu);
  return core_->commit();
}

Result<PoolStats> PoolImpl::stats() {
  std::lock_guard lock(core_->mu);
  ANYFS_CHECK(core_->begin_read());
  ANYFS_CHECK(core_->commit());
  return pool_stats(*core_);
}

Result<VerifyReport> PoolImpl::verify(const VerifyOptions& options) {
  std::lock_guard lock(core_->mu);
  ANYFS_CHECK(core_->begin_read());
  ANYFS_CHECK(core_->commit());
  return verify_pool(*core_, options);
}

Result<GcReport> PoolImpl::gc(const GcOptions& options) {
  std::lock_guard lock(core_->mu);
  ANYFS_CHECK(core_->check_usable());
  if (core_->read_only) return fail(Errc::ReadOnly, core_->path, "gc needs the pool open for writing");
  ANYFS_CHECK(core_->commit());
  auto report = gc_pool(*core_, options);
  if (!report) core_->poison(report.error());
  return report;
}

Result<CompactReport> PoolImpl::compact() {
  std::lock_guard lock(core_->mu);
  ANYFS_CHECK(core_->check_usable());
  if (core_->read_only) return fail(Errc::ReadOnly, core_->path, "compact needs the pool open for writing");
  ANYFS_CHECK(core_->commit());
  return compact_pool(*core_);
}

Result<void> PoolImpl::close() {
  {
    std::lock_guard lock(core_->mu);
    if (core_->closed) return {};
    stopping_ = true;
    core_->txg_cv.notify_all();
  }
  if (timer_.joinable()) timer_.join();
  // Datasets lock the pool when they go, so they go after the lock is released.
  std::map<std::string, std::shared_ptr<Dataset>, std::less<>> datasets;
  std::lock_guard lock(core_->mu);
  datasets.swap(open_);
  Result<void> outcome;
  if (!core_->read_only && !core_->stopped()) {
    outcome = core_->commit();
    core_->chunks->release_handles();
    if (outcome) outcome = core_->db->exec("PRAGMA wal_checkpoint(TRUNCATE)");
    if (outcome) outcome = core_->meta->set_setting("clean", "1");
    if (outcome) outcome = core_->db->exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  // Closed cleanly (marked so): SQLite may delete the WAL as it closes.
  if (!core_->read_only && !core_->stopped() && outcome) keep_wal(*core_->db, false);
  core_->closed = true;
  core_->participants.clear();
  core_->chunks.reset();
  core_->history.reset();
  core_->meta.reset();
  core_->db.reset();
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
  std::unique_lock lock(core_->mu);
  while (!stopping_) {
    auto timeout = core_->txg_timeout;
    if (core_->meta && core_->meta->in_transaction() &&
        std::chrono::steady_clock::now() >= core_->txg_opened + timeout) {
      if (core_->check_usable()) (void)core_->commit(false);
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
    if (core_->meta && core_->meta->in_transaction())
      core_->txg_cv.wait_until(lock, core_->txg_opened + timeout);
    else
      core_->txg_cv.wait_for(lock, timeout);
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
  auto made = [&]() -> Result<void> {
    sql::OpenOptions db_options;
    auto db = ANYFS_TRY(sql::Db::open(path, db_options));
    // Every page ends in its checksum (util/page_checksum_vfs.h): reserved
    // before the first page is written.
    int reserve = options.page_checksums ? sql::k_page_checksum_bytes : 0;
    if (int rc = sqlite3_file_control(db->handle(), "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve); rc != SQLITE_OK)
      return std::unexpected(sql::error_from(db->handle(), rc, "reserve page checksum bytes"));
    ANYFS_CHECK(db->exec(fmt::format("PRAGMA page_size = {}; PRAGMA journal_mode = WAL", options.page_size)));
    ANYFS_CHECK(db->exec("BEGIN IMMEDIATE"));
    ANYFS_CHECK(create_schema(*db));
    auto meta = make_sqlite_meta_store(*db);
    ANYFS_CHECK(meta->set_setting("uuid", random_uuid()));
    if (options.page_checksums) ANYFS_CHECK(meta->set_setting("page_checksums", "xxh3-64"));
    ANYFS_CHECK(meta->set_setting("created", std::to_string(wall_clock_ns())));
    DatasetId root = ANYFS_TRY(meta->create_dataset("", 1));
    for (const auto& [name, value] : props) ANYFS_CHECK(meta->set_property(root, name, value));
    for (const auto& [name, value] : props)
      if (name == "history" && value != "off")
        ANYFS_CHECK(db->exec(fmt::format("UPDATE datasets SET history_from = 1 WHERE id = {}", root)));
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
    ANYFS_CHECK(meta->put_inode(root, rec, 1));
    ANYFS_CHECK(meta->log({1, t, root, "create", "pool"}));
    ANYFS_CHECK(meta->set_setting("last_tid", "1"));
    ANYFS_CHECK(meta->set_setting("last_ino", "1"));
    ANYFS_CHECK(db->exec("COMMIT"));
    return {};
  }();
  if (!made) {
    ::unlink(path.c_str());
    ::unlink((path + "-wal").c_str());
    ::unlink((path + "-shm").c_str());
    return std::unexpected(made.error());
  }
  return open(path, {});
}

Result<std::shared_ptr<Pool>> Pool::open(const std::string& path, const PoolOpenOptions& options) {
  if (!file_exists(path)) return fail(Errc::NotFound, path, "no such pool file");
  if (!options.read_only && ::access(path.c_str(), W_OK) != 0)
    return fail(Errc::ReadOnly, path, "the pool file is not writable; open it read-only");
  // Looked at before SQLite opens the file, which creates an empty WAL.
  const bool wal_present = file_exists(path + "-wal");
  auto core = ANYFS_TRY(connect(path, options));
  if (!core->read_only) {
    ANYFS_CHECK(take_writer_lock(*core));
    keep_wal(*core->db, true);
    // A pool whose last writer did not close it has its newest commits in the
    // WAL; if that file is gone, they are gone, and the pool must not pretend.
    auto clean = ANYFS_TRY(core->meta->setting("clean"));
    if (clean && *clean == "0" && !wal_present)
      return fail(Errc::Corrupt, path,
                  fmt::format("the pool was not closed cleanly and its write-ahead log {}-wal is missing: "
                              "commits since the last checkpoint are lost; restore the -wal file, or open "
                              "read-only to see the state as of that checkpoint",
                              path));
    ANYFS_CHECK(core->db->exec("BEGIN IMMEDIATE"));
    ANYFS_CHECK(core->meta->set_setting("writer", holder_description()));
    ANYFS_CHECK(core->meta->set_setting("clean", "0"));
    ANYFS_CHECK(core->db->exec("COMMIT"));
    // The "not clean" mark must reach the main file: a lost WAL is then
    // detectable. On a full file system the checkpoint may find no room for
    // pages the log holds beyond the file's end: the pool opens anyway (its
    // log stays beside it and is checkpointed once space is freed), since
    // removing files is how the user makes room.
    if (auto done = core->db->exec("PRAGMA wal_checkpoint(TRUNCATE)"); !done && done.error().code != Errc::NoSpace)
      return std::unexpected(done.error());
    // The log is kept small beside the file system's free space (pool/space_guard.h).
    core->space.attach(path);
    const auto page_size = ANYFS_TRY(core->db->query_int("PRAGMA page_size")).value_or(4096);
    ANYFS_CHECK(core->db->exec(fmt::format(
        "PRAGMA wal_autocheckpoint = {}; PRAGMA journal_size_limit = {}",
        std::min<std::uint64_t>(4096, core->space.txg_limit() / static_cast<std::uint64_t>(page_size)),
        core->space.wal_limit())));
  }
  auto pool = std::make_shared<PoolImpl>(core);
  ANYFS_CHECK(pool->start());
  return std::static_pointer_cast<Pool>(pool);
}

}  // namespace anyfs
