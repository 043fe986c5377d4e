// DatasetImpl: the Fs and InodeFs of one dataset of a pool, made of parts that
// each own their state:
//   NodeCache (pool/node_cache.h)  inodes, directory entries and names
//   FileData  (pool/file_data.h)   the write buffer, the flush pipeline, reads
// and a thin front over them. Its members are defined by concern:
//   pool/dataset.cc        the front: every path call and inode call checks
//                          its arguments, takes the pool lock and resolves to
//                          nodes, (directory, name) pairs or both
//   pool/namespace_ops.cc  the namespace work both kinds of call share: make,
//                          remove, rename, link, attributes, extended attributes
//   pool/dataset_file.cc   open handles (DatasetFile), writes, truncation,
//                          access times, reflinks and ranges
// A path call resolves its path and then runs the same operation as the inode
// call: there is one implementation of each change.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "anyfs/pool.h"
#include "fs/resolve.h"
#include "pool/file_data.h"
#include "pool/node.h"
#include "pool/node_cache.h"
#include "pool/pool_core.h"
#include "pool/pool_lock.h"

namespace anyfs {

class DatasetImpl final : public Dataset, public TxgParticipant, public std::enable_shared_from_this<DatasetImpl> {
 public:
  DatasetImpl(std::shared_ptr<PoolCore> core, DatasetId id, std::string name, DatasetSettings settings, Tid at,
              const std::vector<DatasetLayer>& origins);
  ~DatasetImpl() override;

  // Registers for transaction-group flushes.
  void attach() REQUIRES(pool_lock);
  void apply_settings(const DatasetSettings& s) REQUIRES(pool_lock);
  // Makes every later call fail with BadHandle (destroyed or renamed).
  void retire() REQUIRES(pool_lock);
  bool in_use() const REQUIRES(pool_lock) { return nodes_.in_use(); }
  Result<std::uint64_t> own_everything(Tid tid) REQUIRES(pool_lock) { return nodes_.own_everything(tid); }

  const std::string& name() const override { return name_; }

  // --- Fs (dataset.cc) ---
  Result<Stat> stat(std::string_view p) override;
  Result<Stat> lstat(std::string_view p) override;
  Result<std::vector<DirEntry>> read_dir(std::string_view p) override;
  Result<void> mkdir(std::string_view p, std::uint32_t mode) override;
  Result<void> remove(std::string_view p) override;
  Result<void> rename(std::string_view from, std::string_view to, RenameFlags flags) override;
  Result<void> link(std::string_view existing_path, std::string_view new_path) override;
  Result<void> symlink(std::string_view target, std::string_view link_path) override;
  Result<std::string> readlink(std::string_view p) override;
  Result<void> chmod(std::string_view p, std::uint32_t mode) override;
  Result<void> chown(std::string_view p, std::uint32_t uid, std::uint32_t gid) override;
  Result<void> utimens(std::string_view p, TimeSpec atime, TimeSpec mtime) override;
  Result<void> truncate(std::string_view p, std::uint64_t size) override;
  Result<std::string> get_xattr(std::string_view p, std::string_view name) override;
  Result<void> set_xattr(std::string_view p, std::string_view name, std::string_view value,
                         XattrFlags flags) override;
  Result<std::vector<std::string>> list_xattr(std::string_view p) override;
  Result<void> remove_xattr(std::string_view p, std::string_view name) override;
  Result<StatFs> statfs() override;
  Result<void> sync() override;
  Result<FileHandle> open(std::string_view p, OpenFlags flags, std::uint32_t mode) override;
  Result<ResolvedPath> resolve(std::string_view p, Follow follow, std::string_view root) override;
  Result<void> reflink(std::string_view from, std::string_view to) override;  // dataset_file.cc

  // --- InodeFs (dataset.cc) ---
  Result<Stat> lookup(Ino dir, std::string_view name) override;
  Result<Stat> getattr(Ino ino) override;
  Result<Stat> parent(Ino dir) override;
  Result<Stat> setattr(Ino ino, const AttrChange& change) override;
  Result<std::vector<DirEntry>> list(Ino dir) override;
  Result<Stat> make(Ino dir, std::string_view name, const NewObject& what) override;
  Result<void> unlink(Ino dir, std::string_view name, bool directory) override;
  Result<void> rename(Ino from_dir, std::string_view from, Ino to_dir, std::string_view to,
                      RenameFlags flags) override;
  Result<Stat> link(Ino ino, Ino dir, std::string_view name) override;
  Result<std::string> readlink(Ino ino) override;
  Result<FileHandle> open(Ino ino, OpenFlags flags) override;
  Result<std::string> get_xattr(Ino ino, std::string_view name) override;
  Result<void> set_xattr(Ino ino, std::string_view name, std::string_view value, XattrFlags flags) override;
  Result<std::vector<std::string>> list_xattr(Ino ino) override;
  Result<void> remove_xattr(Ino ino, std::string_view name) override;
  // dataset_file.cc:
  Result<std::uint64_t> clone_range(Ino from, std::uint64_t from_offset, Ino to, std::uint64_t to_offset,
                                    std::uint64_t length) override;
  Result<void> punch_hole(Ino ino, std::uint64_t offset, std::uint64_t length) override;

  // --- TxgParticipant (dataset.cc) ---
  Result<void> flush_dirty(bool all) override REQUIRES(pool_lock);
  void forget_cache() override REQUIRES(pool_lock);

 private:
  friend class DatasetFile;

  // What the path resolver walks: entries through the node cache.
  struct Tree {
    using Node = TreeNode;
    DatasetImpl* ds;
    TreeNode start{k_root_ino, FileKind::Directory};
    TreeNode root() { return start; }
    // walk_path (a template the analysis cannot annotate) calls these inside
    // walk(), which REQUIRES the pool lock.
    Result<std::optional<TreeNode>> lookup(const TreeNode& dir, std::string_view name) NO_THREAD_SAFETY_ANALYSIS {
      return ds->nodes_.lookup(dir.ino, name);
    }
    FileKind kind(const TreeNode& node) { return node.kind; }
    Result<std::string> link_target(const TreeNode& node) NO_THREAD_SAFETY_ANALYSIS {
      return ANYFS_TRY(ds->nodes_.load(node.ino))->rec.target;
    }
  };

  // --- the front's helpers (dataset.cc) ---
  // Every call begins here: the pool must be usable (and a read-only opener
  // notices other processes' commits), and the node cache is trimmed.
  Result<void> start() REQUIRES(pool_lock);
  // Starts a mutating operation. Errors: ReadOnly for a view of the past.
  Result<Tid> op(std::string_view name, std::string_view detail) REQUIRES(pool_lock);
  bool historical() const { return at_ != k_tid_live; }
  // A view of the past, or readonly=on: why the dataset refuses changes (empty: it takes them).
  const char* refuses_changes() const {
    if (historical()) return "a view of the past is read-only";
    if (read_only_.load(std::memory_order_relaxed)) return "the dataset is read-only (readonly=on)";
    return nullptr;
  }
  Result<Resolved<TreeNode>> walk(std::string_view p, Follow follow) REQUIRES(pool_lock);
  // The node `p` names. Errors: NotFound and those of walking.
  Result<Node*> existing(std::string_view p, Follow follow) REQUIRES(pool_lock);
  // A path for a new entry: its parent exists and it does not. Errors: Exists.
  Result<Resolved<TreeNode>> for_new_entry(std::string_view p) REQUIRES(pool_lock);
  Result<Node*> dir_node(Ino ino) REQUIRES(pool_lock);
  // A directory a new name goes into: one that was removed while a handle
  // held it takes none (NotFound, as on Linux).
  Result<Node*> live_dir_node(Ino ino) REQUIRES(pool_lock);
  Result<Stat> stat_path(std::string_view p, Follow follow);

  // --- namespace operations on nodes (namespace_ops.cc) ---
  // Each checks what is left to check, starts its operation and ends it;
  // `path` names the object in errors and the txlog.
  Result<Node*> make_at(Node* parent, const std::string& name, const NewObject& what, std::string_view path)
      REQUIRES(pool_lock);
  // Removes `name` from `dir`; `directory` says which kind the caller expects
  // (nullopt: either, as Fs::remove).
  Result<void> remove_at(Node* dir, const std::string& name, std::optional<bool> directory, std::string_view path)
      REQUIRES(pool_lock);
  // The checks of a rename run in the order Linux runs them, so errors match
  // the kernel's; the paths name the two sides in errors and the txlog.
  Result<void> rename_at(Ino from_dir, const std::string& from, Ino to_dir, const std::string& to, RenameFlags flags,
                         std::string_view from_path, std::string_view to_path) REQUIRES(pool_lock);
  Result<void> link_at(Node* node, Node* dir, const std::string& name, std::string_view to_path,
                       std::string_view from_path) REQUIRES(pool_lock);
  // Changes attributes as operation `op_name` (setattr, chmod, chown, utimens).
  Result<void> change_attrs(Node* node, const AttrChange& change, std::string_view op_name, std::string_view path)
      REQUIRES(pool_lock);
  Result<std::vector<DirEntry>> list_node(Node& dir) REQUIRES(pool_lock);
  static Result<std::string> readlink_node(const Node& node, std::string_view p);
  Result<std::string> xattr_node(Node& node, std::string_view name, std::string_view p) REQUIRES(pool_lock);
  Result<std::vector<std::string>> xattr_names(Node& node) REQUIRES(pool_lock);
  Result<void> set_xattr_node(Node* node, std::string_view name, std::string_view value, XattrFlags flags,
                              std::string_view p) REQUIRES(pool_lock);
  Result<void> remove_xattr_node(Node* node, std::string_view name, std::string_view p) REQUIRES(pool_lock);
  // A new object `name` in `parent`, owned as `what` says; a set-group-ID
  // directory passes on its group (and, to a directory, the bit itself).
  Result<Node*> create_in(Node* parent, const std::string& name, const NewObject& what, Tid tid) REQUIRES(pool_lock);
  Result<void> add_entry(Node* parent, const std::string& name, Node* node, Tid tid) REQUIRES(pool_lock);
  // Unlinks `name` (naming `node`) from `parent`.
  Result<void> detach(Node* parent, const std::string& name, Node* node, Tid tid) REQUIRES(pool_lock);
  // Removes an inode with no names and no handles, with its data.
  Result<void> destroy(Node& node, Tid tid) REQUIRES(pool_lock);
  static NewObject process_owned(FileKind kind, std::uint32_t mode);

  // --- file contents (dataset_file.cc) ---
  // The end of every open: truncation, the access time, the handle.
  Result<FileHandle> open_node(Node* node, OpenFlags flags, std::string path) REQUIRES(pool_lock);
  Result<std::uint64_t> write_node(Node& node, std::string_view data, std::uint64_t offset, Tid tid, bool times)
      REQUIRES(pool_lock);
  Result<void> check_truncate(Node* node, std::uint64_t size, std::string_view p) REQUIRES(pool_lock);
  Result<void> truncate_node(Node* node, std::uint64_t size, Tid tid) REQUIRES(pool_lock);
  Result<Stat> stat_node(Node& node) REQUIRES(pool_lock);
  static Stat stat_of(const Node& node, std::uint64_t allocated);
  // `node` is being read through a handle opened with `flags`: its access
  // time moves as the atime property says. A failure here does not fail the
  // read (the pool reports itself on the next change).
  Result<void> note_access(Node& node, OpenFlags flags) REQUIRES(pool_lock);
  // Whether note_access would move the access time at `now`.
  bool moves_atime(const Node& node, OpenFlags flags, std::int64_t now) const REQUIRES_SHARED(pool_lock);

  // --- reads under the lock held shared (dataset.cc, dataset_file.cc) ---
  // Two readers hold the pool lock together; what they touch is only read
  // (the node cache's maps and nodes) or atomic (a node's handle count), and
  // anything more — a cache miss, a statement, an access time to move — is
  // left to the exclusive path, which they then take.
  // Whether the pool and dataset serve such reads: usable, not read-only (a
  // read-only opener checks for other processes' commits on its connection).
  bool shared_reads_ok() const REQUIRES_SHARED(pool_lock);
  // Open for reading from the caches alone; nullopt: open it under the lock
  // (which also gives the errors).
  std::optional<FileHandle> open_cached(std::string_view p, OpenFlags flags, Follow follow) REQUIRES_SHARED(pool_lock);
  // The same for the inode calls the mount makes per file: open by number,
  // lookup, getattr, and the stat they share.
  std::optional<FileHandle> open_cached(Ino ino, OpenFlags flags) REQUIRES_SHARED(pool_lock);
  std::optional<Stat> lookup_cached(Ino dir, std::string_view name) const REQUIRES_SHARED(pool_lock);
  std::optional<Stat> stat_cached(Ino ino) const REQUIRES_SHARED(pool_lock);
  std::optional<Stat> stat_cached(const Node& node) const REQUIRES_SHARED(pool_lock);
  // The handle of an open served from the caches, or nullopt.
  std::optional<FileHandle> hand_out(Node* node, OpenFlags flags, std::string path) REQUIRES_SHARED(pool_lock);
  // What walk_path walks there: cached entries only; a miss sets `missed`.
  struct CachedTree {
    using Node = TreeNode;
    const DatasetImpl* ds;
    TreeNode start;
    bool missed = false;
    TreeNode root() { return start; }
    Result<std::optional<TreeNode>> lookup(const TreeNode& dir, std::string_view name) NO_THREAD_SAFETY_ANALYSIS {
      auto e = ds->nodes_.cached_entry(dir.ino, name);
      if (!e) return not_cached();
      return std::optional<TreeNode>(*e);
    }
    FileKind kind(const TreeNode& node) { return node.kind; }
    Result<std::string> link_target(const TreeNode& node) NO_THREAD_SAFETY_ANALYSIS {
      const ::anyfs::Node* n = ds->nodes_.cached(node.ino);
      if (n == nullptr) return not_cached();
      return n->rec.target;
    }
    std::unexpected<Error> not_cached() {
      missed = true;
      return std::unexpected(Error{Errc::NotFound, "", "not cached"});
    }
  };
  // The last handle of `node` was closed (DatasetFile::close counted it
  // down): an unlinked file goes now, unless another opened it meanwhile.
  Result<void> release(const std::shared_ptr<Node>& node) REQUIRES(pool_lock);

  std::shared_ptr<PoolCore> core_;
  const DatasetId id_;
  const Tid at_;  // k_tid_live, or the TID of a read-only view of the past
  std::atomic<bool> read_only_{false};  // settings_.read_only, readable without the lock
  const std::string name_;
  bool retired_ GUARDED_BY(pool_lock) = false;
  DatasetSettings settings_ GUARDED_BY(pool_lock);
  NodeCache nodes_;
  FileData data_;
  Tree tree_{this};
};

// An open file or directory of a dataset.
class DatasetFile final : public File {
 public:
  DatasetFile(std::shared_ptr<DatasetImpl> ds, std::shared_ptr<Node> node, OpenFlags flags, std::string path)
      : ds_(std::move(ds)), node_(std::move(node)), flags_(flags), path_(std::move(path)) {}
  ~DatasetFile() override { (void)close(); }

  Result<std::size_t> pread(std::span<char> buf, std::uint64_t offset) override;
  Result<std::size_t> pwrite(std::string_view data, std::uint64_t offset) override;
  Result<std::uint64_t> append(std::string_view data) override;
  Result<void> truncate(std::uint64_t size) override;
  Result<void> fsync() override;
  Result<Stat> stat() override;
  Result<void> close() override;

 private:
  Result<void> check_open() const;
  Result<void> check_writable() const;
  // A read under the pool lock, then the access time.
  Result<std::size_t> read_locked(std::span<char> buf, std::uint64_t offset) REQUIRES(pool_lock);
  // The write of pwrite and append at `offset`.
  Result<void> write_at(std::string_view data, std::uint64_t offset) REQUIRES(pool_lock);

  std::shared_ptr<DatasetImpl> ds_;
  std::shared_ptr<Node> node_;
  const OpenFlags flags_;
  const std::string path_;  // as opened: names the file in the txlog
  std::atomic<bool> closed_ = false;  // checked before the lock is taken
};

}  // namespace anyfs
