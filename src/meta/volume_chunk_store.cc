#include "meta/volume_chunk_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <unordered_set>

#include "meta/sqlite_rows.h"

namespace anyfs {
using sqlrows::id_bytes;

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
    for (const std::int64_t vid : bad) {
      if (repair_copy(id, vid, *good)) check.repaired++;
      else if (auto v = volume(vid)) check.unrepaired.push_back((*v)->file->path());
    }
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
    while (ANYFS_TRY(stmt.step())) out.push_back(ANYFS_TRY(sqlrows::id_from(stmt.column_blob(0))));
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
    const Doomed d = doomed_.front();
    doomed_.pop_front();
    // Stored again since (the same bytes written anew): the records name this copy once more.
    auto where = copies(d.id);
    if (!where || std::find(where->begin(), where->end(), d.volume) != where->end()) continue;
    by_volume[d.volume].push_back(d.id);
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
    while (ANYFS_TRY(stmt.step())) named.push_back(ANYFS_TRY(sqlrows::id_from(stmt.column_blob(0))));
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

}  // namespace anyfs
