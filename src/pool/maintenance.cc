#include "pool/maintenance.h"

#include <sys/stat.h>

#include <fmt/format.h>

#include <algorithm>
#include <vector>

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
  for (const VolumeInfo& v : ANYFS_TRY(core.file->volume_set().volumes())) s.file_bytes += file_size(v.path) + file_size(v.path + "-wal");
  s.free_bytes = ANYFS_TRY(core.meta->free_bytes());
  s.last_tid = core.counters.last_tid();
  const ChunkCache::Stats cache = core.chunk_cache.stats();
  s.cache_capacity = cache.capacity;
  s.cache_bytes = cache.bytes;
  s.cache_hits = cache.hits;
  s.cache_misses = cache.misses;
  return s;
}

Result<GcReport> gc_pool(PoolCore& core, const GcOptions& options) {
  GcReport report;
  ANYFS_CHECK(core.meta->begin());
  std::int64_t before = wall_clock_ns() - options.grace_seconds * 1'000'000'000;
  std::vector<ChunkId> known;  // sorted: the store streams them in order
  std::uint64_t waiting = 0;
  ANYFS_CHECK(core.meta->for_each_ref([&](const ChunkRef& r) -> Result<void> {
    known.push_back(r.chunk);
    if (r.refs <= 0 && r.zero_since_ns >= before) waiting++;
    return {};
  }));
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
    if (std::binary_search(known.begin(), known.end(), id)) continue;
    auto chunk = core.chunks->get(id);
    if (chunk) report.bytes_freed += chunk->stored.size();
    ANYFS_CHECK(core.chunks->remove(id));
    report.orphans_removed++;
  }
  report.chunks_waiting = waiting;
  ANYFS_CHECK(core.meta->commit());
  // The chunks removed above leave their volumes now that the removal is committed.
  core.chunks->committed();
  ANYFS_CHECK(core.chunks->sweep_unnamed(report.orphans_removed, report.bytes_freed));
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
