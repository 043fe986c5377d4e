// Reads of one dataset's state at a TID through a clone's origins (the rows
// the clone has not changed are its origin's, as of the snapshot it was
// cloned from), as the dataset itself reads them: for diff and send.
// REQUIRES: the pool lock, and the transaction group committed first.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "meta/records.h"
#include "pool/pool_core.h"
#include "pool/pool_lock.h"

namespace anyfs {

// Reads of one dataset's state at a TID, through a clone's origins for the
// inodes it has not changed (as the dataset itself reads them).
class StateReader {
 public:
  StateReader(PoolCore& core, DatasetId ds, Tid at, const std::vector<DatasetLayer>& origins)
      : core_(core), layers_{{ds, at}} {
    layers_.insert(layers_.end(), origins.begin(), origins.end());
  }

  // The layer whose rows the inode is read from, or none.
  Result<std::optional<std::size_t>> owner(Ino ino) REQUIRES(pool_lock) {
    for (std::size_t i = 0; i < layers_.size(); ++i)
      if (ANYFS_TRY(core_.meta->inode(layers_[i].ds, ino, layers_[i].at))) return std::optional<std::size_t>(i);
    return std::optional<std::size_t>();
  }
  Result<std::optional<InodeRecord>> inode(Ino ino) REQUIRES(pool_lock) {
    for (const auto& l : layers_)
      if (auto rec = ANYFS_TRY(core_.meta->inode(l.ds, ino, l.at))) return rec;
    return std::optional<InodeRecord>();
  }
  // Names live in the parent directory, read from the layer that owns it.
  Result<std::vector<DirentRecord>> names(Ino ino) REQUIRES(pool_lock) {
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      std::vector<DirentRecord> out;
      for (auto& e : ANYFS_TRY(core_.history->names_of(layers_[i].ds, ino, layers_[i].at)))
        if (ANYFS_TRY(owner(e.parent)) == std::optional<std::size_t>(i)) out.push_back(std::move(e));
      if (!out.empty()) return out;
    }
    return std::vector<DirentRecord>();
  }
  // The path of `ino`, following its first name up to the root; empty when it
  // has none (an open file unlinked, or a loop in damaged records).
  Result<std::string> path(Ino ino) REQUIRES(pool_lock) {
    std::vector<std::string> parts;
    for (int depth = 0; ino != k_root_ino; ++depth) {
      if (depth > 4096) return std::string();
      auto names = ANYFS_TRY(this->names(ino));
      if (names.empty()) return std::string();
      parts.push_back(names.front().name);
      ino = names.front().parent;
    }
    std::string out;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) out += "/" + *it;
    return out.empty() ? std::string("/") : out;
  }
  // The entries of directory `dir`, from the layer that owns it, by name.
  Result<std::vector<DirentRecord>> list_dir(Ino dir) REQUIRES(pool_lock) {
    auto at = ANYFS_TRY(owner(dir));
    if (!at) return std::vector<DirentRecord>();
    return core_.meta->list_dir(layers_[*at].ds, dir, layers_[*at].at);
  }
  // What a file holds: its extents and xattrs, from the layer that owns it.
  Result<std::pair<std::vector<ExtentRecord>, std::vector<std::pair<std::string, std::string>>>> content(Ino ino) REQUIRES(pool_lock) {
    auto at = ANYFS_TRY(owner(ino));
    if (!at) return std::pair<std::vector<ExtentRecord>, std::vector<std::pair<std::string, std::string>>>();
    const auto& l = layers_[*at];
    return std::pair(ANYFS_TRY(core_.meta->extents(l.ds, ino, 0, k_max_file_size, l.at)),
                     ANYFS_TRY(core_.meta->xattrs(l.ds, ino, l.at)));
  }

 private:
  PoolCore& core_;
  std::vector<DatasetLayer> layers_;
};

inline bool same_extents(const std::vector<ExtentRecord>& a, const std::vector<ExtentRecord>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const ExtentRecord& x, const ExtentRecord& y) {
    return x.offset == y.offset && x.length == y.length && x.chunk == y.chunk && x.chunk_offset == y.chunk_offset;
  });
}

}  // namespace anyfs
