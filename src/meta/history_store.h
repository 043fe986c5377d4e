// HistoryStore: what DESIGN.md §3 and §7 build on the TID-versioned records —
// datasets and their history bounds, transaction-group boundaries, snapshots and
// bookmarks, and the bulk operations that read or rewrite the rows changed
// between two TIDs (prune, rollback, diff). It shares the MetaStore's
// connection and gives chunk references back through it.
//
// Not thread-safe: the pool serialises calls.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "anyfs/error.h"
#include "meta/meta_store.h"
#include "meta/records.h"

namespace anyfs {

struct DatasetState {
  DatasetId id = 0;
  std::string name;
  Tid created_tid = 0;
  std::optional<DatasetId> origin;  // a clone's origin dataset
  Tid origin_tid = 0;               // and the snapshot TID it was cloned from
  // Every state from this TID on is kept (history on); unset: only snapshots.
  std::optional<Tid> history_from;
};

// A snapshot or a bookmark: a name for a TID of a dataset.
struct NamedTid {
  DatasetId ds = 0;
  std::string name;
  Tid tid = 0;
  std::int64_t time_ns = 0;
  // A snapshot's random identity (32 hex digits), which its bookmarks keep
  // and send streams carry: the base of an incremental is found by it.
  std::string guid;
};

enum class NameKind { Snapshot, Bookmark };

// A closed row version of an inode, for `history PATH`.
struct InodeVersion {
  InodeRecord record;  // record.tid_from: when it was written
  Tid tid_to = 0;      // k_tid_live for the live version
};

// Where a prune pass has got to: tables in order, rows by tid_to.
struct PruneCursor {
  int table = 0;
  Tid after = 0;  // rows whose tid_to is at most this were looked at
  bool done() const;
};

struct PruneStep {
  std::uint64_t rows_removed = 0;
  std::uint64_t refs_released = 0;
};

class HistoryStore {
 public:
  virtual ~HistoryStore() = default;

  // --- Datasets -----------------------------------------------------------------
  virtual Result<std::vector<DatasetState>> datasets() = 0;
  virtual Result<void> rename_dataset(DatasetId ds, std::string_view name) = 0;
  virtual Result<void> set_history_from(DatasetId ds, std::optional<Tid> from) = 0;
  virtual Result<void> set_origin(DatasetId ds, std::optional<DatasetId> origin, Tid origin_tid) = 0;
  // Removes every row of the dataset (giving back its chunk references), its
  // properties, snapshots, bookmarks and the dataset itself.
  virtual Result<void> drop_dataset(DatasetId ds) = 0;

  // --- Transaction-group boundaries -----------------------------------------------
  virtual Result<void> record_txg(Tid end, std::int64_t time_ns) = 0;
  // The first boundary at or after `tid` (the state that includes it).
  virtual Result<std::optional<Tid>> txg_containing(Tid tid) = 0;
  // The last boundary committed at or before `time_ns`.
  virtual Result<std::optional<Tid>> txg_at_time(std::int64_t time_ns) = 0;
  virtual Result<std::optional<std::int64_t>> txg_time(Tid end) = 0;
  // Forgets the boundaries before `tid` (no as-of read can use them any more).
  virtual Result<void> forget_txgs_before(Tid tid) = 0;

  // --- Snapshots and bookmarks ------------------------------------------------------
  // Oldest first.
  virtual Result<std::vector<NamedTid>> names(DatasetId ds, NameKind kind) = 0;
  virtual Result<std::optional<NamedTid>> name(DatasetId ds, std::string_view name, NameKind kind) = 0;
  // Errors: Exists.
  virtual Result<void> put_name(const NamedTid& entry, NameKind kind) = 0;
  virtual Result<void> drop_name(DatasetId ds, std::string_view name, NameKind kind) = 0;
  virtual Result<void> rename_name(DatasetId ds, std::string_view from, std::string_view to, NameKind kind) = 0;
  // Logical bytes of the extent rows visible at `tid` and at no other point that
  // can read them: born after `prev`, closed by `next` (k_tid_live: closed at all).
  virtual Result<std::uint64_t> unique_bytes(DatasetId ds, Tid prev, Tid tid, Tid next) = 0;

  // --- Bulk operations --------------------------------------------------------------
  // Physically removes up to about `limit` closed rows of `ds` that died at or
  // before `window_to` and that no TID in `pinned` (sorted) can see, advancing
  // `cursor`; extents give their chunk references back.
  virtual Result<PruneStep> prune(DatasetId ds, Tid window_to, const std::vector<Tid>& pinned, std::size_t limit,
                                  PruneCursor& cursor) = 0;
  // Makes the live rows of `ds` those visible at `to`, as operation `tid`: live
  // rows born after `to` are closed (kept when born at or before `keep`,
  // removed otherwise) and rows closed after `to` are born again. Returns the
  // rows changed.
  virtual Result<std::uint64_t> rollback(DatasetId ds, Tid to, Tid tid, Tid keep) = 0;
  // Inodes any of whose rows (inode, dirent naming it, extent, xattr) was born or
  // closed in (from, to]; `to` may be k_tid_live.
  virtual Result<std::vector<Ino>> changed_inodes(DatasetId ds, Tid from, Tid to) = 0;
  // The states of `ds` in (from, to] that differ from the one before: the
  // ends of the transaction groups in which any of its rows was born or
  // closed, oldest first (send --history).
  virtual Result<std::vector<Tid>> changed_states(DatasetId ds, Tid from, Tid to) = 0;
  // The directory entries naming `ino` at `at`.
  virtual Result<std::vector<DirentRecord>> names_of(DatasetId ds, Ino ino, Tid at) = 0;
  // What is wrong with the state at `at` (for verify): entries naming inodes
  // that state lacks, extents of inodes it lacks or that are not files.
  virtual Result<std::vector<std::string>> check_state(DatasetId ds, Tid at) = 0;
  // Every kept row version of an inode, oldest first.
  virtual Result<std::vector<InodeVersion>> inode_versions(DatasetId ds, Ino ino) = 0;
  // Transaction-log rows newest first, from `before` down (exclusive; k_tid_live
  // for the newest), at most `limit`, time within [since_ns, until_ns].
  virtual Result<std::vector<TxlogEntry>> log_entries(Tid before, std::int64_t since_ns, std::int64_t until_ns,
                                                      std::size_t limit) = 0;
};

std::unique_ptr<HistoryStore> make_sqlite_history_store(sql::Db& db, MetaStore& meta);

}  // namespace anyfs
