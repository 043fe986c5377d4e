#include "pool/history.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "pool/location.h"
#include "pool/state_reader.h"

namespace anyfs {
namespace {

Result<std::vector<Tid>> snapshot_tids(PoolCore& core, DatasetId ds) REQUIRES(pool_lock) {
  std::vector<Tid> out;
  for (const auto& s : ANYFS_TRY(core.history->names(ds, NameKind::Snapshot))) out.push_back(s.tid);
  std::sort(out.begin(), out.end());
  return out;
}

// Whether the state at the end of a transaction group, `boundary`, can be read.
Result<bool> readable(PoolCore& core, const DatasetState& ds, Tid boundary) REQUIRES(pool_lock) {
  if (ds.history_from && boundary >= *ds.history_from) return true;
  auto tids = ANYFS_TRY(snapshot_tids(core, ds.id));
  return std::binary_search(tids.begin(), tids.end(), boundary);
}

Result<Error> not_kept(PoolCore& core, const DatasetState& ds, Tid boundary) REQUIRES(pool_lock) {
  std::string what = fmt::format("the state of dataset {} at TID {} is no longer kept: ", show_dataset(ds.name), boundary);
  if (ds.history_from)
    what += fmt::format("its history starts at TID {}; older states are readable only through snapshots",
                        *ds.history_from);
  else
    what += "it keeps no history (history=off), only snapshots; set history=DURATION or all to keep more";
  auto tids = ANYFS_TRY(snapshot_tids(core, ds.id));
  if (!tids.empty()) what += fmt::format(" (anyfs snapshots lists {})", tids.size());
  return Error{Errc::NoData, "", what};
}

bool attributes_differ(const InodeRecord& a, const InodeRecord& b) {
  return a.mode != b.mode || a.uid != b.uid || a.gid != b.gid || a.kind != b.kind || a.target != b.target ||
         a.rdev != b.rdev;
}

}  // namespace

const char* to_string(DiffEntry::Change change) {
  switch (change) {
    case DiffEntry::Change::Added: return "added";
    case DiffEntry::Change::Removed: return "removed";
    case DiffEntry::Change::Modified: return "modified";
    case DiffEntry::Change::Renamed: return "renamed";
  }
  return "?";
}

Result<Tid> resolve_as_of(PoolCore& core, const DatasetState& ds, const AsOf& at) {
  if (at.snapshot) {
    auto snap = ANYFS_TRY(core.history->name(ds.id, *at.snapshot, NameKind::Snapshot));
    if (!snap)
      return fail(Errc::NotFound, *at.snapshot, fmt::format("dataset {} has no snapshot of this name", show_dataset(ds.name)));
    return snap->tid;
  }
  Tid boundary = 0;
  if (at.tid) {
    if (*at.tid > core.counters.committed_tid())
      return fail(Errc::InvalidArgument, std::to_string(*at.tid),
                  fmt::format("TID {} is not committed yet (the last committed TID is {})", *at.tid,
                              core.counters.committed_tid()));
    auto snaps = ANYFS_TRY(snapshot_tids(core, ds.id));
    if (std::binary_search(snaps.begin(), snaps.end(), *at.tid)) return *at.tid;
    // Group boundaries older than the history are forgotten: a TID there would
    // map to a later state.
    if (!ds.history_from || *at.tid < *ds.history_from)
      return std::unexpected(ANYFS_TRY(not_kept(core, ds, *at.tid)));
    auto found = ANYFS_TRY(core.history->txg_containing(*at.tid));
    boundary = found.value_or(core.counters.committed_tid());
  } else if (at.time_ns) {
    auto found = ANYFS_TRY(core.history->txg_at_time(*at.time_ns));
    if (!found) {
      // Boundaries older than any history are forgotten; a snapshot may still be that old.
      Tid best = 0;
      for (const auto& s : ANYFS_TRY(core.history->names(ds.id, NameKind::Snapshot)))
        if (s.time_ns <= *at.time_ns) best = s.tid;
      if (best == 0)
        return fail(Errc::NotFound, "", fmt::format("no state of dataset {} was committed that early", show_dataset(ds.name)));
      return best;
    }
    boundary = *found;
  } else {
    return fail(Errc::InvalidArgument, "", "a point in time needs a TID, a time or a snapshot");
  }
  if (boundary < ds.created_tid)
    return fail(Errc::NotFound, "",
                fmt::format("dataset {} did not exist yet at TID {} (created at TID {})", show_dataset(ds.name), boundary,
                            ds.created_tid));
  if (!ANYFS_TRY(readable(core, ds, boundary))) return std::unexpected(ANYFS_TRY(not_kept(core, ds, boundary)));
  return boundary;
}

Result<Tid> keep_to(PoolCore& core, DatasetId ds, const DatasetSettings& settings) {
  if (settings.history != DatasetSettings::History::Off) return core.counters.committed_tid();
  auto tids = ANYFS_TRY(snapshot_tids(core, ds));
  return tids.empty() ? Tid{0} : std::min(tids.back(), core.counters.committed_tid());
}

Result<void> refresh_pin(PoolCore& core, DatasetId ds, const DatasetSettings& settings) {
  if (settings.history != DatasetSettings::History::Off) {
    core.meta->set_pin(ds, k_tid_live);
    return {};
  }
  auto tids = ANYFS_TRY(snapshot_tids(core, ds));
  core.meta->set_pin(ds, tids.empty() ? 0 : tids.back());
  return {};
}

Result<std::vector<SnapshotInfo>> list_snapshots(PoolCore& core, const DatasetState& ds) {
  auto snaps = ANYFS_TRY(core.history->names(ds.id, NameKind::Snapshot));
  std::vector<SnapshotInfo> out;
  for (std::size_t i = 0; i < snaps.size(); ++i) {
    Tid prev = i == 0 ? 0 : snaps[i - 1].tid;
    Tid next = i + 1 < snaps.size() ? snaps[i + 1].tid : k_tid_live;
    SnapshotInfo info{ds.name, snaps[i].name, snaps[i].tid, snaps[i].time_ns, 0, snaps[i].guid};
    info.unique_bytes = ANYFS_TRY(core.history->unique_bytes(ds.id, prev, snaps[i].tid, next));
    out.push_back(std::move(info));
  }
  return out;
}

Result<PruneStep> prune_step(PoolCore& core, const DatasetState& ds, const DatasetSettings& settings,
                             std::size_t limit, PruneCursor& cursor) {
  Tid window_to = 0;
  switch (settings.history) {
    case DatasetSettings::History::All:
      cursor = {1 << 20, 0};
      return PruneStep{};
    case DatasetSettings::History::Off:
      window_to = k_tid_live - 1;
      break;
    case DatasetSettings::History::Window: {
      auto cutoff = wall_clock_ns() - std::chrono::nanoseconds(settings.history_window).count();
      window_to = ANYFS_TRY(core.history->txg_at_time(cutoff)).value_or(0);
      // States older than the window stop being readable before their rows go.
      if (window_to > ds.history_from.value_or(0)) ANYFS_CHECK(core.history->set_history_from(ds.id, window_to));
      break;
    }
  }
  // Recomputed at every step: a snapshot taken since pins what it sees.
  auto pinned = ANYFS_TRY(snapshot_tids(core, ds.id));
  return core.history->prune(ds.id, window_to, pinned, limit, cursor);
}

Result<void> forget_old_txgs(PoolCore& core) {
  Tid keep_from = core.counters.committed_tid();
  for (const auto& d : ANYFS_TRY(core.history->datasets()))
    if (d.history_from) keep_from = std::min(keep_from, *d.history_from);
  return core.history->forget_txgs_before(keep_from);
}

Result<std::vector<DiffEntry>> diff_states(PoolCore& core, DatasetId ds, Tid from, Tid to,
                                           const std::vector<DatasetLayer>& origins) {
  Tid lo = std::min(from, to), hi = std::max(from, to);
  StateReader old_state(core, ds, from, origins), new_state(core, ds, to, origins);
  std::vector<DiffEntry> out;
  for (Ino ino : ANYFS_TRY(core.history->changed_inodes(ds, lo, hi))) {
    auto before = ANYFS_TRY(old_state.inode(ino));
    auto after = ANYFS_TRY(new_state.inode(ino));
    if (!before && !after) continue;  // born and gone in between
    std::string old_path = before ? ANYFS_TRY(old_state.path(ino)) : std::string();
    std::string new_path = after ? ANYFS_TRY(new_state.path(ino)) : std::string();
    if (old_path.empty() && new_path.empty()) continue;
    if (old_path.empty()) {
      out.push_back({DiffEntry::Change::Added, after->kind, new_path, {}});
      continue;
    }
    if (new_path.empty()) {
      out.push_back({DiffEntry::Change::Removed, before->kind, old_path, {}});
      continue;
    }
    if (old_path != new_path) out.push_back({DiffEntry::Change::Renamed, after->kind, new_path, old_path});
    bool modified = attributes_differ(*before, *after);
    if (after->kind != FileKind::Directory)
      modified = modified || before->size != after->size || before->mtime_ns != after->mtime_ns;
    if (!modified) {
      // Rows written again with the same content (a clone taking over a file it
      // shares) are no change.
      auto a = ANYFS_TRY(old_state.content(ino));
      auto b = ANYFS_TRY(new_state.content(ino));
      modified = a.second != b.second || (after->kind != FileKind::Directory && !same_extents(a.first, b.first));
    }
    if (modified) out.push_back({DiffEntry::Change::Modified, after->kind, new_path, {}});
  }
  // By path; at one path a rename shows before the change of content.
  auto rank = [](DiffEntry::Change c) { return c == DiffEntry::Change::Renamed ? 0 : 1 + static_cast<int>(c); };
  std::sort(out.begin(), out.end(), [&](const DiffEntry& a, const DiffEntry& b) {
    return std::pair(std::string_view(a.path), rank(a.change)) < std::pair(std::string_view(b.path), rank(b.change));
  });
  return out;
}

Result<std::vector<FileVersion>> file_versions(PoolCore& core, const DatasetState& ds, Ino ino) {
  auto snaps = ANYFS_TRY(core.history->names(ds.id, NameKind::Snapshot));
  std::vector<FileVersion> out;
  for (const auto& v : ANYFS_TRY(core.history->inode_versions(ds.id, ino))) {
    FileVersion f;
    f.kind = v.record.kind;
    f.size = v.record.size;
    f.mtime_ns = v.record.mtime_ns;
    f.mode = v.record.mode;
    f.until_tid = v.tid_to == k_tid_live ? 0 : v.tid_to;
    // The first state that shows this version and can still be read.
    Tid boundary = ANYFS_TRY(core.history->txg_containing(v.record.tid_from)).value_or(v.record.tid_from);
    f.tid = boundary;
    if (!(ds.history_from && boundary >= *ds.history_from) && v.tid_to != k_tid_live) {
      for (const auto& s : snaps)
        if (s.tid >= v.record.tid_from && s.tid < v.tid_to) {
          f.tid = s.tid;
          f.time_ns = s.time_ns;
          break;
        }
    }
    if (f.time_ns == 0) f.time_ns = ANYFS_TRY(core.history->txg_time(f.tid)).value_or(0);
    out.push_back(f);
  }
  return out;
}

}  // namespace anyfs
