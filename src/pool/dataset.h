// The Fs of one dataset (pool/dataset.cc). Internal: users get a Dataset from
// Pool::dataset().
#pragma once

#include <memory>
#include <string>

#include "anyfs/pool.h"
#include "pool/pool_core.h"

namespace anyfs {

// A dataset over `core`, registered for transaction-group flushes; with `at` a
// TID, a read-only view of the dataset as of that TID. A clone reads what it has
// not changed from `origins`: its origin as of the snapshot it was cloned from,
// then that one's origin, and so on. REQUIRES: core->mu held.
Result<std::shared_ptr<Dataset>> open_dataset(std::shared_ptr<PoolCore> core, DatasetId id, std::string name,
                                              const DatasetSettings& settings, Tid at = k_tid_live,
                                              const std::vector<DatasetLayer>& origins = {});

// Promote: makes every inode a clone reaches its own, as operation `tid`, so that
// it no longer reads its origin. Returns the inodes copied. REQUIRES: core->mu held.
Result<std::uint64_t> own_everything(Dataset& clone, Tid tid);

// Applies changed properties to an open dataset. REQUIRES: core->mu held.
void update_dataset_settings(Dataset& dataset, const DatasetSettings& settings);

// Whether files of the dataset are open (rollback and destroy wait for them).
// REQUIRES: core->mu held.
bool dataset_in_use(Dataset& dataset);

// Drops every cached record after its rows changed underneath (rollback).
// REQUIRES: core->mu held, nothing dirty (committed) and not in use.
void forget_dataset_cache(Dataset& dataset);

// Makes every later call on the object fail with BadHandle (the dataset was
// destroyed or renamed: its holders must open it again).
// REQUIRES: core->mu held, not in use.
void retire_dataset(Dataset& dataset);

}  // namespace anyfs
