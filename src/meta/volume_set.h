// VolumeSet: the volume files of a pool as the pool above manages them —
// listing, adding, draining one onto the others, dropping an empty one — with
// no word of the database below (the SQLite implementation is
// meta/volume_chunk_store.h, which is also the pool's chunk store).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "anyfs/error.h"
#include "chunk/hash.h"
#include "meta/volume_health.h"

namespace anyfs {

// A volume as the pool's records list it, and what it holds now.
struct VolumeInfo {
  std::int64_t id = 0;
  std::string uuid;
  std::string path;
  std::uint64_t cap_bytes = 0;   // 0: grows freely
  std::uint64_t size_bytes = 0;  // the file's pages (0 when it cannot be opened)
  std::uint64_t chunks = 0;      // chunk copies the records place on it
  bool draining = false;         // being emptied (volume remove/move): takes no new chunks
  std::int64_t drain_to = 0;     // draining onto this volume only (0: any other)
  VolumeCounts counts;           // errors met on it (recorded, and since the last commit)
  std::string fault;             // why it cannot be used (missing, another pool's...), empty when it can
};

// One step of draining a volume (VolumeSet::drain_some).
struct DrainStep {
  std::uint64_t chunks = 0;  // copies moved
  std::uint64_t bytes = 0;   // their stored bytes
  std::vector<ChunkId> lost;  // copies with no good copy anywhere to move from
  bool done = false;          // nothing left to look at after this step
};

class VolumeSet {
 public:
  virtual ~VolumeSet() = default;
  // The volumes the records list, in order.
  virtual Result<std::vector<VolumeInfo>> volumes() = 0;
  // Makes a volume file at `path` (capped at `cap_bytes`; 0: grows freely)
  // and lists it. REQUIRES: no transaction of records open. Errors: Exists,
  // InvalidArgument, ReadOnly, Io, NoSpace.
  virtual Result<VolumeInfo> add_volume(const std::string& path, std::uint64_t cap_bytes) = 0;
  // Marks volume `id` draining (onto `to`, or any other volume: 0) — it takes
  // no new chunk from then on — or online again. REQUIRES: no transaction of
  // records open. Errors: NotFound, ReadOnly, Io.
  virtual Result<void> set_draining(std::int64_t id, bool draining, std::int64_t to) = 0;
  // Moves copies on volume `id` (chunk order, from `after`) onto other
  // volumes, up to about `max_bytes`, in the open transaction of records; the
  // new copies are durable before it commits (make_durable). Returns what it
  // moved and the last chunk it looked at in `after`. REQUIRES: a
  // transaction of records open. Errors: NoSpace (no volume may take a
  // copy), Io.
  virtual Result<DrainStep> drain_some(std::int64_t id, ChunkId& after, std::uint64_t max_bytes) = 0;
  // Copies the records still place on volume `id`.
  virtual Result<std::uint64_t> copies_on(std::int64_t id) = 0;
  // Takes the emptied volume `id` out of the list (relabelling the others)
  // and deletes its file. REQUIRES: no copies on it, no transaction of
  // records open. Errors: Busy (copies left), Io.
  virtual Result<void> drop_volume(std::int64_t id) = 0;
  // Chunks every copy of which is on a volume that cannot be used.
  virtual Result<std::uint64_t> chunks_without_usable_copy() = 0;
};

}  // namespace anyfs
