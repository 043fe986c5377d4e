// A volume file of a multi-volume pool (DESIGN.md §6): a SQLite database of
// its own — its own connection, its own write-ahead log — holding chunks in
// the same `chunks` table a single-file pool has, and a label that says whose
// it is: the pool's uuid, its own uuid, and a full copy of the pool's volume
// list with the list's sequence number. Any one volume so names the pool and
// every other volume; a volume of another pool, or one that missed a change
// of the list (a smaller sequence number), is refused with an error that
// names the file.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "anyfs/error.h"
#include "chunk/chunk_store.h"
#include "util/sqlite.h"

namespace anyfs {

// One volume as the pool's list has it.
struct VolumeEntry {
  std::string uuid;
  std::string path;
  std::uint64_t cap_bytes = 0;  // the most it may grow to; 0 = no cap (thin)
  friend bool operator==(const VolumeEntry&, const VolumeEntry&) = default;
};

struct VolumeLabel {
  std::string pool_uuid;
  std::string volume_uuid;
  std::uint64_t sequence = 0;  // of the volume list: grows with every change to it
  std::vector<VolumeEntry> volumes;
  friend bool operator==(const VolumeLabel&, const VolumeLabel&) = default;
};

class VolumeFile {
 public:
  // Makes a volume at `path` (nothing may be there) labelled `label`, whose
  // volume_uuid must be in its list. Errors: Exists, InvalidArgument, Io.
  // `vfs`: a registered SQLite VFS to open through (tests); "" = the default.
  static Result<std::unique_ptr<VolumeFile>> create(const std::string& path, const VolumeLabel& label,
                                                    std::uint32_t page_size, bool page_checksums,
                                                    const std::string& vfs = "");
  // Opens the volume at `path` and reads its label. Errors: NotFound; Corrupt
  // naming the file ("not an AnyFS volume", a damaged label); Unsupported (a
  // newer volume format); Io.
  static Result<std::unique_ptr<VolumeFile>> open(const std::string& path, bool read_only,
                                                  const std::string& vfs = "");
  ~VolumeFile();

  const std::string& path() const { return path_; }
  const VolumeLabel& label() const { return label_; }
  // Refuses a volume that is not `volume_uuid` of pool `pool_uuid` at list
  // `sequence`: InvalidArgument naming the file and what it is instead
  // (another pool's; another volume of this pool; stale — an older list).
  Result<void> check_belongs(const std::string& pool_uuid, const std::string& volume_uuid,
                             std::uint64_t sequence) const;
  // Writes a new label (a newer list) durably, in a transaction of its own.
  // REQUIRES: no transaction open. Errors: InvalidArgument (another pool or
  // volume, or a sequence not newer), Io, NoSpace.
  Result<void> write_label(const VolumeLabel& label);

  // The chunks on this volume.
  ChunkStore& chunks() { return *chunks_; }
  // A write transaction: chunks put between begin() and commit() are durable
  // on this file when commit() returns (the log is synced).
  Result<void> begin();
  Result<void> commit();
  Result<void> rollback();
  bool in_transaction() const { return db_->in_transaction(); }
  // The bytes the file holds (its pages, free ones included).
  Result<std::uint64_t> size_bytes();
  // Calls `f(id, raw_size, stored_size)` for each chunk on it.
  Result<void> for_each_chunk(const std::function<void(const ChunkId&, std::uint64_t, std::uint64_t)>& f);

 private:
  VolumeFile(std::string path, std::unique_ptr<sql::Db> db, VolumeLabel label);
  static Result<VolumeLabel> read_label(sql::Db& db);
  Result<void> store_label(const VolumeLabel& label);

  std::string path_;
  std::unique_ptr<sql::Db> db_;
  std::unique_ptr<ChunkStore> chunks_;
  VolumeLabel label_;
};

}  // namespace anyfs
