// The Fs of one dataset (pool/dataset.cc). Internal: users get a Dataset from
// Pool::dataset().
#pragma once

#include <memory>
#include <string>

#include "anyfs/pool.h"
#include "pool/pool_core.h"
#include "pool/pool_lock.h"

namespace anyfs {

// A dataset over `core`, registered for transaction-group flushes; with `at` a
// TID, a read-only view of the dataset as of that TID. A clone reads what it has
// not changed from `origins`: its origin as of the snapshot it was cloned from,
// then that one's origin, and so on.
Result<std::shared_ptr<Dataset>> open_dataset(std::shared_ptr<PoolCore> core, DatasetId id, std::string name,
                                              const DatasetSettings& settings, Tid at = k_tid_live,
                                              const std::vector<DatasetLayer>& origins = {}) REQUIRES(pool_lock);

// Promote: makes every inode a clone reaches its own, as operation `tid`, so that
// it no longer reads its origin. Returns the inodes copied.
Result<std::uint64_t> own_everything(Dataset& clone, Tid tid) REQUIRES(pool_lock);

// Applies changed properties to an open dataset.
void update_dataset_settings(Dataset& dataset, const DatasetSettings& settings) REQUIRES(pool_lock);

// Whether files of the dataset are open (rollback and destroy wait for them).
bool dataset_in_use(Dataset& dataset) REQUIRES(pool_lock);

// Drops every cached record after its rows changed underneath (rollback).
// Requires: nothing dirty (committed) and not in use.
void forget_dataset_cache(Dataset& dataset) REQUIRES(pool_lock);

// Makes every later call on the object fail with BadHandle (the dataset was
// destroyed or renamed: its holders must open it again).
// Requires: not in use.
void retire_dataset(Dataset& dataset) REQUIRES(pool_lock);

}  // namespace anyfs
