// The in-memory form of one inode of a dataset (pool/node_cache.h keeps them),
// and the keys of the directory-entry cache.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "anyfs/types.h"
#include "meta/records.h"

namespace anyfs {

// Files up to this size keep their extents cached in their node.
constexpr std::uint64_t k_extent_cache_max_size = 1 << 20;

struct Node {
  InodeRecord rec;
  bool dirty = false;   // rec differs from its stored row
  bool listed = false;  // in the dataset's dirty list
  bool gone = false;    // destroyed: its rows are closed, it must not be written
  // Where its rows are read: 0 the dataset itself, above 0 an origin of a clone
  // (the inode is shared with it until the clone changes it, see NodeCache::own).
  int layer = 0;
  Tid dirty_tid = 0;    // the first TID that changed it since it was written
  // A TID of the transaction group that last changed its extents (0: none
  // since loaded). Once the pool has committed it, the file's data rows are
  // what a read connection sees (FileData::plan_read).
  Tid data_tid = 0;
  bool stale = false;   // a read-only opener saw another process commit
  // Handles holding it: counted up under the pool lock, down without it
  // (DatasetFile::close takes the lock only for the last one).
  std::atomic<int> opens = 0;
  // Buffered file data (pool/file_data.h): bytes by offset, not overlapping.
  std::map<std::uint64_t, std::string> data;
  std::uint64_t data_bytes = 0;
  // All extents of a small file, cached; reset by every change to them.
  std::optional<std::vector<ExtentRecord>> extents;
};

// What the path resolver walks: an inode number and its kind (from the dirent row).
struct TreeNode {
  Ino ino;
  FileKind kind;
};

// A directory entry's key: the directory and the name in it.
struct DentryKey {
  Ino parent;
  std::string name;
};
struct DentryView {
  Ino parent;
  std::string_view name;
};
// Looks up by (parent, string_view) without building a key string.
struct DentryHash {
  using is_transparent = void;
  std::size_t operator()(const DentryView& k) const {
    return std::hash<std::string_view>()(k.name) ^ (k.parent * 0x9e3779b97f4a7c15ull);
  }
  std::size_t operator()(const DentryKey& k) const { return (*this)(DentryView{k.parent, k.name}); }
};
struct DentryEq {
  using is_transparent = void;
  static DentryView view(const DentryKey& k) { return {k.parent, k.name}; }
  static DentryView view(const DentryView& k) { return k; }
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    return view(a).parent == view(b).parent && view(a).name == view(b).name;
  }
};

}  // namespace anyfs
