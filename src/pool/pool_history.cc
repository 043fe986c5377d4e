// PoolImpl: views of the past, snapshots, bookmarks, rollback, diff, file
// versions, the transaction log and prune (docs/SEMANTICS.md, "History").
#include <fmt/format.h>

#include <algorithm>

#include "pool/dataset.h"
#include "pool/history.h"
#include "pool/location.h"
#include "pool/pool_impl.h"
#include "util/uuid.h"

namespace anyfs {
namespace {

// Whether an operation's detail ("/a", "/a -> /b") names `path` or a path below it.
bool names_path(std::string_view detail, std::string_view path) {
  if (path.empty() || path == "/") return true;
  auto matches = [&](std::string_view p) {
    return p == path || (p.size() > path.size() && p.starts_with(path) && p[path.size()] == '/');
  };
  auto arrow = detail.find(" -> ");
  if (arrow == std::string_view::npos) return matches(detail);
  return matches(detail.substr(0, arrow)) || matches(detail.substr(arrow + 4));
}

}  // namespace

Result<std::shared_ptr<Dataset>> PoolImpl::dataset_at(std::string_view name, const AsOf& at) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(core_->begin_read());
  auto state = ANYFS_TRY(dataset_state(name));
  Tid tid = ANYFS_TRY(resolve_as_of(*core_, state, at));
  auto settings = ANYFS_TRY(settings_of(name));
  std::string label = at.snapshot ? fmt::format("{}@{}", name, *at.snapshot) : fmt::format("{}@tid:{}", name, tid);
  return open_dataset(core_, state.id, label, settings, tid, ANYFS_TRY(origins_of(state)));
}

Result<std::uint64_t> PoolImpl::committed_tid() {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(core_->begin_read());
  return core_->counters.committed_tid();
}

// --- Snapshots ---------------------------------------------------------------------

Result<SnapshotInfo> PoolImpl::snapshot(std::string_view dataset, std::string_view name) {
  ANYFS_CHECK(check_snapshot_name(name));
  PoolLock lock(core_->mu);
  ANYFS_CHECK(check_writable("taking a snapshot"));
  auto state = ANYFS_TRY(dataset_state(dataset));
  if (ANYFS_TRY(core_->history->name(state.id, name, NameKind::Snapshot)))
    return fail(Errc::Exists, fmt::format("{}@{}", dataset, name), "a snapshot of this name exists");
  // The snapshot's operation is the last of its transaction group, so its TID
  // is where the group ends: the snapshot sees everything before it.
  Tid tid = ANYFS_TRY(core_->begin_op(state.id, "snapshot", fmt::format("@{}", name)));
  NamedTid entry{state.id, std::string(name), tid, wall_clock_ns(), random_guid()};
  ANYFS_CHECK(core_->end_op(core_->history->put_name(entry, NameKind::Snapshot)));
  ANYFS_CHECK(core_->commit());
  ANYFS_CHECK(refresh_pin(*core_, state.id, ANYFS_TRY(settings_of(dataset))));
  return SnapshotInfo{std::string(dataset), entry.name, entry.tid, entry.time_ns, 0, entry.guid};
}

Result<std::vector<SnapshotInfo>> PoolImpl::snapshots(std::string_view dataset) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(core_->begin_read());
  if (!core_->read_only) ANYFS_CHECK(core_->commit());
  return list_snapshots(*core_, ANYFS_TRY(dataset_state(dataset)));
}

Result<void> PoolImpl::destroy_snapshot(std::string_view dataset, std::string_view name) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(check_writable("destroying a snapshot"));
  auto state = ANYFS_TRY(dataset_state(dataset));
  auto snap = ANYFS_TRY(core_->history->name(state.id, name, NameKind::Snapshot));
  if (!snap) return fail(Errc::NotFound, fmt::format("{}@{}", dataset, name), "no such snapshot");
  for (const auto& d : ANYFS_TRY(core_->history->datasets()))
    if (d.origin && *d.origin == state.id && d.origin_tid == snap->tid)
      return fail(Errc::Busy, fmt::format("{}@{}", dataset, name),
                  fmt::format("clone {} depends on it; destroy or promote the clone first", d.name));
  ANYFS_TRY(core_->begin_op(state.id, "destroy", fmt::format("@{}", name)));
  ANYFS_CHECK(core_->end_op(core_->history->drop_name(state.id, name, NameKind::Snapshot)));
  ANYFS_CHECK(core_->end_op(refresh_pin(*core_, state.id, ANYFS_TRY(settings_of(dataset)))));
  ANYFS_CHECK(core_->commit());
  // What only it held goes in the background (commit_timer), a step at a time.
  prune_wanted_ = true;
  core_->mu.notify_all(core_->txg_cv);
  return {};
}

Result<void> PoolImpl::rename_snapshot(std::string_view dataset, std::string_view from, std::string_view to) {
  ANYFS_CHECK(check_snapshot_name(to));
  PoolLock lock(core_->mu);
  ANYFS_CHECK(check_writable("renaming a snapshot"));
  auto state = ANYFS_TRY(dataset_state(dataset));
  if (!ANYFS_TRY(core_->history->name(state.id, from, NameKind::Snapshot)))
    return fail(Errc::NotFound, fmt::format("{}@{}", dataset, from), "no such snapshot");
  if (ANYFS_TRY(core_->history->name(state.id, to, NameKind::Snapshot)))
    return fail(Errc::Exists, fmt::format("{}@{}", dataset, to), "a snapshot of this name exists");
  ANYFS_TRY(core_->begin_op(state.id, "rename snapshot", fmt::format("@{} -> @{}", from, to)));
  ANYFS_CHECK(core_->end_op(core_->history->rename_name(state.id, from, to, NameKind::Snapshot)));
  return core_->commit();
}

// --- Bookmarks ---------------------------------------------------------------------

Result<BookmarkInfo> PoolImpl::bookmark(std::string_view dataset, std::string_view snapshot, std::string_view name) {
  ANYFS_CHECK(check_snapshot_name(name));
  PoolLock lock(core_->mu);
  ANYFS_CHECK(check_writable("making a bookmark"));
  auto state = ANYFS_TRY(dataset_state(dataset));
  auto snap = ANYFS_TRY(core_->history->name(state.id, snapshot, NameKind::Snapshot));
  if (!snap) return fail(Errc::NotFound, fmt::format("{}@{}", dataset, snapshot), "no such snapshot");
  NamedTid entry{state.id, std::string(name), snap->tid, snap->time_ns, snap->guid};
  ANYFS_TRY(core_->begin_op(state.id, "bookmark", fmt::format("@{} -> #{}", snapshot, name)));
  ANYFS_CHECK(core_->end_op(core_->history->put_name(entry, NameKind::Bookmark)));
  ANYFS_CHECK(core_->commit());
  return BookmarkInfo{std::string(dataset), entry.name, entry.tid, entry.time_ns, entry.guid};
}

Result<std::vector<BookmarkInfo>> PoolImpl::bookmarks(std::string_view dataset) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(core_->begin_read());
  auto state = ANYFS_TRY(dataset_state(dataset));
  std::vector<BookmarkInfo> out;
  for (const auto& b : ANYFS_TRY(core_->history->names(state.id, NameKind::Bookmark)))
    out.push_back({std::string(dataset), b.name, b.tid, b.time_ns, b.guid});
  return out;
}

Result<void> PoolImpl::destroy_bookmark(std::string_view dataset, std::string_view name) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(check_writable("destroying a bookmark"));
  auto state = ANYFS_TRY(dataset_state(dataset));
  if (!ANYFS_TRY(core_->history->name(state.id, name, NameKind::Bookmark)))
    return fail(Errc::NotFound, fmt::format("{}#{}", dataset, name), "no such bookmark");
  ANYFS_TRY(core_->begin_op(state.id, "destroy", fmt::format("#{}", name)));
  ANYFS_CHECK(core_->end_op(core_->history->drop_name(state.id, name, NameKind::Bookmark)));
  return core_->commit();
}

// --- Clones -----------------------------------------------------------------------

Result<void> PoolImpl::clone(std::string_view dataset, std::string_view snapshot, std::string_view name,
                             const std::vector<std::pair<std::string, std::string>>& properties) {
  ANYFS_CHECK(check_dataset_name(name));
  std::vector<std::pair<std::string, std::string>> canonical;
  for (const auto& [n, v] : properties) canonical.emplace_back(n, ANYFS_TRY(check_property(n, v)));
  PoolLock lock(core_->mu);
  ANYFS_CHECK(check_writable("cloning"));
  auto origin = ANYFS_TRY(dataset_state(dataset));
  auto snap = ANYFS_TRY(core_->history->name(origin.id, snapshot, NameKind::Snapshot));
  if (!snap) return fail(Errc::NotFound, fmt::format("{}@{}", dataset, snapshot), "no such snapshot");
  if (dataset_state(name)) return fail(Errc::Exists, std::string(name), "a dataset of this name exists");
  std::string parent_name(name.substr(0, name.rfind('/') == std::string_view::npos ? 0 : name.rfind('/')));
  auto parent = dataset_state(parent_name);
  if (!parent)
    return fail(Errc::NotFound, std::string(name),
                fmt::format("its parent dataset {} does not exist", parent_name.empty() ? "(root)" : parent_name));
  Tid tid = ANYFS_TRY(core_->begin_op(parent->id, "clone", fmt::format("{}@{} -> {}", dataset, snapshot, name)));
  ANYFS_CHECK(core_->end_op([&]() REQUIRES(pool_lock) -> Result<void> {
    // No rows: the clone reads its origin as of the snapshot until it changes something.
    DatasetId id = ANYFS_TRY(core_->meta->create_dataset(name, tid));
    ANYFS_CHECK(core_->history->set_origin(id, origin.id, snap->tid));
    for (const auto& [n, v] : canonical) ANYFS_CHECK(core_->meta->set_property(id, n, v));
    auto settings = ANYFS_TRY(settings_of(name));
    if (settings.history != DatasetSettings::History::Off) ANYFS_CHECK(core_->history->set_history_from(id, tid));
    return refresh_pin(*core_, id, settings);
  }()));
  return core_->commit();
}

Result<void> PoolImpl::promote(std::string_view name) {
  std::shared_ptr<Dataset> clone;
  {
    auto opened = dataset(name);
    if (!opened) return std::unexpected(opened.error());
    clone = *opened;
  }
  PoolLock lock(core_->mu);
  ANYFS_CHECK(check_writable("promote"));
  auto state = ANYFS_TRY(dataset_state(name));
  if (!state.origin) return fail(Errc::InvalidArgument, std::string(name), "not a clone");
  // Its snapshots read through the origin; after promote nothing would hold that.
  if (!ANYFS_TRY(core_->history->names(state.id, NameKind::Snapshot)).empty())
    return fail(Errc::Busy, std::string(name), "the clone has snapshots, which read its origin; destroy them first");
  ANYFS_CHECK(check_not_in_use(name));
  ANYFS_CHECK(core_->commit());
  Tid tid = ANYFS_TRY(core_->begin_op(state.id, "promote", std::string(name)));
  ANYFS_CHECK(core_->end_op([&]() REQUIRES(pool_lock) -> Result<void> {
    ANYFS_TRY(own_everything(*clone, tid));
    ANYFS_CHECK(core_->history->set_origin(state.id, std::nullopt, 0));
    // States from before read the origin: history starts again here.
    if (state.history_from) ANYFS_CHECK(core_->history->set_history_from(state.id, tid));
    return {};
  }()));
  return core_->commit();
}

// --- Rollback ----------------------------------------------------------------------

Result<void> PoolImpl::rollback(std::string_view dataset, std::string_view snapshot, bool force) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(check_writable("rollback"));
  auto state = ANYFS_TRY(dataset_state(dataset));
  auto snap = ANYFS_TRY(core_->history->name(state.id, snapshot, NameKind::Snapshot));
  if (!snap) return fail(Errc::NotFound, fmt::format("{}@{}", dataset, snapshot), "no such snapshot");
  std::vector<NamedTid> newer;
  for (const auto& s : ANYFS_TRY(core_->history->names(state.id, NameKind::Snapshot)))
    if (s.tid > snap->tid) newer.push_back(s);
  if (!newer.empty()) {
    std::string names;
    for (const auto& s : newer) names += (names.empty() ? "@" : ", @") + s.name;
    if (!force)
      return fail(Errc::Busy, fmt::format("{}@{}", dataset, snapshot),
                  fmt::format("newer snapshots exist ({}); rolling back past them needs --force, which "
                              "destroys them",
                              names));
    for (const auto& d : ANYFS_TRY(core_->history->datasets()))
      for (const auto& s : newer)
        if (d.origin && *d.origin == state.id && d.origin_tid == s.tid)
          return fail(Errc::Busy, fmt::format("{}@{}", dataset, s.name),
                      fmt::format("clone {} depends on it; destroy or promote the clone first", d.name));
  }
  ANYFS_CHECK(check_not_in_use(dataset));
  // Cached and buffered changes become rows first; then rows are what counts.
  ANYFS_CHECK(core_->commit());
  auto settings = ANYFS_TRY(settings_of(dataset));
  Tid tid = ANYFS_TRY(core_->begin_op(state.id, "rollback", fmt::format("@{}", snapshot)));
  ANYFS_CHECK(core_->end_op([&]() REQUIRES(pool_lock) -> Result<void> {
    for (const auto& s : newer) ANYFS_CHECK(core_->history->drop_name(state.id, s.name, NameKind::Snapshot));
    ANYFS_CHECK(refresh_pin(*core_, state.id, settings));
    Tid keep = ANYFS_TRY(keep_to(*core_, state.id, settings));
    ANYFS_TRY(core_->history->rollback(state.id, snap->tid, tid, keep));
    if (auto open = open_dataset_named(dataset)) forget_dataset_cache(*open);
    return {};
  }()));
  ANYFS_CHECK(core_->commit());
  prune_wanted_ = !newer.empty() || prune_wanted_;
  return {};
}

// --- Reading history ---------------------------------------------------------------

Result<std::vector<DiffEntry>> PoolImpl::diff(std::string_view dataset, const AsOf& from,
                                              const std::optional<AsOf>& to) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(core_->begin_read());
  if (!core_->read_only) ANYFS_CHECK(core_->commit());
  auto state = ANYFS_TRY(dataset_state(dataset));
  Tid a = ANYFS_TRY(resolve_as_of(*core_, state, from));
  Tid b = to ? ANYFS_TRY(resolve_as_of(*core_, state, *to)) : k_tid_live;
  return diff_states(*core_, state.id, a, b, ANYFS_TRY(origins_of(state)));
}

Result<std::vector<FileVersion>> PoolImpl::file_history(std::string_view dataset, std::string_view path,
                                                        const std::optional<AsOf>& at) {
  auto fs = at ? dataset_at(dataset, *at) : this->dataset(dataset);
  if (!fs) return std::unexpected(fs.error());
  auto st = ANYFS_TRY((*fs)->lstat(path));
  PoolLock lock(core_->mu);
  ANYFS_CHECK(core_->begin_read());
  if (!core_->read_only) ANYFS_CHECK(core_->commit());
  return file_versions(*core_, ANYFS_TRY(dataset_state(dataset)), st.ino);
}

Result<std::vector<LogEntry>> PoolImpl::log(const LogQuery& query) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(core_->begin_read());
  auto all = ANYFS_TRY(core_->history->datasets());
  std::optional<DatasetId> only;
  if (query.dataset) only = ANYFS_TRY(dataset_state(*query.dataset)).id;
  auto name_of = [&](DatasetId id) {
    for (const auto& d : all)
      if (d.id == id) return d.name;
    return fmt::format("(destroyed dataset {})", id);
  };
  std::vector<LogEntry> out;
  Tid before = k_tid_live;
  while (out.size() < query.limit) {
    auto page = ANYFS_TRY(core_->history->log_entries(before, query.since_ns, query.until_ns, 512));
    if (page.empty()) break;
    for (const auto& e : page) {
      before = e.tid;
      if (only && e.dataset != *only) continue;
      if (!names_path(e.detail, query.path)) continue;
      out.push_back({e.tid, e.time_ns, name_of(e.dataset), e.op, e.detail});
      if (out.size() == query.limit) break;
    }
  }
  return out;
}

// --- Prune -------------------------------------------------------------------------

Result<bool> PoolImpl::prune_step_locked(std::size_t limit, PruneReport& report) {
  if (core_->read_only) return false;
  if (prune_todo_.empty()) {
    if (!prune_wanted_) return false;
    prune_wanted_ = false;
    last_prune_ = std::chrono::steady_clock::now();
    for (const auto& d : ANYFS_TRY(core_->history->datasets())) prune_todo_.push_back(d.id);
    prune_cursor_ = {};
    if (prune_todo_.empty()) return false;
  }
  ANYFS_CHECK(core_->begin_read());  // opens the transaction group the step writes in
  std::optional<DatasetState> state;
  for (auto& d : ANYFS_TRY(core_->history->datasets()))
    if (d.id == prune_todo_.back()) state = std::move(d);
  if (state) {
    auto step = ANYFS_TRY(prune_step(*core_, *state, ANYFS_TRY(settings_of(state->name)), limit, prune_cursor_));
    report.rows_removed += step.rows_removed;
    report.refs_released += step.refs_released;
  }
  if (!state || prune_cursor_.done()) {
    prune_todo_.pop_back();
    prune_cursor_ = {};
    if (prune_todo_.empty()) ANYFS_CHECK(forget_old_txgs(*core_));
  }
  return true;
}

Result<PruneReport> PoolImpl::prune() {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(check_writable("prune"));
  ANYFS_CHECK(core_->commit());
  // A pass under way may have started before what this call must see: start over.
  prune_todo_.clear();
  prune_wanted_ = true;
  PruneReport report;
  while (true) {
    auto more = prune_step_locked(1 << 20, report);
    if (!more) {
      core_->poison(more.error());
      return std::unexpected(more.error());
    }
    if (!*more) break;
  }
  ANYFS_CHECK(core_->commit());
  return report;
}

}  // namespace anyfs
