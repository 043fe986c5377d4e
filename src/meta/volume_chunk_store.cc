#include "meta/volume_chunk_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
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

VolumeChunkStore::VolumeChunkStore(sql::Db& db, std::unique_ptr<ChunkStore> home, bool writable, std::string vfs,
                                   std::shared_ptr<VolumeHealth> health)
    : db_(db),
      home_(std::move(home)),
      writable_(writable),
      vfs_(std::move(vfs)),
      health_(health ? std::move(health) : std::make_shared<VolumeHealth>()) {
  drop_caches();
}

VolumeChunkStore::~VolumeChunkStore() {
  // What waits out its grace goes now: no reader of this process is left.
  if (writable_ && !doomed_.empty()) delete_doomed(std::chrono::steady_clock::time_point::max());
}

Result<std::vector<VolumeChunkStore::Row>> VolumeChunkStore::read_rows() {
  std::vector<Row> out;
  auto stmt = ANYFS_TRY(db_.prepare(
      "SELECT id, uuid, path, cap_bytes, state, drain_to, read_errors, checksum_errors, write_errors, repaired "
      "FROM volumes ORDER BY id"));
  while (ANYFS_TRY(stmt.step()))
    out.push_back(Row{stmt.column_int(0), stmt.column_string(1), stmt.column_string(2), stmt.column_u64(3),
                      stmt.column_string(4) == "draining", stmt.column_int(5),
                      VolumeCounts{stmt.column_u64(6), stmt.column_u64(7), stmt.column_u64(8), stmt.column_u64(9)}});
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
  if (auto it = faults_.find(id); it != faults_.end()) return std::unexpected(it->second);
  for (const Row& row : rows()) {
    if (row.id != id) continue;
    auto opened = [&]() -> Result<Open> {
      auto file = ANYFS_TRY(VolumeFile::open(row.path, !writable_, vfs_));
      const std::string pool = ANYFS_TRY(setting("uuid"));
      const std::string sequence = ANYFS_TRY(setting("volume_sequence"));
      ANYFS_CHECK(file->check_belongs(pool, row.uuid, std::strtoull(sequence.c_str(), nullptr, 10)));
      const std::uint64_t bytes = ANYFS_TRY(file->size_bytes());
      return Open{std::move(file), row.cap_bytes, bytes, nullptr};
    }();
    if (!opened) {
      if (opened.error().path.empty()) opened.error().path = row.path;
      faults_.emplace(id, opened.error());
      return std::unexpected(opened.error());
    }
    Open& v = open_.emplace(id, std::move(*opened)).first->second;
    if (writable_) v.writer = std::make_unique<VolumeWriter>(*v.file);
    return &v;
  }
  return fail(Errc::Corrupt, "", fmt::format("the records name volume {}, which they do not list", id));
}

void VolumeChunkStore::open_all() {
  for (const Row& row : rows()) (void)volume(row.id);
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
    auto v = volume(row.id);
    opened.push_back(v ? *v : nullptr);
    rooms.push_back(VolumeRoom{writable_ && v && !row.draining && !write_failed_.contains(row.id),
                               v && (*v)->cap_bytes != 0 && (*v)->bytes + chunk.stored.size() > (*v)->cap_bytes});
  }
  const auto targets = ANYFS_TRY(place(id, placement, rooms));
  // Stored by each volume's writer thread, in parallel; make_durable waits for them.
  const auto shared = std::make_shared<const StoredChunk>(chunk);
  for (const std::size_t k : targets) {
    Open& v = *opened[k];
    v.writer->put(id, shared);
    v.bytes += chunk.stored.size();
    auto stmt = ANYFS_TRY(db_.prepare("INSERT OR IGNORE INTO chunk_copies(chunk, volume) VALUES(?1, ?2)"));
    stmt.bind_blob(1, id_bytes(id)).bind(2, listed[k].id);
    ANYFS_CHECK(stmt.run());
  }
  return {};
}

Result<StoredChunk> VolumeChunkStore::read_copy(Open& v, const ChunkId& id) {
  if (v.writer)
    if (auto queued = v.writer->queued(id)) return *queued;
  return v.file->chunks().get(id);
}

Result<bool> VolumeChunkStore::read_copy_into(Open& v, const ChunkId& id, std::span<char> out, StoredChunk& chunk) {
  if (v.writer) {
    if (auto queued = v.writer->queued(id)) {
      chunk.codec = queued->codec;
      chunk.raw_size = queued->raw_size;
      chunk.checksum = queued->checksum;
      if (queued->codec == Codec::None && queued->stored.size() == out.size()) {
        chunk.stored.clear();
        std::memcpy(out.data(), queued->stored.data(), out.size());
        return true;
      }
      chunk.stored = queued->stored;
      return false;
    }
  }
  return v.file->chunks().get_into(id, out, chunk);
}

template <class T, class Read, class Good>
Result<T> VolumeChunkStore::first_good_copy(const ChunkId& id, const std::vector<std::int64_t>& where, Read read,
                                            Good good_chunk) {
  Result<T> got = fail(Errc::NotFound, "", "no copy");
  std::vector<std::int64_t> bad;  // copies read and found bad (or unreadable), before a good one
  for (std::size_t i = 0; i < where.size(); ++i) {
    auto v = volume(where[i]);
    if (!v) {
      got = fail(Errc::Io, v.error().path, "the volume holding a copy cannot be used: " + v.error().message);
      continue;
    }
    // The last copy goes to the caller unchecked — load_chunk checks every
    // chunk it gets — unless bad ones came before: they are rewritten from
    // it, so it must be good.
    const bool unchecked = i + 1 == where.size() && bad.empty();
    bool good = false;
    got = read(**v, unchecked ? nullptr : &good);
    if (unchecked) return got;
    if (good) {
      for (const std::int64_t b : bad) health_->want_repair(id, b, good_chunk(*got));
      return got;
    }
    health_->count(where[i], got ? VolumeCounts{.checksum_errors = 1} : VolumeCounts{.read_errors = 1});
    bad.push_back(where[i]);
  }
  return got;
}

Result<StoredChunk> VolumeChunkStore::get(const ChunkId& id) {
  const auto where = ANYFS_TRY(copies(id));
  if (where.empty()) return home_->get(id);
  return first_good_copy<StoredChunk>(
      id, where,
      [&](Open& copy, bool* good) {
        auto got = read_copy(copy, id);
        if (good) *good = got && xxh3(got->stored) == got->checksum;
        return got;
      },
      [](const StoredChunk& c) { return c; });
}

Result<bool> VolumeChunkStore::get_into(const ChunkId& id, std::span<char> out, StoredChunk& chunk) {
  const auto where = ANYFS_TRY(copies(id));
  if (where.empty()) return home_->get_into(id, out, chunk);
  return first_good_copy<bool>(
      id, where,
      [&](Open& copy, bool* good) {
        auto got = read_copy_into(copy, id, out, chunk);
        // Not stored as is: the caller gets it whole (from get, which checks).
        if (good) *good = got && (!*got || xxh3(std::string_view(out.data(), out.size())) == chunk.checksum);
        return got;
      },
      [&](bool as_is) {
        StoredChunk good = chunk;
        if (as_is) good.stored.assign(out.data(), out.size());
        return good;
      });
}

Result<void> VolumeChunkStore::put_alone(std::int64_t vid, const ChunkId& id, const StoredChunk& chunk,
                                         bool replace) {
  Open* v = ANYFS_TRY(volume(vid));
  // What the writer thread holds goes first (early durability is allowed:
  // rule 1 asks only that it be before the records).
  if (v->writer) {
    v->writer->start_commit();
    ANYFS_CHECK(v->writer->finish_commit());
  }
  auto written = v->file->put_alone(id, chunk, replace);
  if (!written) {
    // Pages of the old copy that fail their checksums are damage already
    // counted, not a volume that cannot be written.
    if (written.error().code != Errc::Corrupt) {
      health_->count(vid, VolumeCounts{.write_errors = 1});
      write_failed_.insert(vid);
    }
    return written;
  }
  v->bytes += chunk.stored.size();
  return {};
}

Result<std::int64_t> VolumeChunkStore::pick_target(const ChunkId& id, const std::vector<std::int64_t>& holders,
                                                   std::uint64_t size, std::int64_t only) {
  std::vector<VolumeRoom> rooms;
  for (const Row& r : rows()) {
    auto v = volume(r.id);
    const bool holds = std::find(holders.begin(), holders.end(), r.id) != holders.end();
    const bool allowed = only == 0 || only == r.id;
    rooms.push_back(VolumeRoom{writable_ && v && !r.draining && !holds && allowed && !write_failed_.contains(r.id),
                               v && (*v)->cap_bytes != 0 && (*v)->bytes + size > (*v)->cap_bytes});
  }
  const auto target = ANYFS_TRY(place(id, Placement{Placement::Kind::Stripe, 1}, rooms));
  return rows()[target.front()].id;
}

Result<void> VolumeChunkStore::move_copy(const ChunkId& id, std::int64_t from, std::int64_t to) {
  auto add = ANYFS_TRY(db_.prepare("INSERT OR IGNORE INTO chunk_copies(chunk, volume) VALUES(?1, ?2)"));
  add.bind_blob(1, id_bytes(id)).bind(2, to);
  ANYFS_CHECK(add.run());
  auto drop = ANYFS_TRY(db_.prepare("DELETE FROM chunk_copies WHERE chunk = ?1 AND volume = ?2"));
  drop.bind_blob(1, id_bytes(id)).bind(2, from);
  return drop.run();
}

Result<void> VolumeChunkStore::repair_copy(const ChunkId& id, std::int64_t vid, const StoredChunk& good) {
  auto rewritten = put_alone(vid, id, good, /*replace=*/true);
  if (rewritten) {
    health_->count(vid, VolumeCounts{.repaired = 1});
    return {};
  }
  // Its pages are damaged too (or it cannot be written): the copy moves to
  // another volume, durable there before the records say so.
  if (!db_.in_transaction()) return rewritten;
  const auto where = ANYFS_TRY(copies(id));
  auto target = pick_target(id, where, good.stored.size(), 0);
  if (!target) return rewritten;
  ANYFS_CHECK(put_alone(*target, id, good, /*replace=*/false));
  ANYFS_CHECK(move_copy(id, vid, *target));
  records_changed_ = true;
  health_->count(vid, VolumeCounts{.repaired = 1});
  return {};
}

Result<ChunkCheck> VolumeChunkStore::check_copies(const ChunkId& id, bool repair) {
  const auto where = ANYFS_TRY(copies(id));
  if (where.empty()) return home_->check_copies(id, repair);
  ChunkCheck check;
  std::optional<StoredChunk> good;
  std::vector<std::int64_t> bad;
  for (const std::int64_t vid : where) {
    auto v = volume(vid);
    if (!v) continue;  // a faulted volume: its copy waits for `volume replace`
    check.copies++;
    auto got = read_copy(**v, id);
    auto checked = got ? decode_chunk(id, *got, true) : Result<std::string>(std::unexpected(got.error()));
    if (got) check.bytes_read += got->stored.size();
    if (!checked) {
      health_->count(vid, got ? VolumeCounts{.checksum_errors = 1} : VolumeCounts{.read_errors = 1});
      if (check.problem.empty()) check.problem = (*v)->file->path() + ": " + checked.error().message;
      bad.push_back(vid);
      continue;
    }
    if (!good) good = std::move(*got);
  }
  check.bad = static_cast<unsigned>(bad.size());
  if (!good) {
    check.lost = true;
    if (check.problem.empty()) check.problem = "no volume holding a copy can be read";
    return check;
  }
  if (repair && writable_)
    for (const std::int64_t vid : bad)
      if (repair_copy(id, vid, *good)) check.repaired++;
  return check;
}

bool VolumeChunkStore::wants_commit() { return writable_ && (records_changed_ || health_->pending()); }

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
  // A volume that could not be opened is tried again (it may be back).
  faults_.clear();
}

void VolumeChunkStore::release_handles() {
  home_->release_handles();
  for (auto& [id, v] : open_) v.file->chunks().release_handles();
}

Result<void> VolumeChunkStore::make_durable() {
  // Every volume's writer commits at once (their syncs overlap); then all are waited for.
  for (auto& [id, v] : open_)
    if (v.writer) v.writer->start_commit();
  std::optional<Error> failed;
  for (auto& [vid, v] : open_) {
    auto done = v.writer ? v.writer->finish_commit() : v.file->commit_if_open();
    if (!done) {
      health_->count(vid, VolumeCounts{.write_errors = 1});
      write_failed_.insert(vid);
      if (!failed) failed = done.error();
    }
  }
  if (failed) return std::unexpected(*failed);
  if (writable_ && any_volumes_) {
    // What reads found: bad copies rewritten from the good ones they read
    // (if the records still place them there), each in a transaction of its
    // own, and the errors counted.
    for (const VolumeHealth::Repair& r : health_->take_repairs()) {
      const auto where = ANYFS_TRY(copies(r.id));
      if (std::find(where.begin(), where.end(), r.volume) != where.end()) (void)repair_copy(r.id, r.volume, r.good);
    }
    for (const auto& [vid, delta] : health_->take_counts()) {
      auto stmt = ANYFS_TRY(db_.prepare(
          "UPDATE volumes SET read_errors = read_errors + ?2, checksum_errors = checksum_errors + ?3, "
          "write_errors = write_errors + ?4, repaired = repaired + ?5 WHERE id = ?1"));
      stmt.bind(1, vid).bind(2, delta.read_errors).bind(3, delta.checksum_errors).bind(4, delta.write_errors);
      stmt.bind(5, delta.repaired);
      ANYFS_CHECK(stmt.run());
      for (Row& row : listed_)
        if (row.id == vid) row.counts += delta;
    }
  }
  records_changed_ = false;
  return {};
}

void VolumeChunkStore::committed() {
  const auto now = std::chrono::steady_clock::now();
  for (auto& [id, where] : removed_)
    for (const std::int64_t vid : where) doomed_.push_back(Doomed{now, vid, id});
  removed_.clear();
  delete_doomed(now - k_delete_grace);
}

void VolumeChunkStore::delete_doomed(std::chrono::steady_clock::time_point before) {
  std::map<std::int64_t, std::vector<ChunkId>> by_volume;
  while (!doomed_.empty() && doomed_.front().at <= before) {
    by_volume[doomed_.front().volume].push_back(doomed_.front().id);
    doomed_.pop_front();
  }
  for (auto& [vid, ids] : by_volume) {
    auto v = volume(vid);
    // A volume with a transaction open (chunks queued since) keeps them: gc's sweep finds them.
    if (v) (void)(*v)->file->remove_alone(ids);
  }
}

Result<void> VolumeChunkStore::sweep_unnamed(std::uint64_t& removed, std::uint64_t& bytes) {
  if (!any_volumes_) return {};
  for (const Row& row : rows()) {
    auto opened = volume(row.id);
    if (!opened) continue;  // faulted: nothing to sweep there now
    Open* v = *opened;
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
    std::vector<ChunkId> ids;
    for (const auto& [id, stored] : unnamed) ids.push_back(id);
    if (!ANYFS_TRY(v->file->remove_alone(ids))) continue;  // a transaction open: next time
    for (const auto& [id, stored] : unnamed) {
      removed++;
      bytes += stored;
    }
  }
  return {};
}

Result<std::vector<VolumeInfo>> VolumeChunkStore::volumes() {
  std::vector<VolumeInfo> out;
  for (const Row& row : rows()) {
    VolumeInfo info{row.id, row.uuid, row.path, row.cap_bytes, 0, 0, row.draining, row.drain_to, row.counts, {}};
    info.counts += health_->untaken(row.id);
    if (auto v = volume(row.id)) {
      info.size_bytes = ANYFS_TRY((*v)->file->size_bytes());
    } else {
      info.fault = v.error().message;
      if (v.error().code == Errc::NotFound) info.fault = "missing: " + info.fault;
    }
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
    auto opened = volume(row.id);
    if (!opened) continue;  // faulted: what it holds cannot be counted
    Open* v = *opened;
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
    while (ANYFS_TRY(stmt.step())) batch.push_back(id_from(stmt.column_blob(0)));
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
