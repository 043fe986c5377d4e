// PoolFile: the database a pool lives in, as the pool needs it beside its
// records and chunks — opening and creating it (format checks, the stores over
// it), its log and checkpoints, its size, its own structural and page checks,
// and rewriting it smaller. The pool above knows only this interface and the
// stores; the SQLite implementation (one file and its write-ahead log) is
// sqlite_pool_file.cc, and only it holds the SQL for these jobs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "anyfs/error.h"
#include "chunk/chunk_store.h"
#include "meta/history_store.h"
#include "meta/meta_store.h"
#include "meta/pool_usage.h"
#include "meta/volume_set.h"
#include "util/page_checksum_vfs.h"

namespace anyfs {


// A second connection to the pool for reading committed state beside the
// writer (pool/reader_pool.h): the records and chunks as of a snapshot. One
// thread uses it at a time.
class PoolReader {
 public:
  virtual ~PoolReader() = default;
  // Takes a snapshot of what is committed now; reads see it until end().
  // Errors: Io, Corrupt.
  virtual Result<void> begin() = 0;
  virtual void end() = 0;
  virtual MetaStore& meta() = 0;
  virtual ChunkStore& chunks() = 0;
};

class PoolFile {
 public:
  virtual ~PoolFile() = default;

  // Read as a file nothing changes (a reader that could not make the log's
  // shared index): a writer that comes later cannot be followed.
  virtual bool immutable() const = 0;
  // Whether the write-ahead log was there before the open (which makes one).
  virtual bool log_found_at_open() const = 0;
  // Whether the log stays when the file closes: a writer keeps it until its
  // clean close, so a pool left unclean keeps its newest commits beside it.
  virtual void keep_log(bool keep) = 0;
  // Copies the log into the file and empties it. Errors: NoSpace (no room for
  // pages past the file's end), Io.
  virtual Result<void> checkpoint() = 0;
  // Checkpoints after about `group_bytes` of log; trims the log to `log_bytes`
  // after each checkpoint.
  virtual Result<void> limit_log(std::uint64_t group_bytes, std::uint64_t log_bytes) = 0;
  // The bytes the file holds (allocated pages, free ones included).
  virtual Result<std::uint64_t> size_bytes() = 0;
  virtual Result<PoolUsage> usage() = 0;
  // Every page against its checksum, the newest version of each (in the log or
  // the file); runs on the files, beside the open connection.
  virtual Result<sql::PageScan> scan_pages() = 0;
  // The database's own structural check: each problem found, none when sound.
  virtual Result<std::vector<std::string>> check_structure() = 0;
  virtual Result<bool> has_page_checksums() = 0;
  // Rewrites the file to its smallest size in one transaction, with room for
  // page checksums when `add_page_checksums`.
  virtual Result<void> rewrite(bool add_page_checksums) = 0;
  // The first failure of the storage below, once one happened.
  virtual std::optional<Error> storage_failure() const = 0;
  // Drops the pages the connection caches (none may be in use): a reader
  // that opened while the pool had no write-ahead log reads it as a plain
  // file, whose change counter a writer in WAL mode does not move — so it
  // cannot tell its cache is stale when such a writer commits and closes.
  virtual void drop_page_cache() = 0;
  // The pool's volume files (none in a single-file pool): listing, adding,
  // draining, dropping (meta/volume_set.h).
  virtual VolumeSet& volume_set() = 0;
  // A new read connection, opened as this one was (read-only). Safe to call
  // from any thread while the file is open.
  virtual Result<std::unique_ptr<PoolReader>> open_reader() = 0;
};

// A pool file and the stores over it.
struct OpenedPoolFile {
  std::unique_ptr<PoolFile> file;
  std::unique_ptr<MetaStore> meta;
  std::unique_ptr<HistoryStore> history;
  std::unique_ptr<ChunkStore> chunks;
};

struct PoolFileOptions {
  bool read_only = false;
  std::string vfs;              // a registered SQLite VFS to open through (tests); "" = default
  std::uint64_t mmap_bytes = 0;  // how much of the file reads may map
};

// Opens the pool at `path`: checks that it is whole (not truncated, its log's
// frames intact before a writable open), that it is a pool of a format this
// build reads (migrating an older one when writable), and that its header
// still says what the pool was made with. Errors: Corrupt, Unsupported,
// ReadOnly (a reader that cannot follow the log here), Io.
Result<OpenedPoolFile> open_sqlite_pool_file(const std::string& path, const PoolFileOptions& options);

// Makes a new pool file at `path` (which must not hold a database yet) with
// the schema, and runs `fill` in the same transaction to write its first
// records: a failure leaves no half-made pool. The stores go when it returns.
Result<void> create_sqlite_pool_file(const std::string& path, std::uint32_t page_size, bool page_checksums,
                                     const std::function<Result<void>(OpenedPoolFile&)>& fill);

}  // namespace anyfs
