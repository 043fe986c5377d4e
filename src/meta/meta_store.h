// MetaStore: the TID-versioned record tables of DESIGN.md §3 behind one small
// interface, so that the pool above never knows whether SQLite (now) or
// PostgreSQL (later) holds them.
//
// Writes name the TID of the operation making them. Changing a record closes
// the live row at that TID and inserts the new one; when nothing can see the
// closed row (it was born after the dataset's pin, see set_pin) it is removed at
// once instead, so without history the tables stay the size of the live tree.
// Extent rows hold one reference each on their chunk; the reference is dropped
// when the row is physically removed, never when it is only closed.
//
// Reads take `at`: k_tid_live reads the live view (including writes of the open
// transaction); a TID T reads the rows with tid_from <= T < tid_to, which is the
// tree as of T when T ends a transaction group whose rows are still kept.
// Not thread-safe: the pool serialises calls.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "anyfs/error.h"
#include "meta/records.h"

namespace anyfs {

struct DatasetRecord {
  DatasetId id = 0;
  std::string name;
  Tid created_tid = 0;
};

struct ChunkRef {
  ChunkId chunk{};
  std::int64_t refs = 0;
  std::int64_t zero_since_ns = 0;  // when refs last reached 0 (0 while referenced)
};

struct TxlogEntry {
  Tid tid = 0;
  std::int64_t time_ns = 0;
  DatasetId dataset = 0;
  std::string op;
  std::string detail;
};

// A resumable receive under way (`receive -s`): the stream's bytes kept so
// far, as numbered pieces, and the token that `send -t` resumes from.
struct PartialReceive {
  std::string token;
  std::uint64_t bytes = 0;   // kept so far: whole records only
  std::uint64_t pieces = 0;  // spool pieces 0..pieces-1
};

class MetaStore {
 public:
  virtual ~MetaStore() = default;

  // --- Transactions ---------------------------------------------------------------
  // One write transaction at a time; begin() with one open is a no-op.
  virtual Result<void> begin() = 0;
  virtual Result<void> commit() = 0;
  virtual Result<void> rollback() = 0;
  virtual bool in_transaction() const = 0;
  // A read transaction whose snapshot holds from the first read on: begins it,
  // takes the snapshot, and returns the store's data version as of it (a
  // number that changes when another connection commits). end_snapshot ends
  // it. REQUIRES: no transaction open.
  virtual Result<std::int64_t> begin_snapshot() = 0;
  virtual Result<void> end_snapshot() = 0;
  // The data version now (see begin_snapshot).
  virtual Result<std::int64_t> data_version() = 0;
  // Bytes of free pages inside the store's file: what new rows reuse before
  // the file grows.
  virtual Result<std::uint64_t> free_bytes() = 0;

  // --- Pool settings (format version, uuid, counters, writer) ---------------------
  virtual Result<std::optional<std::string>> setting(std::string_view key) = 0;
  virtual Result<void> set_setting(std::string_view key, std::string_view value) = 0;
  // The largest TID and inode number any row carries (to seed counters on open).
  virtual Result<Tid> max_tid() = 0;
  virtual Result<Ino> max_ino() = 0;

  // --- Datasets and properties ------------------------------------------------------
  virtual Result<std::vector<DatasetRecord>> datasets() = 0;
  virtual Result<DatasetId> create_dataset(std::string_view name, Tid tid) = 0;
  virtual Result<std::optional<std::string>> property(DatasetId ds, std::string_view name) = 0;
  virtual Result<void> set_property(DatasetId ds, std::string_view name, std::optional<std::string_view> value) = 0;
  virtual Result<std::vector<std::pair<std::string, std::string>>> properties(DatasetId ds) = 0;
  // Closed rows of `ds` born after min(pin, txg floor) are removed at once; those
  // born at or before it are kept, closed, for what can still read them. A dataset
  // with no history pins its latest snapshot (0: none); one keeping history pins
  // k_tid_live, so that everything born before the open transaction group stays.
  virtual void set_pin(DatasetId ds, Tid pin) = 0;
  // The TID the last committed transaction group ended at.
  virtual void set_txg_floor(Tid committed) = 0;
  // Changes the reference count of a chunk (for rows copied or removed in bulk).
  virtual void adjust_refs(const ChunkId& chunk, std::int64_t delta) = 0;

  // --- Inodes -----------------------------------------------------------------------
  virtual Result<std::optional<InodeRecord>> inode(DatasetId ds, Ino ino, Tid at = k_tid_live) = 0;
  // Inserts or replaces the live row of record.ino (record.tid_from is set to tid).
  virtual Result<void> put_inode(DatasetId ds, const InodeRecord& record, Tid tid) = 0;
  // Closes the live row (and every extent and xattr of the inode).
  virtual Result<void> drop_inode(DatasetId ds, Ino ino, Tid tid) = 0;
  // Live inodes with nlink 0 (left by a crash while open after unlink).
  virtual Result<std::vector<Ino>> unlinked_inodes(DatasetId ds) = 0;

  // --- Directory entries ------------------------------------------------------------
  virtual Result<std::optional<DirentRecord>> lookup(DatasetId ds, Ino parent, std::string_view name,
                                                     Tid at = k_tid_live) = 0;
  // Sorted by name bytewise.
  virtual Result<std::vector<DirentRecord>> list_dir(DatasetId ds, Ino parent, Tid at = k_tid_live) = 0;
  virtual Result<bool> has_entries(DatasetId ds, Ino parent, Tid at = k_tid_live) = 0;
  virtual Result<void> put_dirent(DatasetId ds, const DirentRecord& entry, Tid tid) = 0;
  virtual Result<void> drop_dirent(DatasetId ds, Ino parent, std::string_view name, Tid tid) = 0;

  // --- Extents ----------------------------------------------------------------------
  // Live extents overlapping [from, to), by offset.
  virtual Result<std::vector<ExtentRecord>> extents(DatasetId ds, Ino ino, std::uint64_t from, std::uint64_t to,
                                                    Tid at = k_tid_live) = 0;
  virtual Result<void> put_extent(DatasetId ds, const ExtentRecord& extent, Tid tid) = 0;
  virtual Result<void> drop_extent(DatasetId ds, Ino ino, std::uint64_t offset, Tid tid) = 0;

  // --- Extended attributes ------------------------------------------------------------
  virtual Result<std::optional<std::string>> xattr(DatasetId ds, Ino ino, std::string_view name,
                                                   Tid at = k_tid_live) = 0;
  virtual Result<std::vector<std::pair<std::string, std::string>>> xattrs(DatasetId ds, Ino ino,
                                                                         Tid at = k_tid_live) = 0;
  virtual Result<void> put_xattr(DatasetId ds, Ino ino, std::string_view name, std::string_view value, Tid tid) = 0;
  virtual Result<void> drop_xattr(DatasetId ds, Ino ino, std::string_view name, Tid tid) = 0;

  // --- Chunk references ---------------------------------------------------------------
  virtual Result<std::int64_t> refs(const ChunkId& chunk) = 0;
  // Chunks whose refcount is 0 and has been since before `before_ns`.
  virtual Result<std::vector<ChunkId>> unreferenced(std::int64_t before_ns) = 0;
  virtual Result<void> forget_chunk(const ChunkId& chunk) = 0;
  // Writes the pending reference changes and returns the chunks whose count
  // they brought to 0 — or that were stored and let go inside the open
  // transaction, so never counted — and that nothing references now: the
  // caller frees them in the same transaction. REQUIRES: a write transaction.
  virtual Result<std::vector<ChunkId>> take_released() = 0;
  // Calls fn for every reference count, in chunk order (streaming, as below).
  virtual Result<void> for_each_ref(const std::function<Result<void>(const ChunkRef&)>& fn) = 0;
  // Call fn for every live extent / inode / dirent of every dataset (for verify),
  // streaming: fn must not call back into the store. for_each_extent with
  // `closed` also visits the closed rows history keeps (they hold references too).
  virtual Result<void> for_each_extent(const std::function<Result<void>(DatasetId, const ExtentRecord&)>& fn,
                                       bool closed = false) = 0;
  virtual Result<void> for_each_inode(const std::function<Result<void>(DatasetId, const InodeRecord&)>& fn) = 0;
  virtual Result<void> for_each_dirent(const std::function<Result<void>(DatasetId, const DirentRecord&)>& fn) = 0;

  // --- Transaction log ----------------------------------------------------------------
  virtual Result<void> log(const TxlogEntry& entry) = 0;

  // --- Resumable receives, by target dataset name ----------------------------------------
  virtual Result<std::optional<PartialReceive>> partial_receive(std::string_view target) = 0;
  // Adds piece number `partial.pieces - 1` (`bytes`) and records `partial`.
  virtual Result<void> spool(std::string_view target, const PartialReceive& partial, std::string_view bytes) = 0;
  virtual Result<std::string> spool_piece(std::string_view target, std::uint64_t seq) = 0;
  // Forgets the receive and its pieces.
  virtual Result<void> drop_partial_receive(std::string_view target) = 0;
};

// The SQLite MetaStore over an open connection (which the pool shares with the
// single-file chunk store).
namespace sql {
class Db;
}
std::unique_ptr<MetaStore> make_sqlite_meta_store(sql::Db& db);

}  // namespace anyfs
