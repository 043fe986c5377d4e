// PoolImpl: datasets (create, destroy, rename, list) and their properties,
// inherited down the name hierarchy (docs/SEMANTICS.md, "Datasets").
#include <fmt/format.h>

#include <algorithm>

#include "pool/dataset.h"
#include "pool/history.h"
#include "pool/location.h"
#include "pool/pool_impl.h"

namespace anyfs {

Result<DatasetState> PoolImpl::dataset_state(std::string_view name) {
  for (auto& d : ANYFS_TRY(core_->history->datasets()))
    if (d.name == name) return d;
  return fail(Errc::NotFound, show_dataset(name), "no such dataset");
}

Result<std::vector<DatasetLayer>> PoolImpl::origins_of(const DatasetState& state) {
  std::vector<DatasetLayer> out;
  auto all = ANYFS_TRY(core_->history->datasets());
  const DatasetState* at = &state;
  while (at->origin) {
    out.push_back({*at->origin, at->origin_tid});
    const DatasetState* next = nullptr;
    for (const auto& d : all)
      if (d.id == *at->origin) next = &d;
    if (next == nullptr || out.size() > all.size())
      return fail(Errc::Corrupt, state.name, "the clone's origin is missing");
    at = next;
  }
  return out;
}

Result<void> PoolImpl::check_writable(std::string_view what) {
  ANYFS_CHECK(core_->check_usable());
  if (core_->read_only)
    return fail(Errc::ReadOnly, core_->path,
                core_->read_only_reason.empty() ? fmt::format("{} needs the pool open for writing", what)
                                                : core_->read_only_message());
  return {};
}

std::shared_ptr<Dataset> PoolImpl::open_dataset_named(std::string_view name) {
  auto it = open_.find(name);
  return it == open_.end() ? nullptr : it->second;
}

Result<void> PoolImpl::check_not_in_use(std::string_view name) {
  auto ds = open_dataset_named(name);
  if (ds && dataset_in_use(*ds))
    return fail(Errc::Busy, show_dataset(name), "files of this dataset are open in this process; close them first");
  return {};
}

Result<std::shared_ptr<Dataset>> PoolImpl::dataset(std::string_view name) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(core_->check_usable());
  if (auto ds = open_dataset_named(name)) return ds;
  auto state = ANYFS_TRY(dataset_state(name));
  auto settings = ANYFS_TRY(settings_of(name));
  auto ds = ANYFS_TRY(open_dataset(core_, state.id, std::string(name), settings, k_tid_live,
                                   ANYFS_TRY(origins_of(state))));
  open_.emplace(std::string(name), ds);
  return ds;
}

Result<std::vector<std::string>> PoolImpl::datasets() {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(core_->begin_read());
  std::vector<std::string> out;
  for (auto& d : ANYFS_TRY(core_->history->datasets())) out.push_back(d.name);
  return out;
}

Result<std::vector<DatasetInfo>> PoolImpl::dataset_list() {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(core_->begin_read());
  auto all = ANYFS_TRY(core_->history->datasets());
  std::vector<DatasetInfo> out;
  for (const auto& d : all) {
    DatasetInfo info;
    info.name = d.name;
    info.created_tid = d.created_tid;
    info.history_from = d.history_from;
    info.snapshots = ANYFS_TRY(core_->history->names(d.id, NameKind::Snapshot)).size();
    if (d.origin) {
      for (const auto& o : all)
        if (o.id == *d.origin)
          for (const auto& s : ANYFS_TRY(core_->history->names(o.id, NameKind::Snapshot)))
            if (s.tid == d.origin_tid) info.origin = o.name + "@" + s.name;
    }
    out.push_back(std::move(info));
  }
  return out;
}

Result<void> PoolImpl::create_dataset(std::string_view name,
                                      const std::vector<std::pair<std::string, std::string>>& properties) {
  ANYFS_CHECK(check_dataset_name(name));
  std::vector<std::pair<std::string, std::string>> canonical;
  for (const auto& [n, v] : properties) canonical.emplace_back(n, ANYFS_TRY(check_property(n, v)));
  PoolLock lock(core_->mu);
  ANYFS_CHECK(check_writable("creating a dataset"));
  if (dataset_state(name)) return fail(Errc::Exists, std::string(name), "a dataset of this name exists");
  auto parent = dataset_state(parent_dataset(name));
  if (!parent)
    return fail(Errc::NotFound, std::string(name),
                fmt::format("its parent dataset {} does not exist (create it first)", show_dataset(parent_dataset(name))));
  Tid tid = ANYFS_TRY(core_->begin_op(parent->id, "dataset create", name));
  ANYFS_CHECK(core_->end_op([&]() REQUIRES(pool_lock) -> Result<void> {
    DatasetId id = ANYFS_TRY(core_->meta->create_dataset(name, tid));
    for (const auto& [n, v] : canonical) ANYFS_CHECK(core_->meta->set_property(id, n, v));
    std::int64_t now = wall_clock_ns();
    InodeRecord root;
    root.ino = k_root_ino;
    root.kind = FileKind::Directory;
    root.mode = 0755;
    root.nlink = 2;
    root.atime_ns = root.mtime_ns = root.ctime_ns = root.btime_ns = now;
    ANYFS_CHECK(core_->meta->put_inode(id, root, tid));
    auto settings = ANYFS_TRY(settings_of(name));
    if (settings.history != DatasetSettings::History::Off) ANYFS_CHECK(core_->history->set_history_from(id, tid));
    return refresh_pin(*core_, id, settings);
  }()));
  return core_->commit();
}

Result<void> PoolImpl::destroy_dataset(std::string_view name, bool recursive) {
  // Datasets lock the pool when they go, so the ones dropped go after the lock.
  std::vector<std::shared_ptr<Dataset>> dropped;
  PoolLock lock(core_->mu);
  ANYFS_CHECK(check_writable("destroying a dataset"));
  if (name.empty()) return fail(Errc::InvalidArgument, "(root)", "the root dataset cannot be destroyed");
  auto top = ANYFS_TRY(dataset_state(name));
  auto all = ANYFS_TRY(core_->history->datasets());
  std::vector<DatasetState> doomed;
  for (const auto& d : all)
    if (within_dataset(d.name, name)) doomed.push_back(d);
  // Children first.
  std::sort(doomed.begin(), doomed.end(), [](const auto& a, const auto& b) { return a.name > b.name; });
  for (const auto& d : doomed) {
    if (!recursive && d.id != top.id)
      return fail(Errc::Busy, std::string(name), fmt::format("it has child dataset {}; destroy with -r", d.name));
    if (!recursive && !ANYFS_TRY(core_->history->names(d.id, NameKind::Snapshot)).empty())
      return fail(Errc::Busy, std::string(name), "it has snapshots; destroy them first, or destroy with -r");
    for (const auto& c : all)
      if (c.origin && *c.origin == d.id && !within_dataset(c.name, name))
        return fail(Errc::Busy, std::string(name),
                    fmt::format("clone {} depends on a snapshot of {}; destroy or promote it first", c.name, d.name));
    ANYFS_CHECK(check_not_in_use(d.name));
  }
  auto parent = ANYFS_TRY(dataset_state(parent_dataset(name)));
  ANYFS_CHECK(core_->commit());
  ANYFS_TRY(core_->begin_op(parent.id, "dataset destroy", name));
  ANYFS_CHECK(core_->end_op([&]() REQUIRES(pool_lock) -> Result<void> {
    for (const auto& d : doomed) {
      if (auto open = open_dataset_named(d.name)) {
        retire_dataset(*open);
        dropped.push_back(std::move(open));
        open_.erase(d.name);
      }
      ANYFS_CHECK(core_->history->drop_dataset(d.id));
      core_->meta->set_pin(d.id, 0);
    }
    return {};
  }()));
  return core_->commit();
}

Result<void> PoolImpl::rename_dataset(std::string_view from, std::string_view to) {
  ANYFS_CHECK(check_dataset_name(to));
  std::vector<std::shared_ptr<Dataset>> dropped;  // released after the lock, as in destroy_dataset
  PoolLock lock(core_->mu);
  ANYFS_CHECK(check_writable("renaming a dataset"));
  if (from.empty()) return fail(Errc::InvalidArgument, "(root)", "the root dataset cannot be renamed");
  auto top = ANYFS_TRY(dataset_state(from));
  if (within_dataset(to, from)) return fail(Errc::InvalidArgument, std::string(to), "a dataset cannot move into itself");
  if (dataset_state(to)) return fail(Errc::Exists, std::string(to), "a dataset of this name exists");
  if (!dataset_state(parent_dataset(to)))
    return fail(Errc::NotFound, std::string(to),
                fmt::format("its parent dataset {} does not exist", show_dataset(parent_dataset(to))));
  auto all = ANYFS_TRY(core_->history->datasets());
  for (const auto& d : all)
    if (within_dataset(d.name, from)) ANYFS_CHECK(check_not_in_use(d.name));
  ANYFS_CHECK(core_->commit());
  ANYFS_TRY(core_->begin_op(top.id, "dataset rename", fmt::format("{} -> {}", from, to)));
  ANYFS_CHECK(core_->end_op([&]() REQUIRES(pool_lock) -> Result<void> {
    for (const auto& d : all) {
      if (!within_dataset(d.name, from)) continue;
      if (auto open = open_dataset_named(d.name)) {
        retire_dataset(*open);
        dropped.push_back(std::move(open));
        open_.erase(d.name);
      }
      ANYFS_CHECK(core_->history->rename_dataset(d.id, std::string(to) + d.name.substr(from.size())));
    }
    return {};
  }()));
  ANYFS_CHECK(core_->commit());
  // Inherited properties may differ under the new parent.
  for (const auto& d : ANYFS_TRY(core_->history->datasets()))
    if (within_dataset(d.name, to)) ANYFS_CHECK(refresh_pin(*core_, d.id, ANYFS_TRY(settings_of(d.name))));
  return {};
}

// --- Properties -----------------------------------------------------------------------

Result<std::vector<Pool::PropertyValue>> PoolImpl::effective_properties(std::string_view name) {
  // The dataset and its ancestors, nearest first.
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> chain;
  for (std::string at(name);;) {
    auto state = ANYFS_TRY(dataset_state(at));
    chain.emplace_back(at, ANYFS_TRY(core_->meta->properties(state.id)));
    if (at.empty()) break;
    at = parent_dataset(at);
  }
  std::vector<PropertyValue> out;
  for (const auto& info : known_properties()) {
    PropertyValue v{std::string(info.name), std::string(info.default_value), "default"};
    // Nearest dataset first; in each, a local value before a received one (receive -R).
    const std::string received = "received:" + std::string(info.name);
    bool found = false;
    for (std::size_t i = 0; i < chain.size() && !found; ++i)
      for (const std::string& wanted : {std::string(info.name), received})
        for (const auto& [n, value] : chain[i].second)
          if (!found && n == wanted) {
            v = {std::string(info.name), value,
                 i > 0 ? "inherited from " + show_dataset(chain[i].first) : (n == received ? "received" : "local")};
            found = true;
          }
    out.push_back(std::move(v));
  }
  return out;
}

Result<DatasetSettings> PoolImpl::settings_of(std::string_view name) {
  std::vector<std::pair<std::string, std::string>> values;
  for (auto& p : ANYFS_TRY(effective_properties(name))) values.emplace_back(p.name, p.value);
  return settings_from(values);
}

Result<std::string> PoolImpl::get_property(std::string_view dataset, std::string_view name) {
  for (auto& p : ANYFS_TRY(properties(dataset)))
    if (p.name == name) return p.value;
  return std::unexpected(check_property(name, "").error());
}

Result<std::vector<Pool::PropertyValue>> PoolImpl::properties(std::string_view dataset) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(core_->begin_read());
  auto out = ANYFS_TRY(effective_properties(dataset));
  // Read-only: what `send -t` resumes a kept receive into this dataset from.
  if (auto partial = ANYFS_TRY(core_->meta->partial_receive(dataset)))
    out.push_back({"receive_resume_token", partial->token, "-"});
  return out;
}

std::map<std::string, DatasetSettings::History, std::less<>> PoolImpl::history_modes(std::string_view name) {
  std::map<std::string, DatasetSettings::History, std::less<>> out;
  auto all = core_->history->datasets();
  if (!all) return out;
  for (const auto& d : *all)
    if (within_dataset(d.name, name))
      if (auto s = settings_of(d.name)) out[d.name] = s->history;
  return out;
}

Result<void> PoolImpl::apply_properties(std::string_view name,
                                        const std::map<std::string, DatasetSettings::History, std::less<>>& before) {
  for (const auto& d : ANYFS_TRY(core_->history->datasets())) {
    if (!within_dataset(d.name, name)) continue;
    auto settings = ANYFS_TRY(settings_of(d.name));
    if (auto open = open_dataset_named(d.name)) update_dataset_settings(*open, settings);
    if (d.name.empty()) {
      core_->sync_mode = settings.sync;
      core_->txg_timeout = settings.txg_timeout;
    }
    auto was = before.find(d.name);
    bool had = was != before.end() && was->second != DatasetSettings::History::Off;
    bool has = settings.history != DatasetSettings::History::Off;
    // History starts with the state committed just before the change; when it
    // stops, only snapshots stay readable and prune removes the rest.
    if (!had && has) ANYFS_CHECK(core_->history->set_history_from(d.id, core_->counters.committed_tid()));
    if (had && !has) ANYFS_CHECK(core_->history->set_history_from(d.id, std::nullopt));
    ANYFS_CHECK(refresh_pin(*core_, d.id, settings));
  }
  prune_wanted_ = true;
  return {};
}

Result<void> PoolImpl::set_property(std::string_view dataset, std::string_view name, std::string_view value) {
  std::string canonical = ANYFS_TRY(check_property(name, value));
  PoolLock lock(core_->mu);
  ANYFS_CHECK(check_writable("setting a property"));
  auto id = ANYFS_TRY(dataset_id(dataset));
  // Rows the open group closed were kept or not by the old setting: commit them first.
  ANYFS_CHECK(core_->commit());
  auto before = history_modes(dataset);
  ANYFS_TRY(core_->begin_op(id, "set", fmt::format("{}={}", name, canonical)));
  ANYFS_CHECK(core_->end_op(core_->meta->set_property(id, name, canonical)));
  return core_->end_op(apply_properties(dataset, before));
}

Result<void> PoolImpl::inherit_property(std::string_view dataset, std::string_view name) {
  if (std::none_of(known_properties().begin(), known_properties().end(),
                   [&](const PropertyInfo& p) { return p.name == name; }))
    return std::unexpected(check_property(name, "").error());
  PoolLock lock(core_->mu);
  ANYFS_CHECK(check_writable("inheriting a property"));
  auto id = ANYFS_TRY(dataset_id(dataset));
  ANYFS_CHECK(core_->commit());
  auto before = history_modes(dataset);
  ANYFS_TRY(core_->begin_op(id, "inherit", std::string(name)));
  ANYFS_CHECK(core_->end_op(core_->meta->set_property(id, name, std::nullopt)));
  return core_->end_op(apply_properties(dataset, before));
}

}  // namespace anyfs
