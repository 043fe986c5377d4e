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

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "chunk/chunk_store.h"
#include "meta/pool_usage.h"
#include "meta/volume_file.h"
#include "meta/volume_health.h"
#include "meta/volume_set.h"
#include "meta/volume_writer.h"
#include "util/sqlite.h"

namespace anyfs {

class VolumeChunkStore final : public ChunkStore, public VolumeSet {
 public:
  // Over the pool file `db` (which holds the records and `home`'s table);
  // writable or read-only (the volumes are opened likewise, through `vfs`
  // as the pool file is: "" is SQLite's default). `health` is shared with
  // the writer's store (a reader's), or made here (the writer's).
  VolumeChunkStore(sql::Db& db, std::unique_ptr<ChunkStore> home, bool writable, std::string vfs = "",
                   std::shared_ptr<VolumeHealth> health = nullptr);
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
  // Each copy read from its own volume; a bad one rewritten (writer only).
  Result<ChunkCheck> check_copies(const ChunkId& id, bool repair) override;
  bool wants_commit() override;

  // Opens every volume the records list and checks its label (the pool's
  // uuid, the volume's, the list's sequence). One that fails (missing,
  // another pool's, stale) is faulted: reads go to the other copies and
  // nothing is put there; VolumeInfo::fault says why.
  void open_all();
  std::shared_ptr<VolumeHealth> health() const { return health_; }

  // VolumeSet. add_volume: the new file and every usable volume's label get
  // the new list first, then the records (in a transaction of their own).
  Result<std::vector<VolumeInfo>> volumes() override;
  Result<VolumeInfo> add_volume(const std::string& path, std::uint64_t cap_bytes) override;
  Result<void> set_draining(std::int64_t id, bool draining, std::int64_t to) override;
  Result<DrainStep> drain_some(std::int64_t id, ChunkId& after, std::uint64_t max_bytes) override;
  Result<std::uint64_t> copies_on(std::int64_t id) override;
  Result<void> drop_volume(std::int64_t id) override;
  Result<std::uint64_t> chunks_without_usable_copy() override;
  // What the volumes hold, added to `usage`: chunks the records reference,
  // and the raw and stored bytes of the chunks on them — each chunk once,
  // however many copies a mirror keeps.
  Result<void> add_usage(PoolUsage& usage);

 private:
  struct Open {
    std::unique_ptr<VolumeFile> file;
    std::uint64_t cap_bytes = 0;
    std::uint64_t bytes = 0;  // the file's size at open plus what was put since
    std::unique_ptr<VolumeWriter> writer;  // a writable store's: its thread (goes before the file)
  };
  // A copy of `id` on `v`: still queued for its writer, or from the file.
  Result<StoredChunk> read_copy(Open& v, const ChunkId& id);
  Result<bool> read_copy_into(Open& v, const ChunkId& id, std::span<char> out, StoredChunk& chunk);
  struct Row {
    std::int64_t id;
    std::string uuid, path;
    std::uint64_t cap_bytes;
    bool draining;
    std::int64_t drain_to;
    VolumeCounts counts;  // as recorded
  };
  Result<std::vector<Row>> read_rows();
  // The volumes the records list (read by drop_caches, grown by add_volume).
  const std::vector<Row>& rows() const { return listed_; }
  Result<std::string> setting(const char* key);
  // The open volume `id`, opened and checked at first use; one that cannot
  // be is faulted (its error kept and returned until drop_caches).
  Result<Open*> volume(std::int64_t id);
  // Puts `chunk` on volume `vid` in a transaction of its own (replacing the
  // copy there), its open one committed first. A volume that fails a write
  // takes no new chunk for the rest of this process.
  Result<void> put_alone(std::int64_t vid, const ChunkId& id, const StoredChunk& chunk, bool replace);
  // A usable volume for a new copy of `id` (`size` stored bytes) that none
  // of `holders` is — `only` if not 0. Errors: NoSpace.
  Result<std::int64_t> pick_target(const ChunkId& id, const std::vector<std::int64_t>& holders, std::uint64_t size,
                                   std::int64_t only);
  // The records: the copy of `id` on `from` is on `to` now.
  Result<void> move_copy(const ChunkId& id, std::int64_t from, std::int64_t to);
  // Repairs the bad copy of `id` on volume `vid` from `good`: rewritten there
  // (its own transaction); if that fails (its pages are damaged too), put on
  // another volume and the records moved to it — only with a transaction of
  // records open, which must commit after (wants_commit says so).
  Result<void> repair_copy(const ChunkId& id, std::int64_t vid, const StoredChunk& good);
  // The volume list as the labels carry it, without volume `except`.
  VolumeLabel label_for(const std::string& pool, std::uint64_t sequence, std::int64_t except) const;
  // Writes `label` (at its sequence) on every usable listed volume but `except`.
  Result<void> relabel(const VolumeLabel& label, std::int64_t except);
  Result<void> set_sequence(std::uint64_t sequence);
  // The sequence number of the next change of the list.
  Result<std::uint64_t> next_sequence();
  Result<std::vector<std::int64_t>> copies(const ChunkId& id);
  // The first of the copies on the volumes `where` that `read(store, &good)`
  // finds good (the checksum of its stored bytes holds), the last one read
  // as `read(store, nullptr)` and returned unchecked — the caller's
  // load_chunk checks it — so a mirror reads around a bad copy, an
  // unmirrored one is hashed once, and a bad last copy is reported.
  // A bad copy found before a good one is counted and queued for the writer
  // to rewrite from the good one (`good_chunk()` makes it).
  template <class T, class Read, class Good>
  Result<T> first_good_copy(const ChunkId& id, const std::vector<std::int64_t>& where, Read read, Good good_chunk);

  sql::Db& db_;
  std::unique_ptr<ChunkStore> home_;
  const bool writable_;
  const std::string vfs_;
  std::map<std::int64_t, Open> open_;
  std::map<std::int64_t, Error> faults_;  // volumes that could not be opened
  std::shared_ptr<VolumeHealth> health_;
  bool records_changed_ = false;  // repairs moved copies in the open transaction of records
  std::set<std::int64_t> write_failed_;  // volumes a write failed on: no new chunks go there
  // Removed in the open transaction of records; doomed when it commits.
  std::vector<std::pair<ChunkId, std::vector<std::int64_t>>> removed_;
  // How long a copy no record names stays on its volume: a reader (another
  // process's, or a reading thread here) that took its snapshot of the
  // records before the commit may still go for it (DESIGN.md §4, rule 2).
  static constexpr std::chrono::seconds k_delete_grace{5};
  struct Doomed {
    std::chrono::steady_clock::time_point at;  // when the removal committed
    std::int64_t volume;
    ChunkId id;
  };
  std::deque<Doomed> doomed_;
  // Deletes the doomed copies whose removal committed before `before`.
  void delete_doomed(std::chrono::steady_clock::time_point before);
  std::vector<Row> listed_;
  bool any_volumes_ = false;  // the records list one (else every call goes to home_)
};

}  // namespace anyfs
