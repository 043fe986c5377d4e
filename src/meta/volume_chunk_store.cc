#include "meta/volume_chunk_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <unordered_set>

#include "util/uuid.h"

namespace anyfs {
namespace {

std::string_view id_bytes(const ChunkId& id) { return {reinterpret_cast<const char*>(id.data()), id.size()}; }

ChunkId id_from(std::string_view bytes) {
  ChunkId id{};
  std::memcpy(id.data(), bytes.data(), std::min(bytes.size(), id.size()));
  return id;
}

}  // namespace

VolumeChunkStore::VolumeChunkStore(sql::Db& db, std::unique_ptr<ChunkStore> home, bool writable, std::string vfs)
    : db_(db), home_(std::move(home)), writable_(writable), vfs_(std::move(vfs)) {
  drop_caches();
}

VolumeChunkStore::~VolumeChunkStore() = default;

Result<std::vector<VolumeChunkStore::Row>> VolumeChunkStore::read_rows() {
  std::vector<Row> out;
  auto stmt = ANYFS_TRY(db_.prepare("SELECT id, uuid, path, cap_bytes FROM volumes ORDER BY id"));
  while (ANYFS_TRY(stmt.step()))
    out.push_back(Row{stmt.column_int(0), stmt.column_string(1), stmt.column_string(2), stmt.column_u64(3)});
  return out;
}

Result<std::string> VolumeChunkStore::setting(const char* key) {
  auto stmt = ANYFS_TRY(db_.prepare("SELECT value FROM settings WHERE key = ?1"));
  stmt.bind_text(1, key);
  if (!ANYFS_TRY(stmt.step())) return std::string();
  return stmt.column_string(0);
}

Result<VolumeChunkStore::Open*> VolumeChunkStore::volume(std::int64_t id) {
  if (auto it = open_.find(id); it != open_.end()) return &it->second;
  for (const Row& row : rows()) {
    if (row.id != id) continue;
    auto file = ANYFS_TRY(VolumeFile::open(row.path, !writable_, vfs_));
    const std::string pool = ANYFS_TRY(setting("uuid"));
    const std::string sequence = ANYFS_TRY(setting("volume_sequence"));
    ANYFS_CHECK(file->check_belongs(pool, row.uuid, std::strtoull(sequence.c_str(), nullptr, 10)));
    const std::uint64_t bytes = ANYFS_TRY(file->size_bytes());
    return &open_.emplace(id, Open{std::move(file), row.cap_bytes, bytes}).first->second;
  }
  return fail(Errc::Corrupt, "", fmt::format("the records name volume {}, which they do not list", id));
}

Result<void> VolumeChunkStore::open_all() {
  for (const Row& row : rows()) ANYFS_CHECK(volume(row.id));
  return {};
}

Result<std::vector<std::int64_t>> VolumeChunkStore::copies(const ChunkId& id) {
  std::vector<std::int64_t> out;
  if (!any_volumes_) return out;
  auto stmt = ANYFS_TRY(db_.prepare("SELECT volume FROM chunk_copies WHERE chunk = ?1 ORDER BY volume"));
  stmt.bind_blob(1, id_bytes(id));
  while (ANYFS_TRY(stmt.step())) out.push_back(stmt.column_int(0));
  return out;
}

Result<void> VolumeChunkStore::put_placed(const ChunkId& id, const StoredChunk& chunk, const Placement& placement) {
  if (!any_volumes_) return home_->put(id, chunk);
  if (!ANYFS_TRY(copies(id)).empty()) return {};
  const auto& listed = rows();
  std::vector<VolumeRoom> rooms;
  std::vector<Open*> opened;
  for (const Row& row : listed) {
    Open* v = ANYFS_TRY(volume(row.id));
    opened.push_back(v);
    rooms.push_back(VolumeRoom{writable_, v->cap_bytes != 0 && v->bytes + chunk.stored.size() > v->cap_bytes});
  }
  for (const std::size_t k : ANYFS_TRY(place(id, placement, rooms))) {
    Open& v = *opened[k];
    if (!v.file->in_transaction()) ANYFS_CHECK(v.file->begin());
    ANYFS_CHECK(v.file->chunks().put(id, chunk));
    v.bytes += chunk.stored.size();
    auto stmt = ANYFS_TRY(db_.prepare("INSERT OR IGNORE INTO chunk_copies(chunk, volume) VALUES(?1, ?2)"));
    stmt.bind_blob(1, id_bytes(id)).bind(2, listed[k].id);
    ANYFS_CHECK(stmt.run());
  }
  return {};
}

template <class T, class Read>
Result<T> VolumeChunkStore::first_good_copy(const std::vector<std::int64_t>& where, Read read) {
  Result<T> got = fail(Errc::NotFound, "", "no copy");
  for (std::size_t i = 0; i < where.size(); ++i) {
    auto v = volume(where[i]);
    if (!v) {
      got = std::unexpected(v.error());
      continue;
    }
    // The last copy goes to the caller unchecked: load_chunk checks every
    // chunk it gets, so only a copy with another behind it is checked here.
    const bool last = i + 1 == where.size();
    bool good = false;
    got = read((*v)->file->chunks(), last ? nullptr : &good);
    if (last || good) return got;
  }
  return got;
}

Result<StoredChunk> VolumeChunkStore::get(const ChunkId& id) {
  const auto where = ANYFS_TRY(copies(id));
  if (where.empty()) return home_->get(id);
  return first_good_copy<StoredChunk>(where, [&](ChunkStore& copy, bool* good) {
    auto got = copy.get(id);
    if (good) *good = got && xxh3(got->stored) == got->checksum;
    return got;
  });
}

Result<bool> VolumeChunkStore::get_into(const ChunkId& id, std::span<char> out, StoredChunk& chunk) {
  const auto where = ANYFS_TRY(copies(id));
  if (where.empty()) return home_->get_into(id, out, chunk);
  return first_good_copy<bool>(where, [&](ChunkStore& copy, bool* good) {
    auto got = copy.get_into(id, out, chunk);
    // Not stored as is: the caller gets it whole (from get, which checks).
    if (good) *good = got && (!*got || xxh3(std::string_view(out.data(), out.size())) == chunk.checksum);
    return got;
  });
}

Result<bool> VolumeChunkStore::has(const ChunkId& id) {
  if (!ANYFS_TRY(copies(id)).empty()) return true;
  return home_->has(id);
}

Result<void> VolumeChunkStore::remove(const ChunkId& id) {
  auto where = ANYFS_TRY(copies(id));
  if (where.empty()) return home_->remove(id);
  auto stmt = ANYFS_TRY(db_.prepare("DELETE FROM chunk_copies WHERE chunk = ?1"));
  stmt.bind_blob(1, id_bytes(id));
  ANYFS_CHECK(stmt.run());
  removed_.emplace_back(id, std::move(where));
  return {};
}

Result<std::vector<ChunkId>> VolumeChunkStore::list() {
  auto out = ANYFS_TRY(home_->list());
  if (any_volumes_) {
    auto stmt = ANYFS_TRY(db_.prepare("SELECT DISTINCT chunk FROM chunk_copies"));
    while (ANYFS_TRY(stmt.step())) out.push_back(id_from(stmt.column_blob(0)));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
  return out;
}

void VolumeChunkStore::drop_caches() {
  home_->drop_caches();
  for (auto& [id, v] : open_) v.file->chunks().drop_caches();
  // The list changes only by add_volume on the writer's connection; a
  // reader's snapshot moving on comes here. A pool older than volumes has
  // no such table: none then.
  auto listed = read_rows();
  listed_ = listed ? std::move(*listed) : std::vector<Row>{};
  any_volumes_ = !listed_.empty();
}

void VolumeChunkStore::release_handles() {
  home_->release_handles();
  for (auto& [id, v] : open_) v.file->chunks().release_handles();
}

Result<void> VolumeChunkStore::make_durable() {
  for (auto& [id, v] : open_)
    if (v.file->in_transaction()) ANYFS_CHECK(v.file->commit());
  return {};
}

void VolumeChunkStore::committed() {
  if (removed_.empty()) return;
  std::map<std::int64_t, std::vector<ChunkId>> by_volume;
  for (const auto& [id, where] : removed_)
    for (const std::int64_t vid : where) by_volume[vid].push_back(id);
  removed_.clear();
  for (auto& [vid, ids] : by_volume) {
    auto v = volume(vid);
    if (!v || (*v)->file->in_transaction() || !(*v)->file->begin()) continue;
    for (const ChunkId& id : ids) (void)(*v)->file->chunks().remove(id);
    (void)(*v)->file->commit();
  }
}

Result<void> VolumeChunkStore::sweep_unnamed(std::uint64_t& removed, std::uint64_t& bytes) {
  if (!any_volumes_) return {};
  for (const Row& row : rows()) {
    Open* v = ANYFS_TRY(volume(row.id));
    // What the records place on this volume, then what it holds.
    std::vector<ChunkId> named;
    auto stmt = ANYFS_TRY(db_.prepare("SELECT chunk FROM chunk_copies WHERE volume = ?1 ORDER BY chunk"));
    stmt.bind(1, row.id);
    while (ANYFS_TRY(stmt.step())) named.push_back(id_from(stmt.column_blob(0)));
    std::vector<std::pair<ChunkId, std::uint64_t>> unnamed;
    ANYFS_CHECK(v->file->for_each_chunk([&](const ChunkId& id, std::uint64_t, std::uint64_t stored) {
      if (!std::binary_search(named.begin(), named.end(), id)) unnamed.emplace_back(id, stored);
    }));
    if (unnamed.empty()) continue;
    ANYFS_CHECK(v->file->begin());
    for (const auto& [id, stored] : unnamed) {
      auto gone = v->file->chunks().remove(id);
      if (!gone) {
        (void)v->file->rollback();
        return std::unexpected(gone.error());
      }
      removed++;
      bytes += stored;
    }
    ANYFS_CHECK(v->file->commit());
  }
  return {};
}

Result<std::vector<VolumeInfo>> VolumeChunkStore::volumes() {
  std::vector<VolumeInfo> out;
  for (const Row& row : rows()) {
    VolumeInfo info{row.id, row.uuid, row.path, row.cap_bytes, 0, 0};
    Open* v = ANYFS_TRY(volume(row.id));
    info.size_bytes = ANYFS_TRY(v->file->size_bytes());
    auto stmt = ANYFS_TRY(db_.prepare("SELECT count(*) FROM chunk_copies WHERE volume = ?1"));
    stmt.bind(1, row.id);
    if (ANYFS_TRY(stmt.step())) info.chunks = stmt.column_u64(0);
    out.push_back(std::move(info));
  }
  return out;
}

Result<void> VolumeChunkStore::add_usage(PoolUsage& usage) {
  if (!any_volumes_) return {};
  auto referenced = ANYFS_TRY(db_.query_int(
      "SELECT count(DISTINCT c.chunk) FROM chunk_copies c JOIN chunk_refs r ON r.chunk = c.chunk WHERE r.refs > 0"));
  auto all = ANYFS_TRY(db_.query_int("SELECT count(DISTINCT chunk) FROM chunk_copies"));
  usage.chunks += static_cast<std::uint64_t>(referenced.value_or(0));
  usage.unreferenced_chunks += static_cast<std::uint64_t>(all.value_or(0) - referenced.value_or(0));
  // Each chunk once, however many copies a mirror keeps (the files' sizes say what the disks hold).
  std::unordered_set<ChunkId, ChunkIdHash> seen;
  for (const Row& row : rows()) {
    Open* v = ANYFS_TRY(volume(row.id));
    ANYFS_CHECK(v->file->for_each_chunk([&](const ChunkId& id, std::uint64_t raw, std::uint64_t stored) {
      if (!seen.insert(id).second) return;
      usage.chunk_raw_bytes += raw;
      usage.chunk_stored_bytes += stored;
    }));
  }
  return {};
}

Result<VolumeInfo> VolumeChunkStore::add_volume(const std::string& path_given, std::uint64_t cap_bytes) {
  if (!writable_) return fail(Errc::ReadOnly, path_given, "the pool is open read-only");
  if (db_.in_transaction()) return fail(Errc::Busy, path_given, "a transaction of records is open");
  std::error_code ec;
  const std::string path = std::filesystem::absolute(path_given, ec).lexically_normal().string();
  const auto& listed = rows();
  for (const Row& row : listed)
    if (row.path == path) return fail(Errc::Exists, path, "a volume of this pool already");
  const std::string pool = ANYFS_TRY(setting("uuid"));
  const std::uint64_t sequence = std::strtoull(ANYFS_TRY(setting("volume_sequence")).c_str(), nullptr, 10) + 1;
  VolumeLabel label{pool, random_uuid(), sequence, {}};
  for (const Row& row : listed) label.volumes.push_back({row.uuid, row.path, row.cap_bytes});
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
  for (const Row& row : listed) {
    Open* v = ANYFS_TRY(volume(row.id));
    VolumeLabel relabel = label;
    relabel.volume_uuid = row.uuid;
    ANYFS_CHECK(v->file->write_label(relabel));
  }
  ANYFS_CHECK(db_.exec("BEGIN IMMEDIATE"));
  auto recorded = [&]() -> Result<std::int64_t> {
    auto add = ANYFS_TRY(db_.prepare("INSERT INTO volumes(uuid, path, cap_bytes) VALUES(?1, ?2, ?3)"));
    add.bind_text(1, label.volume_uuid).bind_text(2, path).bind(3, cap_bytes);
    ANYFS_CHECK(add.run());
    const std::int64_t id = db_.last_insert_rowid();
    auto seq = ANYFS_TRY(db_.prepare("INSERT OR REPLACE INTO settings(key, value) VALUES('volume_sequence', ?1)"));
    seq.bind_text(1, std::to_string(sequence));
    ANYFS_CHECK(seq.run());
    ANYFS_CHECK(db_.exec("COMMIT"));
    return id;
  }();
  if (!recorded) {
    (void)db_.exec("ROLLBACK");
    return std::unexpected(recorded.error());
  }
  unmade.keep = true;
  listed_.push_back(Row{*recorded, label.volume_uuid, path, cap_bytes});
  const std::uint64_t bytes = ANYFS_TRY(file->size_bytes());
  open_.emplace(*recorded, Open{std::move(file), cap_bytes, bytes});
  any_volumes_ = true;
  return VolumeInfo{*recorded, label.volume_uuid, path, cap_bytes, bytes, 0};
}

}  // namespace anyfs
