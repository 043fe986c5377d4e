// A volume file of a multi-volume pool (DESIGN.md §6): a SQLite database of
// its own — its own connection, its own write-ahead log — holding chunks in
// the same `chunks` table a single-file pool has, and a label that says whose
// it is: the pool's uuid, its own uuid, and a full copy of the pool's volume
// list with the list's sequence number. Any one volume so names the pool and
// every other volume; a volume of another pool, or one that missed a change
// of the list (a smaller sequence number), is refused with an error that
// names the file.
//
// Thread-safe: every call takes the file's own lock, so the volume's writer
// thread (meta/volume_writer.h) and the pool's threads may share it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "anyfs/error.h"
#include "chunk/chunk_store.h"
#include "util/mutex.h"
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
  VolumeLabel label();
  // Refuses a volume that is not `volume_uuid` of pool `pool_uuid` at list
  // `sequence`: InvalidArgument naming the file and what it is instead
  // (another pool's; another volume of this pool; stale — an older list).
  Result<void> check_belongs(const std::string& pool_uuid, const std::string& volume_uuid, std::uint64_t sequence);
  // Writes a new label (a newer list) durably, in a transaction of its own.
  // REQUIRES: no transaction open. Errors: InvalidArgument (another pool or
  // volume, or a sequence not newer), Io, NoSpace.
  Result<void> write_label(const VolumeLabel& label);

  // The chunks on this volume (each call under the file's lock).
  ChunkStore& chunks() { return locked_; }
  // A write transaction: chunks put between begin() and commit() are durable
  // on this file when commit() returns (the log is synced).
  Result<void> begin();
  Result<void> commit();
  Result<void> rollback();
  bool in_transaction();
  // Puts a chunk in the open transaction, begun if none is.
  Result<void> put_in_transaction(const ChunkId& id, const StoredChunk& chunk);
  Result<void> commit_if_open();
  Result<void> rollback_if_open();
  // Puts a chunk (replacing the row there, with `replace`) in a transaction
  // of its own, durable when it returns; the open one is committed first.
  Result<void> put_alone(const ChunkId& id, const StoredChunk& chunk, bool replace);
  // Removes chunks in a transaction of its own (those missing are passed
  // over), unless one is open: then nothing (false) — gc finds them later.
  Result<bool> remove_alone(const std::vector<ChunkId>& ids);
  // The bytes the file holds (its pages, free ones included).
  Result<std::uint64_t> size_bytes();
  // Calls `f(id, raw_size, stored_size)` for each chunk on it.
  Result<void> for_each_chunk(const std::function<void(const ChunkId&, std::uint64_t, std::uint64_t)>& f);

 private:
  // The chunk store below, each call under the file's lock.
  class LockedChunks final : public ChunkStore {
   public:
    explicit LockedChunks(VolumeFile& file) : file_(file) {}
    Result<void> put(const ChunkId& id, const StoredChunk& chunk) override;
    Result<StoredChunk> get(const ChunkId& id) override;
    Result<bool> get_into(const ChunkId& id, std::span<char> out, StoredChunk& chunk) override;
    Result<bool> has(const ChunkId& id) override;
    Result<void> remove(const ChunkId& id) override;
    Result<std::vector<ChunkId>> list() override;
    void drop_caches() override;
    void release_handles() override;

   private:
    VolumeFile& file_;
  };

  VolumeFile(std::string path, std::unique_ptr<sql::Db> db, VolumeLabel label);
  static Result<VolumeLabel> read_label(sql::Db& db);
  Result<void> store_label(const VolumeLabel& label) REQUIRES(mu_);
  Result<void> commit_locked() REQUIRES(mu_);
  Result<void> rollback_locked() REQUIRES(mu_);
  Result<void> put_in_own_transaction(const ChunkId& id, const StoredChunk& chunk, bool replace)
      REQUIRES(mu_);
  Result<void> remove_in_own_transaction(const std::vector<ChunkId>& ids) REQUIRES(mu_);

  const std::string path_;
  Mutex mu_;
  std::unique_ptr<sql::Db> db_ PT_GUARDED_BY(mu_);
  std::unique_ptr<ChunkStore> chunks_ PT_GUARDED_BY(mu_);
  VolumeLabel label_ GUARDED_BY(mu_);
  LockedChunks locked_{*this};
};

}  // namespace anyfs
