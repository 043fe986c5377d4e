// verify (fsck): one checker per invariant over what the stores stream, with
// memory bounded by compact sorted tables rather than a node per record —
// about 48 bytes per live inode and per extent row, 32 per stored chunk, so a
// pool of a million files verifies in about 150 MiB (docs/PERFORMANCE.md).
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "chunk/chunk_store.h"
#include "pool/maintenance.h"

namespace anyfs {
namespace {

using Problems = std::vector<std::string>;

// Where a clone reads what it has not changed: its origins, nearest first.
using Origins = std::map<DatasetId, std::vector<DatasetLayer>>;

// The live inodes of every dataset, sorted by (dataset, inode) as the store
// streams them, with the counts the entry pass gathers.
class InodeTable {
 public:
  struct Row {
    DatasetId ds;
    Ino ino;
    std::uint64_t size;
    std::uint32_t nlink;
    std::uint32_t names = 0;    // entries naming it
    std::uint32_t subdirs = 0;  // (a directory) entries in it that are directories
    std::uint32_t entries = 0;  // (a directory) entries in it
    FileKind kind;
  };

  Result<void> load(MetaStore& meta) {
    bool sorted = true;
    ANYFS_CHECK(meta.for_each_inode([&](DatasetId ds, const InodeRecord& r) -> Result<void> {
      if (!rows_.empty() && !before(rows_.back(), ds, r.ino)) sorted = false;
      rows_.push_back({ds, r.ino, r.size, static_cast<std::uint32_t>(r.nlink), 0, 0, 0, r.kind});
      return {};
    }));
    if (!sorted) std::sort(rows_.begin(), rows_.end(), [](const Row& a, const Row& b) { return before(a, b.ds, b.ino); });
    rows_.shrink_to_fit();
    return {};
  }

  Row* find(DatasetId ds, Ino ino) {
    auto it = std::lower_bound(rows_.begin(), rows_.end(), std::pair{ds, ino},
                               [](const Row& r, const std::pair<DatasetId, Ino>& k) { return before(r, k.first, k.second); });
    return it != rows_.end() && it->ds == ds && it->ino == ino ? &*it : nullptr;
  }
  const std::vector<Row>& rows() const { return rows_; }

 private:
  static bool before(const Row& r, DatasetId ds, Ino ino) { return r.ds != ds ? r.ds < ds : r.ino < ino; }
  std::vector<Row> rows_;
};

// What the extent rows (closed ones too) ask of each chunk: how many name it
// (its reference count must equal that) and the furthest byte they read.
class ChunkUse {
 public:
  struct Row {
    ChunkId chunk;
    std::uint32_t rows;
    std::uint64_t end;
  };

  Result<void> load(MetaStore& meta) {
    // One row per extent first, then sorted and folded per chunk in place.
    ANYFS_CHECK(meta.for_each_extent(
        [&](DatasetId, const ExtentRecord& e) -> Result<void> {
          rows_.push_back({e.chunk, 1, e.chunk_offset + e.length});
          return {};
        },
        /*closed=*/true));
    std::sort(rows_.begin(), rows_.end(), [](const Row& a, const Row& b) { return a.chunk < b.chunk; });
    std::size_t out = 0;
    for (std::size_t i = 0; i < rows_.size(); ++i) {
      if (out > 0 && rows_[out - 1].chunk == rows_[i].chunk) {
        rows_[out - 1].rows++;
        rows_[out - 1].end = std::max(rows_[out - 1].end, rows_[i].end);
      } else {
        rows_[out++] = rows_[i];
      }
    }
    rows_.resize(out);
    rows_.shrink_to_fit();
    return {};
  }

  const Row* find(const ChunkId& id) const {
    auto it = std::lower_bound(rows_.begin(), rows_.end(), id, [](const Row& r, const ChunkId& k) { return r.chunk < k; });
    return it != rows_.end() && it->chunk == id ? &*it : nullptr;
  }
  const std::vector<Row>& rows() const { return rows_; }

 private:
  std::vector<Row> rows_;
};

// Every page against its checksum — the newest version of each, in the
// write-ahead log or the file. False when pages are damaged: the checks after
// read through SQLite, which would stop at the first damaged page.
Result<bool> check_pages(PoolCore& core, VerifyReport& report) REQUIRES(pool_lock) {
  auto pages = ANYFS_TRY(core.file->scan_pages());
  report.page_checksums = pages.checksummed;
  report.pages = pages.pages;
  report.wal_frames = pages.wal_frames;
  for (std::uint32_t page : pages.bad)
    report.problems.push_back(fmt::format("page {} of the pool file fails its checksum (damaged on disk)", page));
  if (pages.broken_frame)
    report.problems.push_back(fmt::format(
        "frame {} of the pool's write-ahead log fails its checksum (damaged on disk): "
        "the commits from it on would be lost when the log is next recovered",
        *pages.broken_frame));
  if (!pages.bad.empty() || pages.broken_frame) {
    report.problems.push_back("the record and chunk checks were skipped: they would read the damaged pages");
    return false;
  }
  return true;
}

Result<Origins> origins_of_clones(PoolCore& core) REQUIRES(pool_lock) {
  Origins origins;
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
  return origins;
}

bool is_clone(const Origins& origins, DatasetId ds) {
  auto it = origins.find(ds);
  return it != origins.end() && !it->second.empty();
}

// Every entry is in a live directory and names a live inode of its kind (a
// clone's, or one it still shares with its origin). Counts names, entries and
// subdirectories into the table for check_links.
Result<void> check_entries(PoolCore& core, InodeTable& inodes, const Origins& origins, VerifyReport& report)
    REQUIRES(pool_lock) {
  auto& problems = report.problems;
  std::vector<std::pair<DatasetId, DirentRecord>> shared;  // entries naming an inode of the origin
  ANYFS_CHECK(core.meta->for_each_dirent([&](DatasetId ds, const DirentRecord& e) -> Result<void> {
    report.dirents++;
    auto* parent = inodes.find(ds, e.parent);
    if (parent == nullptr || parent->kind != FileKind::Directory) {
      problems.push_back(fmt::format("dataset {}: entry '{}' is in inode {}, which is not a live directory", ds,
                                     e.name, e.parent));
    } else {
      parent->entries++;
      if (e.kind == FileKind::Directory) parent->subdirs++;
    }
    auto* child = inodes.find(ds, e.ino);
    if (child == nullptr && is_clone(origins, ds)) {
      shared.emplace_back(ds, e);
      return {};
    }
    if (child == nullptr) {
      problems.push_back(fmt::format("dataset {}: entry '{}' in directory {} names inode {}, which does not exist",
                                     ds, e.name, e.parent, e.ino));
      return {};
    }
    child->names++;
    if (child->kind != e.kind)
      problems.push_back(fmt::format("dataset {}: entry '{}' says {} but inode {} is a {}", ds, e.name,
                                     file_kind_name(e.kind), e.ino, file_kind_name(child->kind)));
    return {};
  }));
  for (const auto& [ds, e] : shared) {
    std::optional<InodeRecord> rec;
    for (const auto& layer : origins.at(ds))
      if (!rec) rec = ANYFS_TRY(core.meta->inode(layer.ds, e.ino, layer.at));
    if (!rec)
      problems.push_back(fmt::format(
          "dataset {}: entry '{}' in directory {} names inode {}, which neither it nor its origin has", ds, e.name,
          e.parent, e.ino));
  }
  return {};
}

// Link counts match the names (so every linked inode is named), directory
// sizes the entries. A clone's names may be in directories it shares:
// its files' links are checked through its origin when it is read, not here.
void check_links(const InodeTable& inodes, const Origins& origins, Problems& problems) {
  for (const auto& r : inodes.rows()) {
    const bool clone = is_clone(origins, r.ds);
    if (clone && r.kind != FileKind::Directory) continue;
    if (r.kind == FileKind::Directory) {
      const bool root = r.ino == k_root_ino;
      if (r.nlink == 0 && r.names == 0) continue;  // removed while open
      if (r.names != (root ? 0u : 1u) && !clone)
        problems.push_back(fmt::format("dataset {}: directory {} has {} names", r.ds, r.ino, r.names));
      if (r.nlink != 2 + r.subdirs)
        problems.push_back(fmt::format("dataset {}: directory {} has nlink {} but {} subdirectories", r.ds, r.ino,
                                       r.nlink, r.subdirs));
      if (r.size != r.entries)
        problems.push_back(fmt::format("dataset {}: directory {} records {} entries but holds {}", r.ds, r.ino,
                                       r.size, r.entries));
    } else if (r.nlink != r.names) {
      // A file no entry names (nlink 0, names 0) is one unlinked while open.
      problems.push_back(fmt::format("dataset {}: inode {} has nlink {} but {} names", r.ds, r.ino, r.nlink, r.names));
    }
  }
}

// Live extents lie inside a live file, are not empty, and do not overlap
// (the store streams them by dataset, inode and offset).
Result<void> check_extents(PoolCore& core, InodeTable& inodes, VerifyReport& report) REQUIRES(pool_lock) {
  auto& problems = report.problems;
  std::pair<DatasetId, Ino> last{0, 0};
  std::uint64_t last_end = 0;
  const InodeTable::Row* file = nullptr;
  return core.meta->for_each_extent([&](DatasetId ds, const ExtentRecord& e) -> Result<void> {
    report.extents++;
    const std::pair<DatasetId, Ino> key{ds, e.ino};
    if (key == last && e.offset < last_end)
      problems.push_back(fmt::format("dataset {}: extents of inode {} overlap at offset {}", ds, e.ino, e.offset));
    if (key != last || file == nullptr) file = inodes.find(ds, e.ino);
    last = key;
    last_end = e.end();
    if (file == nullptr || file->kind != FileKind::Regular)
      problems.push_back(fmt::format("dataset {}: extent at {} belongs to inode {}, which is not a live file", ds,
                                     e.offset, e.ino));
    else if (e.end() > file->size)
      problems.push_back(fmt::format("dataset {}: extent [{}, {}) of inode {} runs past its size {}", ds, e.offset,
                                     e.end(), e.ino, file->size));
    if (e.length == 0) problems.push_back(fmt::format("dataset {}: empty extent at {} of inode {}", ds, e.offset, e.ino));
    return {};
  });
}

// Every state a snapshot names is whole: its entries name its inodes, its
// extents belong to its files.
Result<void> check_snapshots(PoolCore& core, const Origins& origins, Problems& problems) REQUIRES(pool_lock) {
  for (const auto& d : ANYFS_TRY(core.history->datasets())) {
    if (is_clone(origins, d.id)) continue;
    for (const auto& snap : ANYFS_TRY(core.history->names(d.id, NameKind::Snapshot)))
      for (auto& p : ANYFS_TRY(core.history->check_state(d.id, snap.tid)))
        problems.push_back(fmt::format("dataset {} snapshot {}: {}", d.id, snap.name, p));
  }
  return {};
}

// Each chunk's reference count equals the extent rows naming it (closed ones,
// kept for history, hold references too), and a referenced chunk is stored.
// `stored` is sorted.
Result<void> check_references(PoolCore& core, const ChunkUse& use, const std::vector<ChunkId>& stored,
                              Problems& problems) REQUIRES(pool_lock) {
  // Both sides come sorted by chunk: one merge pass.
  const auto& wanted = use.rows();
  std::size_t next = 0;
  // The named chunks before `upto` (all that are left, for nullptr) have no count.
  auto unnamed = [&](const ChunkId* upto) {
    for (; next < wanted.size() && (upto == nullptr || wanted[next].chunk < *upto); ++next)
      problems.push_back(fmt::format("chunk {}: {} extents name it but it has no reference count",
                                     to_hex(wanted[next].chunk), wanted[next].rows));
  };
  ANYFS_CHECK(core.meta->for_each_ref([&](const ChunkRef& r) -> Result<void> {
    unnamed(&r.chunk);
    std::int64_t expected = 0;
    if (next < wanted.size() && wanted[next].chunk == r.chunk) expected = wanted[next++].rows;
    if (r.refs != expected)
      problems.push_back(fmt::format("chunk {}: reference count {} but {} extent rows name it", to_hex(r.chunk),
                                     r.refs, expected));
    if (r.refs > 0 && !std::binary_search(stored.begin(), stored.end(), r.chunk))
      problems.push_back(fmt::format("chunk {}: referenced but missing", to_hex(r.chunk)));
    return {};
  }));
  unnamed(nullptr);
  return {};
}

// Every stored chunk reads back whole: both checksums, and as long as the
// extents naming it need.
Result<void> check_chunk_contents(PoolCore& core, const ChunkUse& use, const std::vector<ChunkId>& stored,
                                  VerifyReport& report) REQUIRES(pool_lock) {
  for (const auto& id : stored) {
    auto data = load_chunk(*core.chunks, id, true);
    if (!data) {
      report.problems.push_back(data.error().path + ": " + data.error().message);
      continue;
    }
    report.chunk_bytes_read += data->size();
    if (const auto* need = use.find(id); need != nullptr && need->end > data->size())
      report.problems.push_back(fmt::format("chunk {}: extents read up to byte {} of a {}-byte chunk", to_hex(id),
                                            need->end, data->size()));
  }
  return {};
}

Result<VerifyReport> verify_in_snapshot(PoolCore& core, const VerifyOptions& options) REQUIRES(pool_lock) {
  VerifyReport report;
  if (!ANYFS_TRY(check_pages(core, report))) return report;
  for (auto& line : ANYFS_TRY(core.file->check_structure())) report.problems.push_back(std::move(line));

  const Origins origins = ANYFS_TRY(origins_of_clones(core));
  {
    InodeTable inodes;
    ANYFS_CHECK(inodes.load(*core.meta));
    report.inodes = inodes.rows().size();
    ANYFS_CHECK(check_entries(core, inodes, origins, report));
    check_links(inodes, origins, report.problems);
    ANYFS_CHECK(check_extents(core, inodes, report));
  }  // the inode table goes before the chunk tables come
  ANYFS_CHECK(check_snapshots(core, origins, report.problems));

  ChunkUse use;
  ANYFS_CHECK(use.load(*core.meta));
  auto stored = ANYFS_TRY(core.chunks->list());
  std::sort(stored.begin(), stored.end());
  report.chunks = stored.size();
  ANYFS_CHECK(check_references(core, use, stored, report.problems));
  if (options.read_chunks) ANYFS_CHECK(check_chunk_contents(core, use, stored, report));
  return report;
}

}  // namespace

Result<VerifyReport> verify_pool(PoolCore& core, const VerifyOptions& options) {
  // One snapshot for every check: while it is open no checkpoint moves pages
  // out of the log, so the page scan sees what SQLite sees, beside a writer too.
  ANYFS_TRY(core.begin_snapshot());
  auto report = verify_in_snapshot(core, options);
  core.end_snapshot();
  return report;
}

}  // namespace anyfs
