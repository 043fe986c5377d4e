// What a MetaStore keeps in memory between its statements, the same for every
// engine (meta/meta_store.h): which closed rows must stay for readers (each
// dataset's pin and the last committed transaction group's end), and the
// chunk reference changes summed until the transaction writes them, with the
// chunks they brought to zero.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <unordered_map>
#include <vector>

#include "anyfs/error.h"
#include "meta/records.h"

namespace anyfs {

class RecordKeeping {
 public:
  void set_pin(DatasetId ds, Tid pin) {
    if (pin == 0)
      pins_.erase(ds);
    else
      pins_[ds] = pin;
  }
  void set_txg_floor(Tid committed) { txg_floor_ = committed; }
  // Closed rows born at or before this stay; 0 keeps none.
  Tid keep_to(DatasetId ds) const {
    auto it = pins_.find(ds);
    return it == pins_.end() ? 0 : std::min(it->second, txg_floor_);
  }

  void add_ref(const ChunkId& chunk, std::int64_t delta) { pending_refs_[chunk] += delta; }
  // The changes not yet written, in chunk order.
  const std::map<ChunkId, std::int64_t>& pending_refs() const { return pending_refs_; }
  // After writing them: `released` are the chunks they brought to 0.
  void written(std::vector<ChunkId> released) {
    pending_refs_.clear();
    released_.insert(released_.end(), released.begin(), released.end());
  }
  // A rolled-back transaction's changes are gone.
  void forget() {
    pending_refs_.clear();
    released_.clear();
  }
  // The chunks let go in this transaction that `refs` (the written count)
  // still finds at 0: a chunk let go earlier may have been referenced since.
  template <class RefsFn>
  Result<std::vector<ChunkId>> take_released(RefsFn&& refs) {
    std::vector<ChunkId> out;
    for (const auto& chunk : std::exchange(released_, {}))
      if (ANYFS_TRY(refs(chunk)) <= 0) out.push_back(chunk);
    return out;
  }

 private:
  std::unordered_map<DatasetId, Tid> pins_;
  Tid txg_floor_ = 0;
  std::map<ChunkId, std::int64_t> pending_refs_;
  std::vector<ChunkId> released_;
};

}  // namespace anyfs
