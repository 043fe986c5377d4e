// The chunks of a pool: those in the pool file's own `chunks` table (a
// single-file pool's, and whatever was stored before volumes were added) and
// those on volume files (meta/volume_file.h). The pool file's `chunk_copies`
// table says which volumes hold a chunk — the records stay the one source of
// truth; `volumes` lists the volume files. A chunk is put where the dataset's
// placement says, in an open transaction on each volume that
// make_durable() commits before the records naming it commit; a chunk
// removed leaves its volumes only once the removal is committed. Volumes are
// opened as the records first name them, so a read connection follows a
// volume added after it opened.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "chunk/chunk_store.h"
#include "meta/pool_usage.h"
#include "meta/volume_file.h"
#include "util/sqlite.h"

namespace anyfs {

// A volume as the pool's records list it, and what it holds now.
struct VolumeInfo {
  std::int64_t id = 0;
  std::string uuid;
  std::string path;
  std::uint64_t cap_bytes = 0;   // 0: grows freely
  std::uint64_t size_bytes = 0;  // the file's pages
  std::uint64_t chunks = 0;      // chunk copies the records place on it
};

class VolumeChunkStore final : public ChunkStore {
 public:
  // Over the pool file `db` (which holds the records and `home`'s table);
  // writable or read-only (the volumes are opened likewise, through `vfs`
  // as the pool file is: "" is SQLite's default).
  VolumeChunkStore(sql::Db& db, std::unique_ptr<ChunkStore> home, bool writable, std::string vfs = "");
  ~VolumeChunkStore() override;

  Result<void> put(const ChunkId& id, const StoredChunk& chunk) override { return put_placed(id, chunk, {}); }
  Result<void> put_placed(const ChunkId& id, const StoredChunk& chunk, const Placement& placement) override;
  Result<StoredChunk> get(const ChunkId& id) override;
  Result<bool> get_into(const ChunkId& id, std::span<char> out, StoredChunk& chunk) override;
  Result<bool> has(const ChunkId& id) override;
  Result<void> remove(const ChunkId& id) override;
  Result<std::vector<ChunkId>> list() override;
  void drop_caches() override;
  void release_handles() override;
  Result<void> make_durable() override;
  void committed() override;
  Result<void> sweep_unnamed(std::uint64_t& removed, std::uint64_t& bytes) override;

  // Opens every volume the records list and checks its label (the pool's
  // uuid, the volume's, the list's sequence). Errors: those of
  // VolumeFile::open and check_belongs, naming the file.
  Result<void> open_all();
  // Makes a volume file at `path` and lists it: the new file and every
  // volume's label get the new list first, then the records (in a
  // transaction of their own; none may be open). Errors: Exists (a file
  // there, or a volume of the pool already at that path), InvalidArgument,
  // Io, NoSpace.
  Result<VolumeInfo> add_volume(const std::string& path, std::uint64_t cap_bytes);
  // The volumes the records list, in order.
  Result<std::vector<VolumeInfo>> volumes();
  // What the volumes hold, added to `usage`: chunks the records reference,
  // and the raw and stored bytes of the chunks on them — each chunk once,
  // however many copies a mirror keeps.
  Result<void> add_usage(PoolUsage& usage);

 private:
  struct Open {
    std::unique_ptr<VolumeFile> file;
    std::uint64_t cap_bytes = 0;
    std::uint64_t bytes = 0;  // the file's size at open plus what was put since
  };
  struct Row {
    std::int64_t id;
    std::string uuid, path;
    std::uint64_t cap_bytes;
  };
  Result<std::vector<Row>> read_rows();
  // The volumes the records list (read by drop_caches, grown by add_volume).
  const std::vector<Row>& rows() const { return listed_; }
  Result<std::string> setting(const char* key);
  // The open volume `id`, opened and checked at first use.
  Result<Open*> volume(std::int64_t id);
  Result<std::vector<std::int64_t>> copies(const ChunkId& id);
  // The first of the copies on the volumes `where` that `read(store, &good)`
  // finds good (the checksum of its stored bytes holds), the last one read
  // as `read(store, nullptr)` and returned unchecked — the caller's
  // load_chunk checks it — so a mirror reads around a bad copy, an
  // unmirrored one is hashed once, and a bad last copy is reported.
  template <class T, class Read>
  Result<T> first_good_copy(const std::vector<std::int64_t>& where, Read read);

  sql::Db& db_;
  std::unique_ptr<ChunkStore> home_;
  const bool writable_;
  const std::string vfs_;
  std::map<std::int64_t, Open> open_;
  // Removed in the open transaction of records; leave their volumes when it commits.
  std::vector<std::pair<ChunkId, std::vector<std::int64_t>>> removed_;
  std::vector<Row> listed_;
  bool any_volumes_ = false;  // the records list one (else every call goes to home_)
};

}  // namespace anyfs
