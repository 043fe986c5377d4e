// The Fs of one dataset (pool/dataset.cc). Internal: users get a Dataset from
// Pool::dataset().
#pragma once

#include <memory>
#include <string>

#include "anyfs/pool.h"
#include "pool/pool_core.h"

namespace anyfs {

// A dataset over `core`, registered for transaction-group flushes.
// REQUIRES: core->mu held.
Result<std::shared_ptr<Dataset>> open_dataset(std::shared_ptr<PoolCore> core, DatasetId id, std::string name,
                                              const DatasetSettings& settings);

// Applies changed properties to an open dataset. REQUIRES: core->mu held.
void update_dataset_settings(Dataset& dataset, const DatasetSettings& settings);

}  // namespace anyfs
