// PoolFile over SQLite (meta/pool_file.h): one database file in WAL mode,
// every page checksummed by the page-checksum VFS, the stores over one
// connection. Everything here is about the file as SQLite keeps it: its
// header, its log, its pragmas.
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "chunk/sqlite_chunk_store.h"
#include "meta/pool_file.h"
#include "meta/records.h"
#include "meta/schema.h"
#include "meta/sqlite_setup.h"
#include "meta/volume_chunk_store.h"
#include "util/sqlite.h"
#include "util/wal_format.h"

namespace anyfs {
namespace {

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

// A read-only connection with a MetaStore and a ChunkStore over it. A
// snapshot that finds another connection committed since the last one drops
// the chunk store's location cache (a chunk may have been freed and its row
// reused).
class SqlitePoolReader final : public PoolReader {
 public:
  SqlitePoolReader(std::unique_ptr<sql::Db> db, const std::string& vfs, std::shared_ptr<VolumeHealth> health)
      : db_(std::move(db)),
        meta_(make_sqlite_meta_store(*db_)),
        chunks_(std::make_unique<VolumeChunkStore>(*db_, make_sqlite_chunk_store(*db_), false, vfs,
                                                   std::move(health))) {}
  ~SqlitePoolReader() override {
    chunks_.reset();  // its statements go before the connection
    meta_.reset();
  }

  Result<void> begin() override {
    const std::int64_t version = ANYFS_TRY(meta_->begin_snapshot());
    if (version != version_) chunks_->drop_caches();
    version_ = version;
    return {};
  }
  void end() override {
    chunks_->release_handles();
    (void)meta_->end_snapshot();
  }
  MetaStore& meta() override { return *meta_; }
  ChunkStore& chunks() override { return *chunks_; }

 private:
  std::unique_ptr<sql::Db> db_;
  std::unique_ptr<MetaStore> meta_;
  std::unique_ptr<ChunkStore> chunks_;
  std::int64_t version_ = -1;
};

class SqlitePoolFile final : public PoolFile {
 public:
  SqlitePoolFile(std::string path, std::unique_ptr<sql::Db> db, bool immutable, bool log_found,
                 sql::OpenOptions reopen = {}, std::uint64_t mmap_bytes = 0)
      : path_(std::move(path)),
        db_(std::move(db)),
        immutable_(immutable),
        log_found_(log_found),
        reopen_(std::move(reopen)),
        mmap_bytes_(mmap_bytes) {
    reopen_.read_only = true;
    reopen_.create = false;
  }

  sql::Db& db() { return *db_; }

  bool immutable() const override { return immutable_; }
  bool log_found_at_open() const override { return log_found_; }

  void keep_log(bool keep) override {
    int persist = keep ? 1 : 0;
    sqlite3_file_control(db_->handle(), "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
  }

  Result<void> checkpoint() override { return db_->exec("PRAGMA wal_checkpoint(TRUNCATE)"); }

  void drop_page_cache() override { sqlite3_db_release_memory(db_->handle()); }

  Result<void> limit_log(std::uint64_t group_bytes, std::uint64_t log_bytes) override {
    const auto page_size = static_cast<std::uint64_t>(ANYFS_TRY(db_->query_int("PRAGMA page_size")).value_or(4096));
    return db_->exec(fmt::format("PRAGMA wal_autocheckpoint = {}; PRAGMA journal_size_limit = {}",
                                 std::min<std::uint64_t>(4096, group_bytes / page_size), log_bytes));
  }

  Result<std::uint64_t> size_bytes() override {
    auto pages = ANYFS_TRY(db_->query_int("PRAGMA page_count")).value_or(0);
    auto page_size = ANYFS_TRY(db_->query_int("PRAGMA page_size")).value_or(4096);
    return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size);
  }

  Result<PoolUsage> usage() override {
    PoolUsage u;
    const std::string live = std::to_string(k_tid_live);
    u.files = ANYFS_TRY(count("SELECT count(*) FROM inodes WHERE tid_to = " + live));
    u.logical_bytes = ANYFS_TRY(count("SELECT coalesce(sum(size), 0) FROM inodes WHERE kind = 0 AND tid_to = " + live));
    u.referenced_bytes = ANYFS_TRY(count("SELECT coalesce(sum(length), 0) FROM extents WHERE tid_to = " + live));
    u.history_bytes = ANYFS_TRY(count("SELECT coalesce(sum(length), 0) FROM extents WHERE tid_to < " + live));
    u.snapshots = ANYFS_TRY(count("SELECT count(*) FROM snapshots"));
    // Referenced chunks only: those waiting to be freed hold no file's bytes.
    const std::string referenced = " FROM chunks c JOIN chunk_refs r ON r.chunk = c.hash WHERE r.refs > 0";
    u.chunks = ANYFS_TRY(count("SELECT count(*)" + referenced));
    u.chunk_raw_bytes = ANYFS_TRY(count("SELECT coalesce(sum(c.raw_size), 0)" + referenced));
    u.chunk_stored_bytes = ANYFS_TRY(count("SELECT coalesce(sum(length(c.data)), 0)" + referenced));
    u.unreferenced_chunks = ANYFS_TRY(count("SELECT count(*) FROM chunks")) - u.chunks;
    ANYFS_CHECK(chunks_->add_usage(u));
    return u;
  }

  Result<sql::PageScan> scan_pages() override { return sql::scan_page_checksums(path_); }

  Result<std::vector<std::string>> check_structure() override {
    std::vector<std::string> problems;
    auto check = ANYFS_TRY(db_->prepare("PRAGMA quick_check"));
    while (ANYFS_TRY(check.step())) {
      std::string line = check.column_string(0);
      if (line != "ok") problems.push_back("sqlite: " + line);
    }
    return problems;
  }

  Result<bool> has_page_checksums() override { return sql::has_page_checksums(path_); }

  // VACUUM writes every page anew, with the reserved bytes asked for here: a
  // pool made before page checksums gets room for them, and the checksumming
  // VFS stamps each page as the checkpoint copies it into the file. VACUUM is
  // one transaction: a crash leaves the old file or the new one.
  Result<void> rewrite(bool add_page_checksums) override {
    ANYFS_CHECK(checkpoint());
    if (add_page_checksums) {
      int reserve = sql::k_page_checksum_bytes;
      if (int rc = sqlite3_file_control(db_->handle(), "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve); rc != SQLITE_OK)
        return std::unexpected(sql::error_from(db_->handle(), rc, "reserve page checksum bytes"));
    }
    ANYFS_CHECK(db_->exec("VACUUM"));
    return checkpoint();
  }

  std::optional<Error> storage_failure() const override { return db_->storage_failure(); }

  VolumeSet& volume_set() override { return *chunks_; }
  void set_chunks(VolumeChunkStore* chunks) { chunks_ = chunks; }
  const std::string& vfs() const { return reopen_.vfs; }

  Result<std::unique_ptr<PoolReader>> open_reader() override {
    auto db = ANYFS_TRY(sql::Db::open(path_, reopen_));
    ANYFS_CHECK(sql::configure_connection(*db, /*read_only=*/true, mmap_bytes_));
    return std::unique_ptr<PoolReader>(std::make_unique<SqlitePoolReader>(std::move(db), reopen_.vfs, chunks_->health()));
  }

 private:
  Result<std::uint64_t> count(const std::string& sql) {
    auto v = ANYFS_TRY(db_->query_int(sql));
    return v ? static_cast<std::uint64_t>(*v) : 0;
  }

  const std::string path_;
  std::unique_ptr<sql::Db> db_;
  const bool immutable_;
  const bool log_found_;
  sql::OpenOptions reopen_;  // how a reader opens the file: as this connection, read-only
  const std::uint64_t mmap_bytes_;
  VolumeChunkStore* chunks_ = nullptr;  // the stores' (stores_over), which go before this file
};

OpenedPoolFile stores_over(std::unique_ptr<SqlitePoolFile> file, bool writable) {
  OpenedPoolFile out;
  sql::Db& db = file->db();
  out.meta = make_sqlite_meta_store(db);
  out.history = make_sqlite_history_store(db, *out.meta);
  auto chunks = std::make_unique<VolumeChunkStore>(db, make_sqlite_chunk_store(db), writable, file->vfs());
  file->set_chunks(chunks.get());
  out.chunks = std::move(chunks);
  out.file = std::move(file);
  return out;
}

}  // namespace

namespace sql {

Result<std::unique_ptr<Db>> create_database(const std::string& path, std::uint32_t page_size, bool page_checksums,
                                            const std::string& vfs) {
  OpenOptions options;
  options.create = true;
  options.vfs = vfs;
  auto db = ANYFS_TRY(Db::open(path, options));
  // Every page ends in its checksum (util/page_checksum_vfs.h): reserved
  // before the first page is written.
  int reserve = page_checksums ? k_page_checksum_bytes : 0;
  if (int rc = sqlite3_file_control(db->handle(), "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve); rc != SQLITE_OK)
    return std::unexpected(error_from(db->handle(), rc, "reserve page checksum bytes"));
  ANYFS_CHECK(db->exec(fmt::format("PRAGMA page_size = {}; PRAGMA journal_mode = WAL", page_size)));
  return db;
}

Result<void> configure_connection(Db& db, bool read_only, std::uint64_t mmap_bytes) {
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

}  // namespace sql

Result<OpenedPoolFile> open_sqlite_pool_file(const std::string& path, const PoolFileOptions& options) {
  // Looked at before SQLite opens the file, which creates an empty log.
  const bool log_found = file_exists(path + "-wal");
  ANYFS_CHECK(check_not_truncated(path));
  if (!options.read_only) ANYFS_CHECK(check_wal_intact(path));
  sql::OpenOptions db_options;
  db_options.read_only = options.read_only;
  db_options.vfs = options.vfs;
  bool immutable = false;
  if (options.read_only) db_options.immutable = immutable = ANYFS_TRY(needs_immutable_open(path));
  auto db = ANYFS_TRY(sql::Db::open(path, db_options));
  // A read of the header tells a pool from any other file before anything else runs.
  auto schema = check_schema(*db, !options.read_only);
  if (!schema) {
    schema.error().path = path;
    if (schema.error().code == Errc::Corrupt && schema.error().message.find("not an AnyFS") == std::string::npos)
      schema.error().message = "not an AnyFS pool, or its header is damaged (" + schema.error().message + ")";
    return std::unexpected(schema.error());
  }
  ANYFS_CHECK(sql::configure_connection(*db, options.read_only, options.mmap_bytes));
  auto opened = stores_over(
      std::make_unique<SqlitePoolFile>(path, std::move(db), immutable, log_found, db_options, options.mmap_bytes),
      !options.read_only);
  // A pool made with page checksums whose header no longer says so has a
  // damaged header: reading on would skip every check.
  if (ANYFS_TRY(opened.meta->setting("page_checksums")).has_value() && !ANYFS_TRY(sql::has_page_checksums(path)))
    return fail(Errc::Corrupt, path, "the header lost its page-checksum setting: the pool file is damaged");
  // Every volume there and the pool's, now rather than at the first read.
  static_cast<VolumeChunkStore&>(*opened.chunks).open_all();
  return opened;
}

Result<void> create_sqlite_pool_file(const std::string& path, std::uint32_t page_size, bool page_checksums,
                                     const std::function<Result<void>(OpenedPoolFile&)>& fill) {
  auto db = ANYFS_TRY(sql::create_database(path, page_size, page_checksums));
  ANYFS_CHECK(db->exec("BEGIN IMMEDIATE"));
  ANYFS_CHECK(create_schema(*db));
  auto opened = stores_over(std::make_unique<SqlitePoolFile>(path, std::move(db), false, false), true);
  ANYFS_CHECK(fill(opened));
  return opened.meta->commit();
}

}  // namespace anyfs
