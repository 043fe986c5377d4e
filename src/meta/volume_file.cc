// A volume file: the `chunks` table of a pool file (chunk/sqlite_chunk_store.h)
// and its label in two small tables — `label` (pool_uuid, volume_uuid,
// sequence) and `volume_list` (the pool's volumes in order). docs/FORMAT.md,
// "Volume files".
#include "meta/volume_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "chunk/sqlite_chunk_store.h"
#include "meta/sqlite_setup.h"

namespace anyfs {
namespace {

// "ANYV": PRAGMA application_id of every volume file.
constexpr std::int32_t k_volume_application_id = 0x414e5956;
// PRAGMA user_version: the volume format this build writes.
constexpr int k_volume_format = 1;

constexpr const char* k_label_schema = R"sql(
CREATE TABLE label(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE volume_list(position INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, path TEXT NOT NULL,
  cap_bytes INTEGER NOT NULL);
)sql";

Result<void> check_label(const VolumeLabel& label) {
  if (label.pool_uuid.empty() || label.volume_uuid.empty())
    return fail(Errc::InvalidArgument, "", "a volume label needs the pool's uuid and its own");
  for (const auto& v : label.volumes)
    if (v.uuid == label.volume_uuid) return {};
  return fail(Errc::InvalidArgument, "", "a volume label's list must hold the volume itself");
}

}  // namespace

VolumeFile::VolumeFile(std::string path, std::unique_ptr<sql::Db> db, VolumeLabel label)
    : path_(std::move(path)), db_(std::move(db)), chunks_(make_sqlite_chunk_store(*db_)), label_(std::move(label)) {}

VolumeFile::~VolumeFile() {
  MutexLock lock(mu_);
  chunks_.reset();  // its statements and blob handle before the connection
}

Result<void> VolumeFile::LockedChunks::put(const ChunkId& id, const StoredChunk& chunk) {
  MutexLock lock(file_.mu_);
  return file_.chunks_->put(id, chunk);
}
Result<StoredChunk> VolumeFile::LockedChunks::get(const ChunkId& id) {
  MutexLock lock(file_.mu_);
  return file_.chunks_->get(id);
}
Result<bool> VolumeFile::LockedChunks::get_into(const ChunkId& id, std::span<char> out, StoredChunk& chunk) {
  MutexLock lock(file_.mu_);
  return file_.chunks_->get_into(id, out, chunk);
}
Result<bool> VolumeFile::LockedChunks::has(const ChunkId& id) {
  MutexLock lock(file_.mu_);
  return file_.chunks_->has(id);
}
Result<void> VolumeFile::LockedChunks::remove(const ChunkId& id) {
  MutexLock lock(file_.mu_);
  return file_.chunks_->remove(id);
}
Result<std::vector<ChunkId>> VolumeFile::LockedChunks::list() {
  MutexLock lock(file_.mu_);
  return file_.chunks_->list();
}
void VolumeFile::LockedChunks::drop_caches() {
  MutexLock lock(file_.mu_);
  file_.chunks_->drop_caches();
}
void VolumeFile::LockedChunks::release_handles() {
  MutexLock lock(file_.mu_);
  file_.chunks_->release_handles();
}

Result<std::unique_ptr<VolumeFile>> VolumeFile::create(const std::string& path, const VolumeLabel& label,
                                                       std::uint32_t page_size, bool page_checksums,
                                                       const std::string& vfs) {
  ANYFS_CHECK(check_label(label));
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return fail(Errc::Exists, path, "a file is there already");
  auto made = [&]() -> Result<std::unique_ptr<VolumeFile>> {
    auto db = ANYFS_TRY(sql::create_database(path, page_size, page_checksums, vfs));
    ANYFS_CHECK(sql::configure_connection(*db, false, 0));
    // Tables, format and label in one transaction: a failure leaves no half-made volume.
    ANYFS_CHECK(db->exec("BEGIN IMMEDIATE"));
    ANYFS_CHECK(db->exec(k_label_schema));
    ANYFS_CHECK(create_chunk_table(*db));
    ANYFS_CHECK(db->exec(fmt::format("PRAGMA application_id = {}; PRAGMA user_version = {}",
                                     k_volume_application_id, k_volume_format)));
    std::unique_ptr<VolumeFile> volume(new VolumeFile(path, std::move(db), label));
    MutexLock lock(volume->mu_);
    ANYFS_CHECK(volume->store_label(label));
    ANYFS_CHECK(volume->commit_locked());
    return volume;
  }();
  if (!made) {
    std::filesystem::remove(path, ec);
    std::filesystem::remove(path + "-wal", ec);
    std::filesystem::remove(path + "-shm", ec);
  }
  return made;
}

Result<std::unique_ptr<VolumeFile>> VolumeFile::open(const std::string& path, bool read_only,
                                                     const std::string& vfs) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return fail(Errc::NotFound, path, "no volume file there");
  sql::OpenOptions options;
  options.read_only = read_only;
  options.vfs = vfs;
  auto db = ANYFS_TRY(sql::Db::open(path, options));
  auto app = db->query_int("PRAGMA application_id");
  if (!app) return fail(app.error().code, path, "damaged or cut short (" + app.error().message + ")");
  if (!*app || **app != k_volume_application_id) {
    auto pages = db->query_int("PRAGMA page_count");
    if (pages && *pages && **pages == 0) return fail(Errc::Corrupt, path, "the volume file is empty (truncated?)");
    return fail(Errc::Corrupt, path, "not an AnyFS volume");
  }
  auto version = ANYFS_TRY(db->query_int("PRAGMA user_version")).value_or(0);
  if (version > k_volume_format)
    return fail(Errc::Unsupported, path,
                fmt::format("volume format {} is newer than this anyfs supports ({}); upgrade anyfs", version,
                            k_volume_format));
  ANYFS_CHECK(sql::configure_connection(*db, read_only, 0));
  auto label = read_label(*db);
  if (!label) return fail(label.error().code, path, label.error().message);
  return std::unique_ptr<VolumeFile>(new VolumeFile(path, std::move(db), std::move(*label)));
}

Result<VolumeLabel> VolumeFile::read_label(sql::Db& db) {
  VolumeLabel label;
  auto keys = ANYFS_TRY(db.prepare("SELECT key, value FROM label"));
  while (ANYFS_TRY(keys.step())) {
    const std::string key = keys.column_string(0), value = keys.column_string(1);
    if (key == "pool_uuid") label.pool_uuid = value;
    else if (key == "volume_uuid") label.volume_uuid = value;
    else if (key == "sequence") label.sequence = std::strtoull(value.c_str(), nullptr, 10);
  }
  auto list = ANYFS_TRY(db.prepare("SELECT uuid, path, cap_bytes FROM volume_list ORDER BY position"));
  while (ANYFS_TRY(list.step()))
    label.volumes.push_back(VolumeEntry{list.column_string(0), list.column_string(1), list.column_u64(2)});
  if (!check_label(label)) return fail(Errc::Corrupt, "", "the volume's label is damaged");
  return label;
}

Result<void> VolumeFile::store_label(const VolumeLabel& label) {
  if (!db_->in_transaction()) ANYFS_CHECK(db_->exec("BEGIN IMMEDIATE"));
  for (const auto& [key, value] : {std::pair<const char*, std::string>{"pool_uuid", label.pool_uuid},
                                   {"volume_uuid", label.volume_uuid},
                                   {"sequence", std::to_string(label.sequence)}}) {
    auto put = ANYFS_TRY(db_->prepare("INSERT OR REPLACE INTO label(key, value) VALUES(?1, ?2)"));
    put.bind_text(1, key).bind_text(2, value);
    ANYFS_CHECK(put.run());
  }
  ANYFS_CHECK(db_->exec("DELETE FROM volume_list"));
  for (std::size_t i = 0; i < label.volumes.size(); ++i) {
    const auto& v = label.volumes[i];
    auto add =
        ANYFS_TRY(db_->prepare("INSERT INTO volume_list(position, uuid, path, cap_bytes) VALUES(?1, ?2, ?3, ?4)"));
    add.bind(1, static_cast<std::int64_t>(i)).bind_text(2, v.uuid).bind_text(3, v.path).bind(4, v.cap_bytes);
    ANYFS_CHECK(add.run());
  }
  return {};
}

VolumeLabel VolumeFile::label() {
  MutexLock lock(mu_);
  return label_;
}

Result<void> VolumeFile::check_belongs(const std::string& pool_uuid, const std::string& volume_uuid,
                                       std::uint64_t sequence) {
  MutexLock lock(mu_);
  if (label_.pool_uuid != pool_uuid)
    return fail(Errc::InvalidArgument, path_,
                fmt::format("a volume of another pool ({}), not of this one ({})", label_.pool_uuid, pool_uuid));
  if (label_.volume_uuid != volume_uuid)
    return fail(Errc::InvalidArgument, path_,
                fmt::format("volume {} of this pool is here, where volume {} should be", label_.volume_uuid,
                            volume_uuid));
  if (label_.sequence < sequence)
    return fail(Errc::InvalidArgument, path_,
                fmt::format("a stale volume: its volume list is at {}, the pool's at {} (it missed a change)",
                            label_.sequence, sequence));
  return {};
}

Result<void> VolumeFile::write_label(const VolumeLabel& label) {
  ANYFS_CHECK(check_label(label));
  MutexLock lock(mu_);
  if (label.pool_uuid != label_.pool_uuid || label.volume_uuid != label_.volume_uuid)
    return fail(Errc::InvalidArgument, path_, "a new label must keep the pool's uuid and the volume's");
  if (label.sequence <= label_.sequence)
    return fail(Errc::InvalidArgument, path_,
                fmt::format("volume list {} is not newer than the one here ({})", label.sequence, label_.sequence));
  if (db_->in_transaction()) return fail(Errc::Busy, path_, "a transaction is open on the volume");
  auto stored = store_label(label);
  if (!stored) {
    (void)rollback_locked();
    return stored;
  }
  ANYFS_CHECK(commit_locked());
  label_ = label;
  return {};
}

Result<void> VolumeFile::begin() {
  MutexLock lock(mu_);
  return db_->exec("BEGIN IMMEDIATE");
}

Result<void> VolumeFile::commit() {
  MutexLock lock(mu_);
  return commit_locked();
}

Result<void> VolumeFile::rollback() {
  MutexLock lock(mu_);
  return rollback_locked();
}

Result<void> VolumeFile::commit_locked() {
  chunks_->release_handles();
  return db_->exec("COMMIT");
}

Result<void> VolumeFile::rollback_locked() {
  chunks_->release_handles();
  return db_->exec("ROLLBACK");
}

bool VolumeFile::in_transaction() {
  MutexLock lock(mu_);
  return db_->in_transaction();
}

Result<void> VolumeFile::put_in_transaction(const ChunkId& id, const StoredChunk& chunk) {
  MutexLock lock(mu_);
  if (!db_->in_transaction()) ANYFS_CHECK(db_->exec("BEGIN IMMEDIATE"));
  return chunks_->put(id, chunk);
}

Result<void> VolumeFile::commit_if_open() {
  MutexLock lock(mu_);
  return db_->in_transaction() ? commit_locked() : Result<void>{};
}

Result<void> VolumeFile::rollback_if_open() {
  MutexLock lock(mu_);
  return db_->in_transaction() ? rollback_locked() : Result<void>{};
}

// The bodies of put_alone and remove_alone: one transaction of their own,
// which the caller rolls back when they fail.
Result<void> VolumeFile::put_in_own_transaction(const ChunkId& id, const StoredChunk& chunk,
                                                bool replace) {
  ANYFS_CHECK(db_->exec("BEGIN IMMEDIATE"));
  if (replace)
    if (auto gone = chunks_->remove(id); !gone && gone.error().code != Errc::NotFound) return gone;
  ANYFS_CHECK(chunks_->put(id, chunk));
  return commit_locked();
}

Result<void> VolumeFile::remove_in_own_transaction(const std::vector<ChunkId>& ids) {
  ANYFS_CHECK(db_->exec("BEGIN IMMEDIATE"));
  for (const ChunkId& id : ids)
    if (auto gone = chunks_->remove(id); !gone && gone.error().code != Errc::NotFound) return gone;
  return commit_locked();
}

Result<void> VolumeFile::put_alone(const ChunkId& id, const StoredChunk& chunk, bool replace) {
  MutexLock lock(mu_);
  if (db_->in_transaction()) ANYFS_CHECK(commit_locked());
  auto written = put_in_own_transaction(id, chunk, replace);
  if (!written && db_->in_transaction()) (void)rollback_locked();
  return written;
}

Result<bool> VolumeFile::remove_alone(const std::vector<ChunkId>& ids) {
  MutexLock lock(mu_);
  if (db_->in_transaction()) return false;
  auto removed = remove_in_own_transaction(ids);
  if (!removed) {
    if (db_->in_transaction()) (void)rollback_locked();
    return std::unexpected(removed.error());
  }
  return true;
}

Result<std::uint64_t> VolumeFile::size_bytes() {
  MutexLock lock(mu_);
  auto pages = ANYFS_TRY(db_->query_int("PRAGMA page_count")).value_or(0);
  auto size = ANYFS_TRY(db_->query_int("PRAGMA page_size")).value_or(0);
  return static_cast<std::uint64_t>(pages * size);
}

Result<void> VolumeFile::for_each_chunk(
    const std::function<void(const ChunkId&, std::uint64_t, std::uint64_t)>& f) {
  MutexLock lock(mu_);
  auto stmt = ANYFS_TRY(db_->prepare("SELECT hash, raw_size, length(data) FROM chunks"));
  while (ANYFS_TRY(stmt.step())) {
    ChunkId id{};
    const std::string_view hash = stmt.column_blob(0);
    std::memcpy(id.data(), hash.data(), std::min(hash.size(), id.size()));
    f(id, stmt.column_u64(1), stmt.column_u64(2));
  }
  return {};
}

}  // namespace anyfs
