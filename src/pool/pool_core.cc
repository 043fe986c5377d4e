#include "pool/pool_core.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>

namespace anyfs {
namespace {

// The pool file's and its log's size, change time and inode.
std::array<std::int64_t, 6> file_signature(const std::string& path) {
  std::array<std::int64_t, 6> out{};
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) out = {st.st_size, st.st_mtim.tv_sec * 1'000'000'000 + st.st_mtim.tv_nsec, 0, 0, 0, 0};
  if (::stat((path + "-wal").c_str(), &st) == 0) {
    out[2] = st.st_size;
    out[3] = st.st_mtim.tv_sec * 1'000'000'000 + st.st_mtim.tv_nsec;
    out[4] = static_cast<std::int64_t>(st.st_ino);
    out[5] = 1;
  }
  return out;
}

}  // namespace

PoolCore::~PoolCore() {
  readers.close();  // no lease outlives the core: a read holds the core while it uses one
  chunks.reset();
  history.reset();
  meta.reset();
  file.reset();
  if (lock_fd >= 0) ::close(lock_fd);
}

bool PoolCore::stopped() {
  if (!poisoned && !read_only && file)
    if (auto failure = file->storage_failure()) poison(*failure);
  return poisoned.has_value();
}

Result<void> PoolCore::check_usable() {
  if (closed) return fail(Errc::BadHandle, path, "the pool is closed");
  if (stopped())
    return fail(Errc::Io, path, fmt::format("the pool stopped after a storage failure ({}); reopen it",
                                            poisoned->to_string()));
  return {};
}

Result<void> PoolCore::begin_read() {
  ANYFS_CHECK(check_usable());
  if (!read_only) {
    // The writer reads inside its transaction group too: a read outside one would
    // take and drop SQLite's shared locks (fcntl calls) on every statement.
    if (!meta->in_transaction()) {
      auto begun = meta->begin();
      if (!begun) return begun;
      txg_opened = std::chrono::steady_clock::now();
      mu.notify_all(txg_cv);
    }
    return {};
  }
  if (immutable) {
    struct stat wal {};
    if (::stat((path + "-wal").c_str(), &wal) == 0 && wal.st_size > 0)
      return fail(Errc::Busy, path,
                  "the pool has been opened for writing since this reader opened it, and this reader cannot "
                  "follow its commits (it could not create the -shm file); open it again");
  }
  // Another process may have committed: records cached here could be stale.
  // SQLite's data version tells, but not when this reader opened the pool as
  // a plain file (no log beside it then) and the writer's log came and went
  // (it takes it away as it closes, after writing its pages into the file):
  // then the files' sizes and times tell, and the connection's page cache
  // must go before anything is read, and the last TID the writer stored
  // tells whether it committed.
  // (The first look only notes them: the connection has just read the file.)
  // Neither moved: nothing was committed, and no row needs reading.
  const auto files = file_signature(path);
  const bool files_changed = files != files_seen;
  if (files_changed) {
    if (files_seen != decltype(files_seen){}) file->drop_page_cache();
    files_seen = files;
  }
  const std::int64_t now = ANYFS_TRY(meta->data_version());
  if (now == data_version && !files_changed) return {};
  auto stored = ANYFS_TRY(meta->setting("last_tid"));
  const Tid last = stored ? std::stoull(*stored) : 0;
  if (now != data_version || last != last_tid_seen) {
    // What the writer committed last bounds the TIDs a view of the past may ask for.
    counters.follow(last);
    for (auto* p : participants) p->forget_cache();
    chunk_cache.clear();
    chunks->drop_caches();
    data_version = now;
    last_tid_seen = last;
  }
  return {};
}

Result<bool> PoolCore::begin_snapshot() {
  const bool changed = ANYFS_TRY(meta->begin_snapshot()) != data_version;
  if (changed) chunks->drop_caches();
  return changed;
}

void PoolCore::end_snapshot() {
  chunks->release_handles();
  (void)meta->end_snapshot();
}

Result<Tid> PoolCore::begin_op(DatasetId ds, std::string_view op, std::string_view detail) {
  ANYFS_CHECK(check_usable());
  if (read_only) return fail(Errc::ReadOnly, std::string(detail), read_only_message());
  if (!meta->in_transaction()) {
    auto begun = meta->begin();
    if (!begun) return std::unexpected(begun.error());
    txg_opened = std::chrono::steady_clock::now();
    mu.notify_all(txg_cv);
  }
  Tid tid = counters.next_tid();
  if (ds == last_log_ds && detail == last_log_detail) return tid;
  auto logged = meta->log({tid, wall_clock_ns(), ds, std::string(op), std::string(detail)});
  if (!logged) {
    poison(logged.error());
    return std::unexpected(logged.error());
  }
  last_log_ds = ds;
  last_log_detail = detail;
  return tid;
}


Result<void> PoolCore::end_op(Result<void> outcome) {
  if (!outcome) {
    // Storage failures leave the transaction in an unknown state; checks that
    // failed before anything was written (NotFound, Exists, ...) do not.
    Errc code = outcome.error().code;
    if (code == Errc::Io || code == Errc::NoSpace || code == Errc::Corrupt) poison(outcome.error());
    return outcome;
  }
  if (sync_mode == SyncMode::Always) return commit();
  // Buffered data becomes log frames when flushed: on a small file system a
  // group's share of the log bounds the buffer too (pool/space_guard.h).
  if (counters.dirty_bytes() > std::min(k_dirty_limit, space.txg_limit())) {
    for (auto* p : participants) {
      auto flushed = p->flush_dirty(false);
      if (!flushed) {
        poison(flushed.error());
        return flushed;
      }
    }
  }
  if (counters.txg_bytes() > space.txg_limit()) return commit(false);
  return {};
}

Result<void> PoolCore::commit(bool all) {
  ANYFS_CHECK(check_usable());
  if (read_only) return {};
  for (auto* p : participants) {
    if (!meta->in_transaction()) ANYFS_CHECK(meta->begin());
    auto flushed = p->flush_dirty(all);
    if (!flushed) {
      poison(flushed.error());
      return flushed;
    }
  }
  if (!meta->in_transaction()) {
    // No record changed, but reads found bad copies to rewrite or errors to record.
    if (!chunks->wants_commit()) return {};
    ANYFS_CHECK(meta->begin());
  }
  // An open blob handle would keep a read transaction (and the WAL) pinned.
  chunks->release_handles();
  auto done = [&]() REQUIRES(pool_lock) -> Result<void> {
    if (counters.numbers_handed_out()) {
      ANYFS_CHECK(meta->set_setting("last_tid", std::to_string(counters.last_tid())));
      ANYFS_CHECK(meta->set_setting("last_ino", std::to_string(counters.last_ino())));
    }
    if (counters.tids_handed_out()) ANYFS_CHECK(history->record_txg(counters.last_tid(), wall_clock_ns()));
    ANYFS_CHECK(free_released());
    // Chunk bytes on volume files are durable before the records naming them (rule 1).
    ANYFS_CHECK(chunks->make_durable());
    return meta->commit();
  }();
  if (!done) {
    poison(done.error());
    return done;
  }
  chunks->committed();
  counters.committed();
  last_log_ds = 0;
  last_log_detail.clear();
  meta->set_txg_floor(counters.committed_tid());
  return {};
}

Result<void> PoolCore::admit_data(std::uint64_t bytes) {
  auto admitted = admit_data_now(bytes, false);
  if (admitted || !meta->in_transaction()) return admitted;
  // Space the open group frees (removals, whose chunks go as it commits) is
  // not free until it commits, as in ZFS: commit it and look again.
  ANYFS_CHECK(commit(false));
  return admit_data_now(bytes, true);
}

Result<void> PoolCore::admit_data_now(std::uint64_t bytes, bool fresh) {
  const auto now = std::chrono::steady_clock::now();
  if (fresh || now - space_seen_at > std::chrono::milliseconds(50)) {
    space_seen.free_bytes = ANYFS_TRY(meta->free_bytes());
    struct stat wal {};
    space_seen.wal_bytes = ::stat((path + "-wal").c_str(), &wal) == 0 ? static_cast<std::uint64_t>(wal.st_size) : 0;
    space_seen_at = now;
  }
  space_seen.pending_bytes = counters.dirty_bytes() + counters.txg_bytes();
  return space.admit(bytes, space_seen, fresh);
}

// In a single-file pool a chunk row and the records naming it commit together,
// and a reader in another process reads a file's extents and their chunks in
// one snapshot (Dataset's read path), which keeps the rows it can see: a chunk
// nothing references is freed in the transaction group that let it go, with
// no grace period (docs/SEMANTICS.md, "Space").
Result<void> PoolCore::free_released() {
  for (const auto& id : ANYFS_TRY(meta->take_released())) {
    auto removed = chunks->remove(id);
    if (!removed && removed.error().code != Errc::NotFound) return removed;
    ANYFS_CHECK(meta->forget_chunk(id));
    chunk_cache.erase(id);
    chunks_freed++;
  }
  return {};
}

void PoolCore::abandon_txg() {
  last_log_ds = 0;
  last_log_detail.clear();
  if (auto rolled = meta->rollback(); !rolled) {
    poison(rolled.error());
    return;
  }
  counters.abandoned();
  chunk_cache.clear();
  chunks->drop_caches();
  for (auto* p : participants) p->forget_cache();
}

void PoolCore::poison(const Error& cause) {
  if (poisoned) return;
  poisoned = cause;
  last_log_detail.clear();
  (void)meta->rollback();
  chunk_cache.clear();
  chunks->drop_caches();
  if (mu.gate_closed()) {
    forget_deferred = true;  // open_gate() does it
    return;
  }
  for (auto* p : participants) p->forget_cache();
}

void PoolCore::open_gate() {
  mu.open_gate();
  if (!forget_deferred) return;
  forget_deferred = false;
  for (auto* p : participants) p->forget_cache();
}

}  // namespace anyfs
