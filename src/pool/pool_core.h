// What every dataset of one open pool shares: the SQLite connection, the record
// and chunk stores over it, the TID and inode counters, the open transaction
// group and the one lock that serialises them.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "anyfs/error.h"
#include "chunk/chunk_store.h"
#include "meta/history_store.h"
#include "meta/meta_store.h"
#include "meta/pool_file.h"
#include "pool/chunk_cache.h"
#include "pool/reader_pool.h"
#include "pool/pool_lock.h"
#include "pool/properties.h"
#include "pool/space_guard.h"
#include "pool/txg_counters.h"
#include "util/clock.h"
#include "util/thread_pool.h"

namespace anyfs {

// Where a dataset's rows are read: a dataset at a TID (k_tid_live: live).
struct DatasetLayer {
  DatasetId ds = 0;
  Tid at = k_tid_live;
};

// A dataset's buffered state, written out when the transaction group commits.
class TxgParticipant {
 public:
  virtual ~TxgParticipant() = default;
  // Writes buffered data and records into the open transaction. Under memory
  // pressure (all = false) the unfinished tail of a file being written stays
  // buffered, so that its chunk boundaries do not depend on when it was flushed.
  virtual Result<void> flush_dirty(bool all) REQUIRES(pool_lock) = 0;
  // Drops every cached record (another process committed).
  virtual void forget_cache() REQUIRES(pool_lock) = 0;
};

struct PoolCore {
  PoolCore() = default;
  PoolCore(const PoolCore&) = delete;
  PoolCore& operator=(const PoolCore&) = delete;
  // Closes SQLite before the writer lock's descriptor (see take_writer_lock).
  ~PoolCore();

  // Dirty file data buffered across the pool before it is chunked and written.
  static constexpr std::uint64_t k_dirty_limit = 32ull << 20;
  // Chunk bytes a transaction group may write before it commits by size, so that
  // the WAL is checkpointed and reused rather than growing with the txg.
  static constexpr std::uint64_t k_txg_bytes_limit = 128ull << 20;

  PoolMutex mu;  // pool_lock (pool/pool_lock.h): guards everything below and every call into file/meta/chunks
  // Set when the pool opens, before it is shared; read without the lock.
  std::string path;
  bool read_only = false;
  // Why a pool asked for writable opened read-only (a volume it cannot do
  // without: pool/pool_volumes.cc), for the errors writes get.
  std::string read_only_reason;
  std::string read_only_message() const {
    return read_only_reason.empty() ? "the pool is open read-only" : "the pool is read-only: " + read_only_reason;
  }
  // Read as a file nothing changes (no -shm file could be made; Pool::open):
  // a writer that comes later cannot be followed, so reads stop then.
  bool immutable = false;
  std::unique_ptr<PoolFile> file PT_GUARDED_BY(pool_lock);  // the database below the stores (meta/pool_file.h)
  std::unique_ptr<MetaStore> meta PT_GUARDED_BY(pool_lock);
  std::unique_ptr<HistoryStore> history PT_GUARDED_BY(pool_lock);
  std::unique_ptr<ChunkStore> chunks PT_GUARDED_BY(pool_lock);
  ChunkCache chunk_cache{0};  // its own lock: reads outside the pool lock share it; sized at open
  ReaderPool readers;                   // connections for reads outside the pool lock
  SpaceGuard space GUARDED_BY(pool_lock);  // a writer's reserve on its file system (pool/space_guard.h)
  PoolSpace space_seen GUARDED_BY(pool_lock);  // the pool's figures the guard last saw, and when
  std::chrono::steady_clock::time_point space_seen_at GUARDED_BY(pool_lock){};
  // Hashes and compresses chunks beside the thread that writes SQLite.
  ThreadPool workers{std::max(2u, std::thread::hardware_concurrency()) - 1};
  int lock_fd = -1;  // holds the writer lock (flock) for the life of the pool

  TxgCounters counters GUARDED_BY(pool_lock);  // TIDs and inode numbers handed out, bytes pending (pool/txg_counters.h)
  std::optional<Error> poisoned GUARDED_BY(pool_lock);
  bool closed GUARDED_BY(pool_lock) = false;

  // The open transaction group.
  std::chrono::steady_clock::time_point txg_opened GUARDED_BY(pool_lock);
  DatasetId last_log_ds GUARDED_BY(pool_lock) = 0;    // the last txlog row of this txg (for coalescing)
  std::string last_log_detail GUARDED_BY(pool_lock);
  SyncMode sync_mode GUARDED_BY(pool_lock) = SyncMode::Standard;
  std::chrono::milliseconds txg_timeout GUARDED_BY(pool_lock){1000};
  std::vector<TxgParticipant*> participants GUARDED_BY(pool_lock);
  std::condition_variable txg_cv;  // wakes the commit timer: notified through mu.notify_all(txg_cv)
  std::int64_t data_version GUARDED_BY(pool_lock) = -1;  // read-only openers: the database version last seen (MetaStore::data_version)
  Tid last_tid_seen GUARDED_BY(pool_lock) = 0;  // and the writer's last TID then (PoolCore::begin_read)
  std::array<std::int64_t, 6> files_seen GUARDED_BY(pool_lock){};  // and the files' sizes and times then

  // Starts a mutating operation: opens the transaction group if needed, hands
  // out the next TID and logs the operation — unless the previous operation of
  // this txg had the same dataset and detail (create /x, write /x, utimens /x):
  // the txlog keeps one row for such a run, the first, as its summary.
  // Errors: ReadOnly, BadHandle (closed), Io (poisoned), and storage errors.
  Result<Tid> begin_op(DatasetId ds, std::string_view op, std::string_view detail) REQUIRES(pool_lock);
  // A TID of the open transaction group, for records written without an
  // operation of their own (data flushed at commit): the last TID handed out if
  // it belongs to this group, else a new one. Every row a group writes then
  // carries a TID in (the previous group's end, this group's end], which is what
  // makes an as-of read at a group's end see exactly that group's state.
  Tid txg_tid() REQUIRES(pool_lock) { return counters.group_tid(); }
  // `tid` if it belongs to the open transaction group, else txg_tid().
  Tid stamp(Tid tid) REQUIRES(pool_lock) { return counters.stamp(tid); }
  // Ends one: a storage failure poisons the pool (see poison); sync=always commits.
  Result<void> end_op(Result<void> outcome) REQUIRES(pool_lock);
  // Checks the pool is usable for reading; a read-only opener drops its caches
  // when another process has committed since. Errors: BadHandle, Io (poisoned).
  Result<void> begin_read() REQUIRES(pool_lock);
  // A read-only opener reads a file's extents and the chunks they name in one
  // snapshot of the pool, since the writer frees a chunk in the transaction
  // group that lets go of it: begins that snapshot (a read transaction) and
  // says whether another process committed since begin_read — then the
  // caller's records may be older than the snapshot, and the chunk locations
  // cached here are dropped. end_snapshot ends it. REQUIRES: mu held, no
  // transaction open (verify takes one too, for all its checks).
  Result<bool> begin_snapshot() REQUIRES(pool_lock);
  void end_snapshot() REQUIRES(pool_lock);
  // Flushes every participant and commits the transaction group durably. The
  // timer passes all = false: the unfinished tails of files still open for
  // writing wait for their fsync, close or the next sync.
  Result<void> commit(bool all = true) REQUIRES(pool_lock);
  // Admits `bytes` more bytes of file data, before the operation that writes
  // them begins. Errors: NoSpace, with nothing written and the pool usable.
  Result<void> admit_data(std::uint64_t bytes) REQUIRES(pool_lock);
  Result<void> admit_data_now(std::uint64_t bytes, bool fresh) REQUIRES(pool_lock);
  // Frees the chunks whose last reference went in the open transaction group.
  Result<void> free_released() REQUIRES(pool_lock);
  std::uint64_t chunks_freed GUARDED_BY(pool_lock) = 0;  // by free_released since the pool opened
  // Ends a flush's stretch without the lock (FileData::flush): opens the gate
  // and drops the caches a poisoning meanwhile could not (their nodes'
  // buffered bytes were being read outside the lock).
  void open_gate() REQUIRES(pool_lock);
  bool forget_deferred GUARDED_BY(pool_lock) = false;
  // Rolls the open transaction group back on purpose (a receive that failed
  // before its end): its TIDs and inode numbers are handed out again and
  // every cache that may hold its changes is dropped. Chunks it put on
  // volume files stay there unnamed until gc (rule 3). REQUIRES: no dataset
  // has buffered changes in the group (the caller committed before it began).
  void abandon_txg() REQUIRES(pool_lock);
  // After a storage failure mid-transaction, the in-memory state no longer matches
  // what can be committed: roll back and refuse every further call.
  void poison(const Error& cause) REQUIRES(pool_lock);
  // Whether the pool is poisoned — also when a statement met a storage failure
  // since (util/sqlite.h): the writer poisons itself then, since SQLite may
  // have rolled back the transaction group its caches still reflect.
  bool stopped() REQUIRES(pool_lock);
  Result<void> check_usable() REQUIRES(pool_lock);
};

}  // namespace anyfs
