#include "pool/maintenance.h"

#include <sys/stat.h>

#include <fmt/format.h>

#include <map>
#include <set>


namespace anyfs {
namespace {

std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}


}  // namespace

Result<PoolStats> pool_stats(PoolCore& core) {
  PoolStats s;
  s.datasets = ANYFS_TRY(core.meta->datasets()).size();
  const PoolUsage u = ANYFS_TRY(core.file->usage());
  s.files = u.files;
  s.logical_bytes = u.logical_bytes;
  s.referenced_bytes = u.referenced_bytes;
  s.history_bytes = u.history_bytes;
  s.snapshots = u.snapshots;
  // The ratios count referenced chunks only: those waiting to be freed hold
  // no file's bytes.
  s.chunks = u.chunks;
  s.chunk_raw_bytes = u.chunk_raw_bytes;
  s.chunk_stored_bytes = u.chunk_stored_bytes;
  s.unreferenced_chunks = u.unreferenced_chunks;
  s.file_bytes = file_size(core.path) + file_size(core.path + "-wal");
  s.free_bytes = ANYFS_TRY(core.meta->free_bytes());
  s.last_tid = core.counters.last_tid();
  return s;
}

Result<VerifyReport> verify_in_snapshot(PoolCore& core, const VerifyOptions& options) REQUIRES(pool_lock);

Result<VerifyReport> verify_pool(PoolCore& core, const VerifyOptions& options) {
  // One snapshot for every check: while it is open no checkpoint moves pages
  // out of the log, so the page scan sees what SQLite sees, beside a writer too.
  ANYFS_TRY(core.begin_snapshot());
  auto report = verify_in_snapshot(core, options);
  core.end_snapshot();
  return report;
}

Result<VerifyReport> verify_in_snapshot(PoolCore& core, const VerifyOptions& options) {
  VerifyReport report;
  auto problem = [&](std::string text) { report.problems.push_back(std::move(text)); };

  // Every page against its checksum first — the newest version of each, in the
  // write-ahead log or the file: the checks below read through SQLite, which
  // would stop at the first damaged page.
  auto pages = ANYFS_TRY(core.file->scan_pages());
  report.page_checksums = pages.checksummed;
  report.pages = pages.pages;
  report.wal_frames = pages.wal_frames;
  for (std::uint32_t page : pages.bad)
    problem(fmt::format("page {} of the pool file fails its checksum (damaged on disk)", page));
  if (pages.broken_frame)
    problem(fmt::format("frame {} of the pool's write-ahead log fails its checksum (damaged on disk): "
                        "the commits from it on would be lost when the log is next recovered",
                        *pages.broken_frame));
  if (!pages.bad.empty() || pages.broken_frame) {
    problem("the record and chunk checks were skipped: they would read the damaged pages");
    return report;
  }

  for (auto& line : ANYFS_TRY(core.file->check_structure())) problem(std::move(line));

  // A clone's entries may name inodes it still shares with its origin, and the
  // names of what it changed may be in directories it shares: its links and
  // reachability are checked through its origin when it is read, not here.
  std::map<DatasetId, std::vector<DatasetLayer>> origins;
  {
    auto all = ANYFS_TRY(core.history->datasets());
    for (const auto& d : all) {
      const DatasetState* at = &d;
      while (at && at->origin && origins[d.id].size() <= all.size()) {
        origins[d.id].push_back({*at->origin, at->origin_tid});
        const DatasetState* next = nullptr;
        for (const auto& o : all)
          if (o.id == *at->origin) next = &o;
        at = next;
      }
    }
  }
  auto is_clone = [&](DatasetId ds) { return origins.contains(ds) && !origins[ds].empty(); };
  std::vector<std::pair<DatasetId, DirentRecord>> shared_children;  // entries naming an inode of the origin

  struct InodeInfo {
    FileKind kind;
    std::uint64_t nlink, size;
    std::uint64_t names = 0, subdirs = 0, entries = 0;
  };
  std::map<std::pair<DatasetId, Ino>, InodeInfo> inodes;
  ANYFS_CHECK(core.meta->for_each_inode([&](DatasetId ds, const InodeRecord& r) -> Result<void> {
    inodes[{ds, r.ino}] = InodeInfo{r.kind, r.nlink, r.size};
    report.inodes++;
    return {};
  }));
  ANYFS_CHECK(core.meta->for_each_dirent([&](DatasetId ds, const DirentRecord& e) -> Result<void> {
    report.dirents++;
    auto parent = inodes.find({ds, e.parent});
    if (parent == inodes.end() || parent->second.kind != FileKind::Directory) {
      problem(fmt::format("dataset {}: entry '{}' is in inode {}, which is not a live directory", ds, e.name,
                          e.parent));
    } else {
      parent->second.entries++;
      if (e.kind == FileKind::Directory) parent->second.subdirs++;
    }
    auto child = inodes.find({ds, e.ino});
    if (child == inodes.end() && is_clone(ds)) {
      shared_children.emplace_back(ds, e);
      return {};
    }
    if (child == inodes.end()) {
      problem(fmt::format("dataset {}: entry '{}' in directory {} names inode {}, which does not exist", ds, e.name,
                          e.parent, e.ino));
      return {};
    }
    child->second.names++;
    if (child->second.kind != e.kind)
      problem(fmt::format("dataset {}: entry '{}' says {} but inode {} is a {}", ds, e.name, file_kind_name(e.kind),
                          e.ino, file_kind_name(child->second.kind)));
    return {};
  }));
  for (const auto& [ds, e] : shared_children) {
    std::optional<InodeRecord> rec;
    for (const auto& layer : origins[ds])
      if (!rec) rec = ANYFS_TRY(core.meta->inode(layer.ds, e.ino, layer.at));
    if (!rec)
      problem(fmt::format("dataset {}: entry '{}' in directory {} names inode {}, which neither it nor its origin has",
                          ds, e.name, e.parent, e.ino));
  }
  for (const auto& [key, info] : inodes) {
    auto [ds, ino] = key;
    if (is_clone(ds) && info.kind != FileKind::Directory) continue;
    if (info.kind == FileKind::Directory) {
      bool root = ino == k_root_ino;
      if (info.nlink == 0 && info.names == 0) continue;  // removed while open
      if (info.names != (root ? 0u : 1u) && !is_clone(ds))
        problem(fmt::format("dataset {}: directory {} has {} names", ds, ino, info.names));
      if (info.nlink != 2 + info.subdirs)
        problem(fmt::format("dataset {}: directory {} has nlink {} but {} subdirectories", ds, ino, info.nlink,
                            info.subdirs));
      if (info.size != info.entries)
        problem(fmt::format("dataset {}: directory {} records {} entries but holds {}", ds, ino, info.size,
                            info.entries));
    } else if (info.nlink != info.names && !(info.nlink == 0 && info.names == 0)) {
      problem(fmt::format("dataset {}: inode {} has nlink {} but {} names", ds, ino, info.nlink, info.names));
    } else if (info.names == 0 && ino != k_root_ino && info.nlink != 0) {
      problem(fmt::format("dataset {}: inode {} is not reachable", ds, ino));
    }
  }

  // Extents and the chunks they name.
  std::map<ChunkId, std::int64_t> refs;
  std::map<ChunkId, std::uint64_t> needed;  // the furthest byte any extent reads
  std::pair<DatasetId, Ino> last{0, 0};
  std::uint64_t last_end = 0;
  ANYFS_CHECK(core.meta->for_each_extent([&](DatasetId ds, const ExtentRecord& e) -> Result<void> {
    report.extents++;
    std::pair<DatasetId, Ino> key{ds, e.ino};
    if (key == last && e.offset < last_end)
      problem(fmt::format("dataset {}: extents of inode {} overlap at offset {}", ds, e.ino, e.offset));
    last = key;
    last_end = e.end();
    auto inode = inodes.find(key);
    if (inode == inodes.end() || inode->second.kind != FileKind::Regular)
      problem(fmt::format("dataset {}: extent at {} belongs to inode {}, which is not a live file", ds, e.offset,
                          e.ino));
    else if (e.end() > inode->second.size)
      problem(fmt::format("dataset {}: extent [{}, {}) of inode {} runs past its size {}", ds, e.offset, e.end(),
                          e.ino, inode->second.size));
    if (e.length == 0) problem(fmt::format("dataset {}: empty extent at {} of inode {}", ds, e.offset, e.ino));
    return {};
  }));

  // Every extent row holds a reference, closed ones (kept for history) too.
  ANYFS_CHECK(core.meta->for_each_extent(
      [&](DatasetId, const ExtentRecord& e) -> Result<void> {
        refs[e.chunk]++;
        needed[e.chunk] = std::max(needed[e.chunk], e.chunk_offset + e.length);
        return {};
      },
      /*closed=*/true));

  // Every state a snapshot names is whole: its entries name its inodes, its
  // extents belong to its files.
  for (const auto& d : ANYFS_TRY(core.history->datasets()))
    for (const auto& snap : ANYFS_TRY(is_clone(d.id) ? Result<std::vector<NamedTid>>()
                                                     : core.history->names(d.id, NameKind::Snapshot)))
      for (auto& p : ANYFS_TRY(core.history->check_state(d.id, snap.tid)))
        problem(fmt::format("dataset {} snapshot {}: {}", d.id, snap.name, p));

  auto stored = ANYFS_TRY(core.chunks->list());
  std::set<ChunkId> stored_set(stored.begin(), stored.end());
  report.chunks = stored.size();
  for (const auto& r : ANYFS_TRY(core.meta->all_refs())) {
    std::int64_t expected = refs.contains(r.chunk) ? refs[r.chunk] : 0;
    if (r.refs != expected)
      problem(fmt::format("chunk {}: reference count {} but {} extent rows name it", to_hex(r.chunk), r.refs,
                        expected));
    refs.erase(r.chunk);
    if (r.refs > 0 && !stored_set.contains(r.chunk))
      problem(fmt::format("chunk {}: referenced but missing", to_hex(r.chunk)));
  }
  for (const auto& [chunk, n] : refs)
    problem(fmt::format("chunk {}: {} extents name it but it has no reference count", to_hex(chunk), n));

  if (options.read_chunks) {
    for (const auto& id : stored) {
      auto data = load_chunk(*core.chunks, id, true);
      if (!data) {
        problem(data.error().path + ": " + data.error().message);
        continue;
      }
      report.chunk_bytes_read += data->size();
      auto need = needed.find(id);
      if (need != needed.end() && need->second > data->size())
        problem(fmt::format("chunk {}: extents read up to byte {} of a {}-byte chunk", to_hex(id), need->second,
                            data->size()));
    }
  }
  return report;
}

Result<GcReport> gc_pool(PoolCore& core, const GcOptions& options) {
  GcReport report;
  ANYFS_CHECK(core.meta->begin());
  std::int64_t before = wall_clock_ns() - options.grace_seconds * 1'000'000'000;
  std::set<ChunkId> known;
  std::uint64_t waiting = 0;
  for (const auto& r : ANYFS_TRY(core.meta->all_refs())) {
    known.insert(r.chunk);
    if (r.refs <= 0 && r.zero_since_ns >= before) waiting++;
  }
  for (const auto& id : ANYFS_TRY(core.meta->unreferenced(before))) {
    auto chunk = core.chunks->get(id);
    if (chunk) report.bytes_freed += chunk->stored.size();
    auto removed = core.chunks->remove(id);
    if (!removed && removed.error().code != Errc::NotFound) return std::unexpected(removed.error());
    ANYFS_CHECK(core.meta->forget_chunk(id));
    core.chunk_cache.erase(id);
    report.chunks_removed++;
  }
  // Orphans: stored chunks that no reference row knows (a crash between storing a
  // chunk and committing the rows that name it, on pools where those are apart).
  for (const auto& id : ANYFS_TRY(core.chunks->list())) {
    if (known.contains(id)) continue;
    auto chunk = core.chunks->get(id);
    if (chunk) report.bytes_freed += chunk->stored.size();
    ANYFS_CHECK(core.chunks->remove(id));
    report.orphans_removed++;
  }
  report.chunks_waiting = waiting;
  ANYFS_CHECK(core.meta->commit());
  return report;
}

Result<CompactReport> compact_pool(PoolCore& core) {
  CompactReport report;
  report.bytes_before = file_size(core.path) + file_size(core.path + "-wal");
  core.chunks->release_handles();
  // A pool made before page checksums gets room for them in the rewrite.
  report.page_checksums_added = !ANYFS_TRY(core.file->has_page_checksums());
  ANYFS_CHECK(core.file->rewrite(report.page_checksums_added));
  // The setting that lets open tell a damaged header from a pool without
  // checksums; written after the rewrite (before it, a crash would leave a pool
  // whose setting and header disagree), and again if a crash came between.
  if (ANYFS_TRY(core.file->has_page_checksums()) && !ANYFS_TRY(core.meta->setting("page_checksums"))) {
    ANYFS_CHECK(core.meta->begin());
    ANYFS_CHECK(core.meta->set_setting("page_checksums", "xxh3-64"));
    ANYFS_CHECK(core.meta->commit());
    ANYFS_CHECK(core.file->checkpoint());
  } else if (report.page_checksums_added && !ANYFS_TRY(core.file->has_page_checksums())) {
    return fail(Errc::Io, core.path, "the rewrite did not add page checksums");
  }
  report.bytes_after = file_size(core.path) + file_size(core.path + "-wal");
  return report;
}

}  // namespace anyfs
