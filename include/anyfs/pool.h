// Pools and datasets (DESIGN.md §3–§7): a whole filesystem in one SQLite file.
//
//   auto pool = anyfs::Pool::create("data.anyfs", {});   // or Pool::open(path, {})
//   auto fs = (*pool)->dataset();                         // the root dataset, an Fs
//   (*fs)->write_file("/hello.txt", "hi");
//   (*pool)->sync();                                       // durable now
//
// Writes gather in a transaction group that commits on sync()/fsync, every
// `txg_timeout` seconds, when enough data is buffered, and on close. One process
// writes a pool at a time; others may open it read-only and see what was
// committed. See docs/FORMAT.md for the file layout and docs/SEMANTICS.md for
// durability.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "anyfs/error.h"
#include "anyfs/fs.h"
#include "anyfs/inode_fs.h"
#include "anyfs/history.h"
#include "anyfs/replication.h"
#include "anyfs/volumes.h"

namespace anyfs {

struct PoolCreateOptions {
  // SQLite page size of the pool file: 4096..65536, a power of two. The default
  // was chosen by measurement (docs/PERFORMANCE.md, "Page size").
  std::uint32_t page_size = 16384;
  // Every page ends in an XXH3-64 of its other bytes, checked on every read
  // (docs/FORMAT.md, "Page checksums"). Off only to measure what they cost, or
  // to make a pool as older anyfs made them (compact adds them later).
  bool page_checksums = true;
  // Properties the root dataset starts with (name → value), checked as set_property does.
  std::vector<std::pair<std::string, std::string>> properties = {};
  // Volume files to keep chunks in (none: a single-file pool), each made as
  // Pool::add_volume makes one.
  std::vector<VolumeSpec> volumes = {};
};

struct PoolOpenOptions {
  bool read_only = false;
  // How much of the pool file SQLite may read through a memory map. Mapped pages
  // count in the process's RSS; more map makes random small reads faster
  // (docs/PERFORMANCE.md, "Against the targets of issue 3": 1.15x ext4 on small
  // uncompressed files with the pool mapped, 0.45x with the default).
  std::uint64_t mmap_bytes = 64ull << 20;
  // Bytes of decoded chunks kept in memory (anonymous memory, an adaptive
  // replacement cache: docs/ARCHITECTURE.md, "The decoded-chunk cache"). A
  // small file read again is then served without SQLite and without decoding.
  // Unset: 1/16 of the memory the process may use (physical, or its control
  // group's limit), at least 32 MiB and at most 4 GiB. 0 turns it off.
  std::optional<std::uint64_t> cache_bytes = std::nullopt;
  // Test hook: the name of a registered SQLite VFS to open the file through.
  std::string vfs = {};
};

// Space and dedup figures of a pool.
struct PoolStats {
  std::uint64_t datasets = 0;
  std::uint64_t files = 0;            // live inodes of every kind
  std::uint64_t logical_bytes = 0;    // sum of live file sizes
  std::uint64_t referenced_bytes = 0; // bytes the live extents cover (holes excluded)
  // Bytes of file data that only snapshots and history still reference (the
  // extents of replaced or removed versions), before dedup.
  std::uint64_t history_bytes = 0;
  std::uint64_t snapshots = 0;
  std::uint64_t chunks = 0;           // distinct chunks stored and referenced
  std::uint64_t chunk_raw_bytes = 0;  // their size before compression
  std::uint64_t chunk_stored_bytes = 0;  // their size as stored
  std::uint64_t unreferenced_chunks = 0; // stored but referenced by nothing: waiting to be freed (or gc)
  std::uint64_t file_bytes = 0;       // the pool file and its volume files (and their logs) on disk
  // Free pages inside the pool file: new data reuses them; compact gives them
  // back to the file system.
  std::uint64_t free_bytes = 0;
  std::uint64_t last_tid = 0;
  // This process's decoded-chunk cache (PoolOpenOptions::cache_bytes): what
  // it may hold, holds, and how often a chunk read found its chunk there.
  std::uint64_t cache_capacity = 0;
  std::uint64_t cache_bytes = 0;
  std::uint64_t cache_hits = 0;
  std::uint64_t cache_misses = 0;
  double dedup_ratio() const {
    return chunk_raw_bytes ? double(referenced_bytes + history_bytes) / double(chunk_raw_bytes) : 1.0;
  }
  double compression_ratio() const {
    return chunk_stored_bytes ? double(chunk_raw_bytes) / double(chunk_stored_bytes) : 1.0;
  }
};

// What verify found: empty `problems` means every invariant of DESIGN.md §10 holds.
struct VerifyReport {
  // Whether the file's pages carry checksums (pools made before them do not;
  // compact adds them), and how many pages were checked.
  bool page_checksums = false;
  std::uint64_t pages = 0;
  std::uint64_t wal_frames = 0;  // committed frames of the write-ahead log, checked by their frame checksums
  std::uint64_t inodes = 0;
  std::uint64_t dirents = 0;
  std::uint64_t extents = 0;
  std::uint64_t chunks = 0;
  std::uint64_t chunk_bytes_read = 0;
  std::vector<std::string> problems;
  bool ok() const { return problems.empty(); }
};

struct VerifyOptions {
  bool read_chunks = true;  // read and check every chunk (both checksums)
};

struct CompactReport {
  std::uint64_t bytes_before = 0;  // the pool file and its WAL, before and after
  std::uint64_t bytes_after = 0;
  bool page_checksums_added = false;  // the pool had none before (docs/FORMAT.md)
};

struct GcOptions {
  // Chunks unreferenced for less than this are kept (Git's gc grace period).
  std::int64_t grace_seconds = 3600;
};

struct GcReport {
  std::uint64_t chunks_removed = 0;
  std::uint64_t bytes_freed = 0;   // stored bytes of the removed chunks
  std::uint64_t orphans_removed = 0;  // chunks no reference row knew of
  std::uint64_t chunks_waiting = 0;   // unreferenced but inside the grace period
};

// A filesystem inside a pool: an Fs with what only a pool can do.
// A dataset is an Fs (by path) and an InodeFs (by inode number, for servers).
class Dataset : public Fs, public InodeFs {
 public:
  using Fs::get_xattr;
  using Fs::link;
  using Fs::list_xattr;
  using Fs::open;
  using Fs::readlink;
  using Fs::remove_xattr;
  using Fs::rename;
  using Fs::set_xattr;
  using InodeFs::get_xattr;
  using InodeFs::link;
  using InodeFs::list_xattr;
  using InodeFs::open;
  using InodeFs::readlink;
  using InodeFs::remove_xattr;
  using InodeFs::rename;
  using InodeFs::set_xattr;

  // Makes `to` a copy of the regular file `from` that shares all its chunks (a
  // reflink: no data is copied). Errors: as open(from) and as creating `to`
  // (Exists if present), InvalidArgument if `from` is not a regular file.
  virtual Result<void> reflink(std::string_view from, std::string_view to) = 0;
  virtual const std::string& name() const = 0;
};

class Pool {
 public:
  virtual ~Pool() = default;

  // Creates a new pool file (it must not exist). Errors: Exists, NotFound (the
  // directory), Permission, NoSpace, InvalidArgument (options).
  static Result<std::shared_ptr<Pool>> create(const std::string& path, const PoolCreateOptions& options = {});

  // Opens a pool. Errors: NotFound; Corrupt ("not an AnyFS pool", or damaged);
  // Unsupported (a newer format); Busy (another process has it open for writing,
  // naming it); ReadOnly (read-only file opened for writing).
  static Result<std::shared_ptr<Pool>> open(const std::string& path, const PoolOpenOptions& options = {});

  // A dataset by name ("" is the root dataset). Errors: NotFound.
  virtual Result<std::shared_ptr<Dataset>> dataset(std::string_view name = "") = 0;
  virtual Result<std::vector<std::string>> datasets() = 0;

  // --- Datasets (docs/SEMANTICS.md, "Datasets") -------------------------------------
  // Names are hierarchical ("projects/web"); the parent must exist. A new dataset
  // inherits every property its ancestors set, except those in `properties`.
  // Errors: InvalidArgument (name, property), NotFound (parent), Exists.
  virtual Result<void> create_dataset(std::string_view name,
                                      const std::vector<std::pair<std::string, std::string>>& properties = {}) = 0;
  // Removes a dataset with its files, snapshots and bookmarks (and, when
  // `recursive`, its children). Errors: NotFound; Busy (children without
  // `recursive`, clones depend on its snapshots, or it is open in this process
  // with handles); InvalidArgument (the root dataset).
  virtual Result<void> destroy_dataset(std::string_view name, bool recursive = false) = 0;
  // Renames a dataset and its children. Errors: NotFound, Exists, Busy (open),
  // InvalidArgument (the root, or into itself).
  virtual Result<void> rename_dataset(std::string_view from, std::string_view to) = 0;
  virtual Result<std::vector<DatasetInfo>> dataset_list() = 0;

  // --- History (docs/SEMANTICS.md, "History") ---------------------------------------
  // A read-only view of a dataset as it was at `at`. Errors: NotFound (dataset,
  // snapshot, or a time before the pool); InvalidArgument (a TID not committed
  // yet); NoData (a state history no longer keeps — history=off keeps only
  // snapshots — naming what can be read).
  virtual Result<std::shared_ptr<Dataset>> dataset_at(std::string_view name, const AsOf& at) = 0;
  // The TID of the last committed state (what AsOf::at_tid reads as "now").
  virtual Result<std::uint64_t> committed_tid() = 0;

  // Takes a snapshot: commits, then names the committed state. O(1) in the size
  // of the tree. Errors: NotFound (dataset), Exists, InvalidArgument (name).
  virtual Result<SnapshotInfo> snapshot(std::string_view dataset, std::string_view name) = 0;
  virtual Result<std::vector<SnapshotInfo>> snapshots(std::string_view dataset) = 0;
  // Forgets a snapshot; what only it held is pruned in the background (or by
  // prune()). Errors: NotFound; Busy (a clone depends on it).
  virtual Result<void> destroy_snapshot(std::string_view dataset, std::string_view name) = 0;
  virtual Result<void> rename_snapshot(std::string_view dataset, std::string_view from, std::string_view to) = 0;

  // Bookmarks: names for a snapshot's TID that hold nothing.
  virtual Result<BookmarkInfo> bookmark(std::string_view dataset, std::string_view snapshot, std::string_view name) = 0;
  virtual Result<std::vector<BookmarkInfo>> bookmarks(std::string_view dataset) = 0;
  virtual Result<void> destroy_bookmark(std::string_view dataset, std::string_view name) = 0;

  // Clones: a new writable dataset `name` that starts as `dataset`@`snapshot` and
  // shares every record and chunk with it until it changes them (O(1) to create).
  // The snapshot cannot be destroyed while the clone depends on it. Errors:
  // NotFound (dataset, snapshot, parent of name), Exists, InvalidArgument.
  virtual Result<void> clone(std::string_view dataset, std::string_view snapshot, std::string_view name,
                             const std::vector<std::pair<std::string, std::string>>& properties = {}) = 0;
  // Makes a clone independent of its origin (copying the records it still
  // shares — no file data), so that the origin's snapshot and the origin can be
  // destroyed. Errors: NotFound; InvalidArgument (not a clone); Busy (open files).
  virtual Result<void> promote(std::string_view name) = 0;

  // Makes the live dataset equal to its snapshot (a new state: history and other
  // snapshots up to it stay). Newer snapshots are refused unless `force`, which
  // destroys them. Errors: NotFound; Busy (newer snapshots, clones of them, or
  // files of the dataset open in this process).
  virtual Result<void> rollback(std::string_view dataset, std::string_view snapshot, bool force = false) = 0;

  // What changed from `from` to `to` (unset: the live tree), sorted by path.
  // Costs the number of records changed between them, not the tree's size.
  virtual Result<std::vector<DiffEntry>> diff(std::string_view dataset, const AsOf& from,
                                              const std::optional<AsOf>& to = std::nullopt) = 0;
  // The versions of a file that history or snapshots still hold, oldest first.
  // `path` is resolved in the live tree, or as of `at`.
  virtual Result<std::vector<FileVersion>> file_history(std::string_view dataset, std::string_view path,
                                                        const std::optional<AsOf>& at = std::nullopt) = 0;
  // The transaction log, newest first.
  virtual Result<std::vector<LogEntry>> log(const LogQuery& query = {}) = 0;
  // Physically removes the record versions no snapshot and no history window can
  // see, and gives back their chunk references (gc then frees the chunks). Runs
  // in the background too; this runs it to the end now.
  virtual Result<PruneReport> prune() = 0;

  // Properties of a dataset: compression, checksum, chunking, recordsize, sync,
  // txg_timeout, history. get returns the effective value; list gives (name,
  // value, source) with source "local", "inherited from NAME" or "default".
  // inherit_property drops the local value. Errors: InvalidArgument (unknown
  // property or bad value, naming the accepted ones), NotFound (dataset).
  virtual Result<std::string> get_property(std::string_view dataset, std::string_view name) = 0;
  virtual Result<void> set_property(std::string_view dataset, std::string_view name, std::string_view value) = 0;
  struct PropertyValue {
    std::string name, value, source;
  };
  virtual Result<std::vector<PropertyValue>> properties(std::string_view dataset) = 0;
  virtual Result<void> inherit_property(std::string_view dataset, std::string_view name) = 0;

  // --- Replication (anyfs/replication.h, docs/FORMAT.md "Replication streams") --------
  // Writes a stream of `dataset`@`snapshot` to `sink`: the whole state, or
  // with options.from what changed since that base (a snapshot or bookmark of
  // the same dataset). Costs the changed records for an incremental, not the
  // tree's size; each chunk goes once, as stored. Errors: NotFound (dataset,
  // snapshot, base), InvalidArgument (a base not older than the snapshot),
  // and the sink's errors.
  virtual Result<SendReport> send(std::string_view dataset, std::string_view snapshot, const SendOptions& options,
                                  const ByteSink& sink) = 0;
  // Applies a stream from `source` to `dataset`, all or nothing: a full
  // stream makes a new dataset (its parent must exist), an incremental one
  // applies to the dataset holding its base snapshot (found by guid); both
  // end by taking the sent snapshot, with the sender's name and guid.
  // Errors: Exists (a full stream into an existing dataset, or the snapshot
  // name is taken); NotFound (the target or parent is missing, or lacks the
  // base); Busy (the target changed since its base, or has newer
  // snapshots, and options.force is not set; or it is in use); Corrupt (a
  // damaged stream, naming what failed); NoData (the stream ends early);
  // Unsupported (a newer stream format); ReadOnly.
  virtual Result<ReceiveReport> receive(std::string_view dataset, const ByteSource& source,
                                        const ReceiveOptions& options = {}) = 0;
  // Discards what a resumable receive into `dataset` kept (`receive -A`).
  // Errors: NotFound (none under way), ReadOnly.
  virtual Result<void> abort_receive(std::string_view dataset) = 0;
  // The token `send -t` resumes a kept receive into `dataset` with (also its
  // receive_resume_token property, while the dataset exists); unset when
  // none is under way.
  virtual Result<std::optional<std::string>> receive_resume_token(std::string_view dataset) = 0;

  // Commits the open transaction group durably.
  virtual Result<void> sync() = 0;

  // Adds a volume file at spec.path (nothing may be there): chunks written
  // from now on go to the volumes as each dataset's `placement` says; what is
  // stored stays where it is. The first volume turns a single-file pool into
  // a pool of volumes (docs/FORMAT.md, "Volume files"). Errors: Exists,
  // InvalidArgument, ReadOnly, Io, NoSpace.
  virtual Result<VolumeStatus> add_volume(const VolumeSpec& spec) = 0;
  // The pool's volume files in order (none for a single-file pool).
  virtual Result<std::vector<VolumeStatus>> volumes() = 0;
  // Empties the volume at `path` onto the others (or onto options.to, a
  // volume added first when not listed yet: `volume move`), while the pool
  // is in use, then takes it out of the pool and deletes its file. Chunks
  // written meanwhile never go there. Its progress is the records
  // themselves, so a drain stopped (options.stop, a crash, a kill) resumes
  // where it was by calling this again; options.abort ends one and puts the
  // volume back in use. A missing or failing volume drains from the other
  // copies (`volume replace`). Errors: NotFound (no such volume), NoSpace
  // (the others cannot take its chunks: it stays draining), Corrupt (chunks
  // with no good copy anywhere, named by path: it stays draining), ReadOnly.
  virtual Result<EvacuationReport> remove_volume(std::string_view path, const RemoveVolumeOptions& options = {}) = 0;
  // Reads every copy of every chunk on every volume, checks both checksums,
  // rewrites bad copies from good ones, and reports what no good copy holds
  // by path. Its progress is kept in the pool as it goes: a scrub stopped
  // (options.stop, a crash, a kill) resumes from there when run again, unless
  // options.restart. Errors: ReadOnly (repair needs a writable pool; with
  // repair off a read-only pool scrubs), Io.
  virtual Result<ScrubReport> scrub(const ScrubOptions& options = {}) = 0;
  // Pauses or cancels a scrub that is not running in this process (one
  // stopped by a crash or a kill, or paused): cancel forgets its progress,
  // pause keeps it. Errors: NotFound (no scrub to stop), ReadOnly.
  virtual Result<ScrubReport> stop_scrub(bool cancel) = 0;
  // Health (ONLINE, DEGRADED, FAULTED and why), each volume, and the scrub and
  // drain under way or last done — `zpool status`.
  virtual Result<PoolHealth> health() = 0;
  virtual Result<PoolStats> stats() = 0;
  // Checks every invariant (and, with read_chunks, every chunk). Damage is
  // reported in the result, not as an error; errors mean verify could not run.
  virtual Result<VerifyReport> verify(const VerifyOptions& options = {}) = 0;
  virtual Result<GcReport> gc(const GcOptions& options = {}) = 0;
  // Commits, checkpoints the WAL and rewrites the file to its smallest size;
  // a pool made before page checksums gets them here.
  virtual Result<CompactReport> compact() = 0;
  // Commits and closes; further calls fail with BadHandle. Datasets handed out
  // stop working too.
  virtual Result<void> close() = 0;

  virtual bool read_only() const = 0;
  virtual const std::string& path() const = 0;
};

}  // namespace anyfs
