#include "pool/node_cache.h"

#include <fmt/format.h>

#include <unordered_set>

#include "util/clock.h"

namespace anyfs {
namespace {

// Cached inodes: trim() drops those nothing holds once there are twice this many.
constexpr std::size_t k_cache_limit = 65536;
// Cached directory entries (about 100 bytes each), and directory names.
constexpr std::size_t k_dentry_limit = 262144;

}  // namespace

Result<Node*> NodeCache::load(Ino ino, Errc missing) {
  auto it = nodes_.find(ino);
  if (it != nodes_.end()) {
    ANYFS_CHECK(refresh(*it->second));
    return it->second.get();
  }
  // A clone's inode is its own once it has a row; until then it is its origin's.
  std::optional<InodeRecord> rec;
  int layer = 0;
  for (; layer < static_cast<int>(layers_.size()) && !rec; ++layer)
    rec = ANYFS_TRY(core_.meta->inode(layers_[layer].ds, ino, layers_[layer].at));
  if (!rec && missing == Errc::NotFound) return fail(missing, "", fmt::format("inode {} does not exist", ino));
  if (!rec) return fail(Errc::Corrupt, "", fmt::format("inode {} of dataset '{}' is missing", ino, name_));
  // Damaged pages can answer a lookup with another key's row: the cache is
  // keyed by the number asked for, and must agree with the record.
  if (rec->ino != ino)
    return fail(Errc::Corrupt, "", fmt::format("inode {} of dataset '{}' reads back as inode {}", ino, name_, rec->ino));
  auto node = std::make_shared<Node>();
  node->rec = std::move(*rec);
  node->layer = layer - 1;
  Node* raw = node.get();
  nodes_.emplace(ino, std::move(node));
  return raw;
}

Result<void> NodeCache::refresh(Node& node) {
  if (!node.stale) return {};
  const DatasetLayer& from = layer_of(node);
  auto rec = ANYFS_TRY(core_.meta->inode(from.ds, node.rec.ino, from.at));
  if (rec) node.rec = std::move(*rec);
  node.extents.reset();
  node.stale = false;
  return {};
}

Node* NodeCache::create(FileKind kind, std::uint32_t mode, Tid tid) {
  auto node = std::make_shared<Node>();
  auto& r = node->rec;
  r.ino = core_.counters.next_ino();
  r.kind = kind;
  r.mode = mode & 07777;
  r.nlink = kind == FileKind::Directory ? 2 : 1;
  r.atime_ns = r.mtime_ns = r.ctime_ns = r.btime_ns = wall_clock_ns();
  r.generation = 1;
  Node* raw = node.get();
  nodes_.emplace(r.ino, std::move(node));
  mark(raw, tid);
  return raw;
}

void NodeCache::mark(Node* node, Tid tid) {
  if (!node->dirty) node->dirty_tid = tid;
  node->dirty = true;
  // A node no longer in the cache (dropped while a handle held it after a
  // read-only opener saw a change) is not written back.
  if (node->listed) return;
  if (auto it = nodes_.find(node->rec.ino); it != nodes_.end() && it->second.get() == node) relist(it->second);
}

void NodeCache::relist(const std::shared_ptr<Node>& node) {
  node->listed = true;
  dirty_.push_back(node);
}

std::vector<std::shared_ptr<Node>> NodeCache::take_dirty() {
  std::vector<std::shared_ptr<Node>> work;
  work.swap(dirty_);
  for (auto& node : work) node->listed = false;
  return work;
}

Result<void> NodeCache::own(Node* node, Tid tid) {
  if (node->layer == 0) return {};
  const DatasetLayer from = layer_of(*node);
  const Ino ino = node->rec.ino;
  for (const auto& e : ANYFS_TRY(core_.meta->extents(from.ds, ino, 0, k_max_file_size, from.at)))
    ANYFS_CHECK(core_.meta->put_extent(id_, e, tid));
  for (const auto& [name, value] : ANYFS_TRY(core_.meta->xattrs(from.ds, ino, from.at)))
    ANYFS_CHECK(core_.meta->put_xattr(id_, ino, name, value, tid));
  if (node->rec.kind == FileKind::Directory)
    for (const auto& e : ANYFS_TRY(core_.meta->list_dir(from.ds, ino, from.at)))
      ANYFS_CHECK(core_.meta->put_dirent(id_, e, tid));
  node->layer = 0;
  node->data_tid = tid;  // its extents are now rows of this dataset, written in this group
  mark(node, tid);
  return {};
}

Result<std::uint64_t> NodeCache::own_everything(Tid tid) {
  std::uint64_t copied = 0;
  std::vector<Ino> todo{k_root_ino};
  std::unordered_set<Ino> seen{k_root_ino};
  while (!todo.empty()) {
    Node* node = ANYFS_TRY(load(todo.back()));
    todo.pop_back();
    if (node->layer != 0) ++copied;
    ANYFS_CHECK(own(node, tid));
    if (node->rec.kind != FileKind::Directory) continue;
    for (const auto& e : ANYFS_TRY(core_.meta->list_dir(id_, node->rec.ino)))
      if (seen.insert(e.ino).second) todo.push_back(e.ino);
  }
  layers_.resize(1);
  return copied;
}

Result<std::vector<ExtentRecord>> NodeCache::extents(Node& node, std::uint64_t from, std::uint64_t to) {
  const DatasetLayer& layer = layer_of(node);
  if (node.rec.size > k_extent_cache_max_size) return core_.meta->extents(layer.ds, node.rec.ino, from, to, layer.at);
  if (!node.extents)
    node.extents = ANYFS_TRY(core_.meta->extents(layer.ds, node.rec.ino, 0, k_max_file_size, layer.at));
  return *cached_extents(node, from, to);
}

std::optional<std::vector<ExtentRecord>> NodeCache::cached_extents(const Node& node, std::uint64_t from,
                                                                   std::uint64_t to) {
  if (!node.extents || node.rec.size > k_extent_cache_max_size) return std::nullopt;
  std::vector<ExtentRecord> out;
  for (const auto& e : *node.extents)
    if (e.offset < to && e.end() > from) out.push_back(e);
  return out;
}

Result<std::optional<TreeNode>> NodeCache::lookup(Ino parent, std::string_view name) {
  if (auto it = dentries_.find(DentryView{parent, name}); it != dentries_.end())
    return std::optional<TreeNode>(it->second);
  Node* dir = ANYFS_TRY(load(parent));
  const DatasetLayer& layer = layer_of(*dir);
  auto e = ANYFS_TRY(core_.meta->lookup(layer.ds, parent, name, layer.at));
  if (!e) return std::optional<TreeNode>();
  if (dentries_.size() >= k_dentry_limit) dentries_.clear();
  TreeNode node{e->ino, e->kind};
  dentries_.emplace(DentryKey{parent, std::string(name)}, node);
  if (node.kind == FileKind::Directory) remember_up(node.ino, parent, name);
  return std::optional<TreeNode>(node);
}

Result<void> NodeCache::put_entry(const DirentRecord& e, Tid tid) {
  ANYFS_CHECK(core_.meta->put_dirent(id_, e, tid));
  dentries_.insert_or_assign(DentryKey{e.parent, e.name}, TreeNode{e.ino, e.kind});
  if (e.kind == FileKind::Directory) remember_up(e.ino, e.parent, e.name);
  return {};
}

Result<void> NodeCache::drop_entry(Ino parent, const std::string& name, Tid tid) {
  if (auto it = dentries_.find(DentryView{parent, name}); it != dentries_.end()) dentries_.erase(it);
  return core_.meta->drop_dirent(id_, parent, name, tid);
}

void NodeCache::remember_up(Ino dir, Ino parent, std::string_view name) {
  if (up_.size() >= k_dentry_limit) up_.clear();
  up_.insert_or_assign(dir, DentryKey{parent, std::string(name)});
}

// From the cache, else from the rows naming it (the dataset's own, then a
// clone's origins).
Result<std::optional<DentryKey>> NodeCache::up_of(Ino dir) {
  if (auto it = up_.find(dir); it != up_.end()) return std::optional<DentryKey>(it->second);
  for (const auto& layer : layers_) {
    auto names = ANYFS_TRY(core_.history->names_of(layer.ds, dir, layer.at));
    if (names.empty()) continue;
    remember_up(dir, names[0].parent, names[0].name);
    return std::optional<DentryKey>(DentryKey{names[0].parent, names[0].name});
  }
  return std::optional<DentryKey>();
}

Result<std::vector<DentryKey>> NodeCache::chain_of(Ino dir) {
  std::vector<DentryKey> chain;
  for (Ino at = dir; at != k_root_ino;) {
    auto up = ANYFS_TRY(up_of(at));
    if (!up) return fail(Errc::NotFound, "", fmt::format("directory {} has been removed", dir));
    at = up->parent;
    chain.push_back(std::move(*up));
    if (chain.size() > k_max_path_length) return fail(Errc::Corrupt, "", fmt::format("directory {} is in a loop", dir));
  }
  return chain;
}

Result<bool> NodeCache::is_ancestor(Ino ancestor, Ino dir) {
  if (ancestor == dir) return true;
  for (const auto& up : ANYFS_TRY(chain_of(dir)))
    if (up.parent == ancestor) return true;
  return false;
}

Result<std::string> NodeCache::entry_path(Ino dir, std::string_view name) {
  std::string out;
  auto chain = ANYFS_TRY(chain_of(dir));
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) out += "/" + it->name;
  return out + "/" + std::string(name);
}

Result<std::string> NodeCache::path_of(Node& node) {
  if (node.rec.ino == k_root_ino) return std::string("/");
  if (node.rec.kind == FileKind::Directory) {
    if (auto up = ANYFS_TRY(up_of(node.rec.ino))) return entry_path(up->parent, up->name);
  } else {
    for (const auto& layer : layers_) {
      auto names = ANYFS_TRY(core_.history->names_of(layer.ds, node.rec.ino, layer.at));
      if (!names.empty()) return entry_path(names[0].parent, names[0].name);
    }
  }
  return fmt::format("inode {}", node.rec.ino);
}

void NodeCache::trim() {
  if (nodes_.size() > 2 * k_cache_limit)
    std::erase_if(nodes_, [](const auto& kv) { return kv.second->opens == 0 && !kv.second->dirty; });
}

void NodeCache::forget() {
  dentries_.clear();
  up_.clear();
  for (auto& node : dirty_) node->listed = false;
  dirty_.clear();
  std::erase_if(nodes_, [](const auto& kv) { return kv.second->opens == 0; });
  for (auto& [ino, node] : nodes_) {
    node->stale = true;
    node->dirty = false;
    node->data.clear();
    node->data_bytes = 0;
  }
}

bool NodeCache::in_use() const {
  for (const auto& [ino, node] : nodes_)
    if (node->opens > 0) return true;
  return false;
}

}  // namespace anyfs
