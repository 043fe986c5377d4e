// History of a pool's datasets (DESIGN.md §3): which TIDs can be read, what each
// dataset pins, snapshots, prune, rollback, diff and file versions. Each call
// REQUIRES the pool lock held; those that read records want the transaction
// group committed first, so that no change is still only in a cache.
#pragma once

#include <optional>
#include <vector>

#include "anyfs/history.h"
#include "meta/history_store.h"
#include "pool/pool_core.h"
#include "pool/pool_lock.h"
#include "pool/properties.h"

namespace anyfs {

// The TID a view of `ds` at `at` reads: a snapshot's TID, or the end of the
// transaction group containing a TID or committed last at a time. Errors:
// NotFound (no such snapshot; before the dataset or the pool existed);
// InvalidArgument (a TID not committed yet); NoData (history no longer keeps that
// state, naming what can be read).
Result<Tid> resolve_as_of(PoolCore& core, const DatasetState& ds, const AsOf& at) REQUIRES(pool_lock);

// Tells the record store what `ds` must keep when rows close: with history on,
// everything committed; otherwise what its newest snapshot sees.
Result<void> refresh_pin(PoolCore& core, DatasetId ds, const DatasetSettings& settings) REQUIRES(pool_lock);

// Closed rows of `ds` kept at the moment (the record store's pin, computed the same way).
Result<Tid> keep_to(PoolCore& core, DatasetId ds, const DatasetSettings& settings) REQUIRES(pool_lock);

Result<std::vector<SnapshotInfo>> list_snapshots(PoolCore& core, const DatasetState& ds) REQUIRES(pool_lock);

// One bounded step of a prune pass over `ds` (at most about `limit` rows).
// Before removing anything it moves the dataset's history_from past the states
// the step may remove. Returns the rows removed; `cursor.done()` at the end.
Result<PruneStep> prune_step(PoolCore& core, const DatasetState& ds, const DatasetSettings& settings,
                             std::size_t limit, PruneCursor& cursor) REQUIRES(pool_lock);

// Forgets transaction-group boundaries no dataset's history can read.
Result<void> forget_old_txgs(PoolCore& core) REQUIRES(pool_lock);

// What changed in `ds` between the states at `from` and `to` (k_tid_live: now);
// a clone reads what it shares through `origins`.
Result<std::vector<DiffEntry>> diff_states(PoolCore& core, DatasetId ds, Tid from, Tid to,
                                           const std::vector<DatasetLayer>& origins = {}) REQUIRES(pool_lock);

// Every kept version of inode `ino` of `ds`.
Result<std::vector<FileVersion>> file_versions(PoolCore& core, const DatasetState& ds, Ino ino) REQUIRES(pool_lock);

}  // namespace anyfs
