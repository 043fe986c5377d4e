// The records of one dataset held in memory: its inodes (as Nodes), the
// directory entries looked up, and where each directory hangs (for naming
// inodes in the txlog and finding a directory's ancestors). Every change made
// through it keeps the caches true; changed nodes are listed for the next
// transaction-group flush. Reads go to the dataset's rows, or for a clone to
// its origins' rows until the clone owns the inode.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "anyfs/error.h"
#include "pool/node.h"
#include "pool/pool_core.h"
#include "util/thread_annotations.h"

namespace anyfs {

class NodeCache {
 public:
  // `layers`: [0] the dataset itself (at a TID, or live), then a clone's origins.
  NodeCache(PoolCore& core, DatasetId id, std::string dataset_name, std::vector<DatasetLayer> layers)
      : core_(core), id_(id), name_(std::move(dataset_name)), layers_(std::move(layers)) {}

  // The node of `ino`, loaded on first use. Errors: `missing` when no layer has
  // the inode (Corrupt where a row names it, NotFound for a caller's number).
  Result<Node*> load(Ino ino, Errc missing = Errc::Corrupt) REQUIRES(pool_lock);
  // The owning pointer of a loaded node (a handle keeps its node alive).
  std::shared_ptr<Node> shared(Node* node) REQUIRES_SHARED(pool_lock) { return nodes_.at(node->rec.ino); }
  // For reads under the lock held shared, which change nothing: the node of
  // `ino` if it is cached and current (nullptr: load() it under the lock),
  // and the entry `name` of `parent` if the entry cache holds it.
  Node* cached(Ino ino) const REQUIRES_SHARED(pool_lock) {
    auto it = nodes_.find(ino);
    return it == nodes_.end() || it->second->stale ? nullptr : it->second.get();
  }
  std::optional<TreeNode> cached_entry(Ino parent, std::string_view name) const REQUIRES_SHARED(pool_lock) {
    auto it = dentries_.find(DentryView{parent, name});
    if (it == dentries_.end()) return std::nullopt;
    return it->second;
  }
  // Where the node's rows are read.
  const DatasetLayer& layer_of(const Node& node) const REQUIRES_SHARED(pool_lock) {
    return layers_[static_cast<std::size_t>(node.layer)];
  }
  // Reloads a node a read-only opener marked stale.
  Result<void> refresh(Node& node) REQUIRES(pool_lock);
  // A new inode with the next number, listed dirty.
  Node* create(FileKind kind, std::uint32_t mode, Tid tid) REQUIRES(pool_lock);
  // The node changed in operation `tid`: written at the next flush.
  void mark(Node* node, Tid tid) REQUIRES(pool_lock);
  // Lists a node for the next flush again (its row could not be written whole).
  void relist(const std::shared_ptr<Node>& node) REQUIRES(pool_lock);
  // The nodes changed since the last call, unlisted.
  std::vector<std::shared_ptr<Node>> take_dirty() REQUIRES(pool_lock);
  // Before a clone changes an inode it shares with its origin, the inode's rows
  // (extents, xattrs, a directory's entries) become its own, as of the origin's
  // snapshot; the inode row itself is written when the group commits. Extents
  // take a chunk reference each; no data is copied.
  Result<void> own(Node* node, Tid tid) REQUIRES(pool_lock);
  // Owns every inode the clone reaches (promote), then forgets the origins.
  // Returns the inodes copied.
  Result<std::uint64_t> own_everything(Tid tid) REQUIRES(pool_lock);
  // Forgets a destroyed inode.
  void erase(Ino ino) REQUIRES(pool_lock) { nodes_.erase(ino); }

  // The extents of `node` overlapping [from, to): from the node for small files.
  Result<std::vector<ExtentRecord>> extents(Node& node, std::uint64_t from, std::uint64_t to) REQUIRES(pool_lock);
  // The same when the node has them cached (a small file's, loaded), else
  // nullopt. Changes nothing: for reads under the lock held shared.
  static std::optional<std::vector<ExtentRecord>> cached_extents(const Node& node, std::uint64_t from, std::uint64_t to);

  // The entry `name` of directory `parent`, through the entry cache.
  Result<std::optional<TreeNode>> lookup(Ino parent, std::string_view name) REQUIRES(pool_lock);
  Result<void> put_entry(const DirentRecord& e, Tid tid) REQUIRES(pool_lock);
  Result<void> drop_entry(Ino parent, const std::string& name, Tid tid) REQUIRES(pool_lock);

  // Where directory `dir` hangs (its parent and name); nullopt: it has no name.
  Result<std::optional<DentryKey>> up_of(Ino dir) REQUIRES(pool_lock);
  // True if directory `ancestor` is `dir` or above it.
  Result<bool> is_ancestor(Ino ancestor, Ino dir) REQUIRES(pool_lock);
  // The path of `name` in directory `dir`.
  Result<std::string> entry_path(Ino dir, std::string_view name) REQUIRES(pool_lock);
  // A path naming `node` for the txlog ("inode N" once it has no name).
  Result<std::string> path_of(Node& node) REQUIRES(pool_lock);

  // Between calls: drops unheld clean nodes once there are too many. Never
  // during a call, so no Node* a call holds goes away.
  void trim() REQUIRES(pool_lock);
  // Drops every cached record (another process committed, or a rollback):
  // held nodes stay, marked stale, with their buffered data dropped.
  void forget() REQUIRES(pool_lock);
  // Whether a handle holds a node.
  bool in_use() const REQUIRES(pool_lock);

 private:
  // The directories from `dir` up to the root, `dir` first.
  Result<std::vector<DentryKey>> chain_of(Ino dir) REQUIRES(pool_lock);
  void remember_up(Ino dir, Ino parent, std::string_view name) REQUIRES(pool_lock);

  PoolCore& core_;
  const DatasetId id_;
  const std::string name_;
  std::vector<DatasetLayer> layers_ GUARDED_BY(pool_lock);
  std::unordered_map<Ino, std::shared_ptr<Node>> nodes_ GUARDED_BY(pool_lock);
  std::vector<std::shared_ptr<Node>> dirty_ GUARDED_BY(pool_lock);  // changed since the last flush
  std::unordered_map<DentryKey, TreeNode, DentryHash, DentryEq> dentries_ GUARDED_BY(pool_lock);
  // Directory → (its parent, its name), as far as known.
  std::unordered_map<Ino, DentryKey> up_ GUARDED_BY(pool_lock);
};

}  // namespace anyfs
