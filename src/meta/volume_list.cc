// The volume list of a pool of volumes (VolumeSet, meta/volume_set.h):
// adding a volume, draining one onto the others, dropping it, and the labels
// every change of the list rewrites — the members of VolumeChunkStore that
// change which volumes there are, apart from those that store and read
// chunks (meta/volume_chunk_store.cc). docs/FORMAT.md, "Volume files".
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "meta/sqlite_rows.h"
#include "meta/volume_chunk_store.h"
#include "util/uuid.h"

namespace anyfs {

using sqlrows::id_bytes;

Result<VolumeInfo> VolumeChunkStore::add_volume(const std::string& path_given, std::uint64_t cap_bytes) {
  if (!writable_) return fail(Errc::ReadOnly, path_given, "the pool is open read-only");
  if (db_.in_transaction()) return fail(Errc::Busy, path_given, "a transaction of records is open");
  std::error_code ec;
  const std::string path = std::filesystem::absolute(path_given, ec).lexically_normal().string();
  const auto& listed = rows();
  for (const Row& row : listed)
    if (row.path == path) return fail(Errc::Exists, path, "a volume of this pool already");
  const std::string pool = ANYFS_TRY(setting("uuid"));
  const std::uint64_t sequence = ANYFS_TRY(next_sequence());
  VolumeLabel label = label_for(pool, sequence, 0);
  label.volume_uuid = random_uuid();
  label.volumes.push_back({label.volume_uuid, path, cap_bytes});
  // The page layout of the pool file's: its page size and whether pages carry checksums.
  const auto page_size = ANYFS_TRY(db_.query_int("PRAGMA page_size")).value_or(16384);
  const bool page_checksums = !ANYFS_TRY(setting("page_checksums")).empty();
  // The labels first: a crash before the records commit leaves volumes ahead
  // of the records (accepted) and a new file the records do not list.
  auto file = ANYFS_TRY(VolumeFile::create(path, label, static_cast<std::uint32_t>(page_size), page_checksums, vfs_));
  // Until the records list it, a failure takes the new file away again.
  struct Unmade {
    std::unique_ptr<VolumeFile>* file;
    std::string path;
    bool keep = false;
    ~Unmade() {
      if (keep) return;
      file->reset();
      std::error_code ec;
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix, ec);
    }
  } unmade{&file, path};
  ANYFS_CHECK(relabel(label, 0));
  ANYFS_CHECK(db_.exec("BEGIN IMMEDIATE"));
  auto recorded = [&]() -> Result<std::int64_t> {
    auto add = ANYFS_TRY(db_.prepare("INSERT INTO volumes(uuid, path, cap_bytes) VALUES(?1, ?2, ?3)"));
    add.bind_text(1, label.volume_uuid).bind_text(2, path).bind(3, cap_bytes);
    ANYFS_CHECK(add.run());
    const std::int64_t id = db_.last_insert_rowid();
    ANYFS_CHECK(set_sequence(sequence));
    ANYFS_CHECK(db_.exec("COMMIT"));
    return id;
  }();
  if (!recorded) {
    (void)db_.exec("ROLLBACK");
    return std::unexpected(recorded.error());
  }
  unmade.keep = true;
  listed_.push_back(Row{*recorded, label.volume_uuid, path, cap_bytes, false, 0, {}});
  const std::uint64_t bytes = ANYFS_TRY(file->size_bytes());
  Open& v = open_.emplace(*recorded, Open{std::move(file), cap_bytes, bytes, nullptr}).first->second;
  v.writer = std::make_unique<VolumeWriter>(*v.file);
  any_volumes_ = true;
  return VolumeInfo{*recorded, label.volume_uuid, path, cap_bytes, bytes, 0, false, 0, {}, {}};
}

VolumeLabel VolumeChunkStore::label_for(const std::string& pool, std::uint64_t sequence, std::int64_t except) const {
  VolumeLabel label{pool, {}, sequence, {}};
  for (const Row& row : rows())
    if (row.id != except) label.volumes.push_back({row.uuid, row.path, row.cap_bytes});
  return label;
}

Result<void> VolumeChunkStore::relabel(const VolumeLabel& label, std::int64_t except) {
  for (const Row& row : rows()) {
    if (row.id == except) continue;
    // A faulted volume keeps its old label: stale when it comes back, it is refused then.
    auto v = volume(row.id);
    if (!v) continue;
    VolumeLabel own = label;
    own.volume_uuid = row.uuid;
    ANYFS_CHECK((*v)->file->write_label(own));
  }
  return {};
}

Result<std::uint64_t> VolumeChunkStore::next_sequence() {
  // Past every label too: a change cut short after relabelling some volumes
  // left them ahead of the records.
  std::uint64_t newest = std::strtoull(ANYFS_TRY(setting("volume_sequence")).c_str(), nullptr, 10);
  for (const Row& row : rows())
    if (auto v = volume(row.id)) newest = std::max(newest, (*v)->file->label().sequence);
  return newest + 1;
}

Result<void> VolumeChunkStore::set_sequence(std::uint64_t sequence) {
  auto seq = ANYFS_TRY(db_.prepare("INSERT OR REPLACE INTO settings(key, value) VALUES('volume_sequence', ?1)"));
  seq.bind_text(1, std::to_string(sequence));
  return seq.run();
}

Result<void> VolumeChunkStore::set_draining(std::int64_t id, bool draining, std::int64_t to) {
  if (!writable_) return fail(Errc::ReadOnly, "", "the pool is open read-only");
  if (db_.in_transaction()) return fail(Errc::Busy, "", "a transaction of records is open");
  Row* row = nullptr;
  for (Row& r : listed_)
    if (r.id == id) row = &r;
  if (row == nullptr) return fail(Errc::NotFound, "", fmt::format("no volume {}", id));
  ANYFS_CHECK(db_.exec("BEGIN IMMEDIATE"));
  auto stmt = ANYFS_TRY(db_.prepare("UPDATE volumes SET state = ?2, drain_to = ?3 WHERE id = ?1"));
  stmt.bind(1, id).bind_text(2, draining ? "draining" : "online").bind(3, draining ? to : 0);
  if (auto done = stmt.run(); !done) {
    (void)db_.exec("ROLLBACK");
    return done;
  }
  ANYFS_CHECK(db_.exec("COMMIT"));
  row->draining = draining;
  row->drain_to = draining ? to : 0;
  return {};
}

Result<std::uint64_t> VolumeChunkStore::copies_on(std::int64_t id) {
  auto stmt = ANYFS_TRY(db_.prepare("SELECT count(*) FROM chunk_copies WHERE volume = ?1"));
  stmt.bind(1, id);
  return ANYFS_TRY(stmt.step()) ? stmt.column_u64(0) : 0;
}

Result<DrainStep> VolumeChunkStore::drain_some(std::int64_t id, ChunkId& after, std::uint64_t max_bytes) {
  if (!writable_) return fail(Errc::ReadOnly, "", "the pool is open read-only");
  DrainStep step;
  std::vector<ChunkId> batch;
  {
    auto stmt = ANYFS_TRY(db_.prepare(
        "SELECT chunk FROM chunk_copies WHERE volume = ?1 AND chunk > ?2 ORDER BY chunk LIMIT 256"));
    stmt.bind(1, id).bind_blob(2, id_bytes(after));
    while (ANYFS_TRY(stmt.step())) batch.push_back(ANYFS_TRY(sqlrows::id_from(stmt.column_blob(0))));
  }
  const Row* source = nullptr;
  for (const Row& r : rows())
    if (r.id == id) source = &r;
  if (source == nullptr) return fail(Errc::NotFound, "", fmt::format("no volume {}", id));
  for (const ChunkId& chunk : batch) {
    if (step.bytes >= max_bytes) return step;
    after = chunk;
    // The copies elsewhere first: the draining volume may be the failing one.
    auto where = ANYFS_TRY(copies(chunk));
    std::stable_partition(where.begin(), where.end(), [&](std::int64_t v) { return v != id; });
    std::optional<StoredChunk> good;
    for (const std::int64_t vid : where) {
      auto v = volume(vid);
      if (!v) continue;
      auto got = read_copy(**v, chunk);
      if (got && decode_chunk(chunk, *got, true)) {
        good = std::move(*got);
        break;
      }
      health_->count(vid, got ? VolumeCounts{.checksum_errors = 1} : VolumeCounts{.read_errors = 1});
    }
    if (!good) {
      step.lost.push_back(chunk);
      continue;
    }
    // Where the copy goes: a usable volume that holds none yet, not draining,
    // with room (the named one, for a move).
    // A volume that fails the write is passed over for the next, unless the
    // failure took its open transaction (and the copies moved there) with it.
    std::optional<std::int64_t> target;
    while (!target) {
      auto picked = pick_target(chunk, where, good->stored.size(), source->drain_to);
      if (!picked)
        return fail(Errc::NoSpace, source->path,
                    "no other volume can take a copy of its chunks (each needs a volume that is not draining, "
                    "holds no copy yet, has room and takes writes): add a volume or raise a cap");
      Open& dest = *ANYFS_TRY(volume(*picked));
      const bool had_transaction = dest.file->in_transaction();
      auto written = dest.file->put_in_transaction(chunk, *good);
      if (written) {
        dest.bytes += good->stored.size();
        target = *picked;
        break;
      }
      health_->count(*picked, VolumeCounts{.write_errors = 1});
      write_failed_.insert(*picked);
      if (had_transaction && !dest.file->in_transaction()) return std::unexpected(written.error());
      if (!had_transaction && dest.file->in_transaction()) (void)dest.file->rollback();
    }
    ANYFS_CHECK(move_copy(chunk, id, *target));
    step.chunks++;
    step.bytes += good->stored.size();
  }
  step.done = batch.size() < 256;
  return step;
}

Result<void> VolumeChunkStore::drop_volume(std::int64_t id) {
  if (!writable_) return fail(Errc::ReadOnly, "", "the pool is open read-only");
  if (db_.in_transaction()) return fail(Errc::Busy, "", "a transaction of records is open");
  const Row* row = nullptr;
  for (const Row& r : rows())
    if (r.id == id) row = &r;
  if (row == nullptr) return fail(Errc::NotFound, "", fmt::format("no volume {}", id));
  const std::string path = row->path;
  if (const auto left = ANYFS_TRY(copies_on(id)); left != 0)
    return fail(Errc::Busy, path, fmt::format("{} chunk copies are still on it", left));
  const std::string pool = ANYFS_TRY(setting("uuid"));
  const std::uint64_t sequence = ANYFS_TRY(next_sequence());
  // The other labels first, as add_volume does: a crash before the records
  // commit leaves them ahead of the records (accepted) and this one listed.
  ANYFS_CHECK(relabel(label_for(pool, sequence, id), id));
  ANYFS_CHECK(db_.exec("BEGIN IMMEDIATE"));
  auto recorded = [&]() -> Result<void> {
    auto stmt = ANYFS_TRY(db_.prepare("DELETE FROM volumes WHERE id = ?1"));
    stmt.bind(1, id);
    ANYFS_CHECK(stmt.run());
    ANYFS_CHECK(set_sequence(sequence));
    return db_.exec("COMMIT");
  }();
  if (!recorded) {
    (void)db_.exec("ROLLBACK");
    return recorded;
  }
  // Only a file that opened as this volume is ours to delete: a faulted one
  // (another pool's, a stale copy) is left alone.
  const bool ours = open_.erase(id) > 0;
  faults_.erase(id);
  std::erase_if(listed_, [&](const Row& r) { return r.id == id; });
  any_volumes_ = !listed_.empty();
  if (ours) {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix, ec);
  }
  return {};
}

Result<std::uint64_t> VolumeChunkStore::chunks_without_usable_copy() {
  if (!any_volumes_) return 0;
  open_all();
  if (faults_.empty()) return 0;
  std::vector<std::int64_t> usable;
  for (const Row& r : rows())
    if (volume(r.id)) usable.push_back(r.id);
  std::string in;
  for (const std::int64_t v : usable) in += (in.empty() ? "" : ",") + std::to_string(v);
  if (in.empty()) return ANYFS_TRY(db_.query_int("SELECT count(DISTINCT chunk) FROM chunk_copies")).value_or(0);
  return ANYFS_TRY(db_.query_int(fmt::format(
             "SELECT count(DISTINCT chunk) FROM chunk_copies c WHERE NOT EXISTS "
             "(SELECT 1 FROM chunk_copies d WHERE d.chunk = c.chunk AND d.volume IN ({}))",
             in)))
      .value_or(0);
}

}  // namespace anyfs
