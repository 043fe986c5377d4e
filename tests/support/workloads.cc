#include "support/workloads.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <random>

#include "support/fault_vfs.h"

namespace anyfs::testing {
namespace {

template <class T>
Result<void> done(Result<T> r) {
  if (!r) return std::unexpected(r.error());
  return {};
}

// Opens the pool through the fault VFS, runs `body(pool, fs, model, out)`,
// then ends the run as workloads.h says: a clean close commits the model; after
// a failure with the power on, one more change is tried.
template <class Outcome, class State, class Body>
Outcome run_through_faults(const std::string& pool_path, Body body) {
  Outcome out;
  FaultVfs& vfs = FaultVfs::get();
  auto opened = open_through_fault_vfs(pool_path);
  if (!opened) {
    out.failure = opened.error();
    return out;
  }
  auto [pool, fs] = *opened;
  State model;
  body(*pool, *fs, model, out);
  if (!out.failure && !vfs.power_lost()) {
    out.pending = model;
    if constexpr (requires { out.before_rollback; }) out.before_rollback = model;
    if (auto closed = pool->close(); !closed) out.failure = closed.error();
    else out.durable = model;
  } else if (out.failure && !vfs.power_lost()) {
    if (auto again = fs->write_file("/after-the-fault", "x"); !again) out.after = again.error();
  }
  (void)pool->close();
  out.syncs = vfs.syncs();
  return out;
}

// Syncs the pool, the model's state pending until it returns, durable after.
bool sync_model(Pool& pool, const Tree& model, FileOutcome& out) {
  out.pending = model;
  if (auto synced = pool.sync(); !synced) {
    out.failure = synced.error();
    return false;
  }
  out.durable = model;
  return true;
}

}  // namespace

FileOutcome run_file_workload(const std::string& pool_path, std::uint64_t seed, Workload workload) {
  std::mt19937_64 rng(seed);
  return run_through_faults<FileOutcome, Tree>(pool_path, [&](Pool& pool, Dataset& fs, Tree& model, FileOutcome& out) {
    Error failure;
    const int steps = workload == Workload::SmallFiles ? 60 : 45;
    for (int i = 0; i < steps && !out.failure; ++i) {
      const bool stepped = workload == Workload::SmallFiles
                               ? random_step(fs, model, rng, &failure)
                               : big_file_step(pool, fs, model, rng, out.durable, out.pending, &failure);
      if (!stepped) {
        out.failure = failure;
        break;
      }
      if (i % 3 == 2) sync_model(pool, model, out);
    }
  });
}

FileOutcome run_drain_workload(const std::string& pool_path, std::uint64_t seed, const std::string& volume) {
  std::mt19937_64 rng(seed);
  return run_through_faults<FileOutcome, Tree>(pool_path, [&](Pool& pool, Dataset& fs, Tree& model, FileOutcome& out) {
    Error failure;
    auto step = [&] {
      if (random_step(fs, model, rng, &failure)) return true;
      out.failure = failure;
      return false;
    };
    for (int i = 0; i < 15 && !out.failure; ++i)
      if (step() && i % 3 == 2) sync_model(pool, model, out);
    if (out.failure) return;
    std::atomic<int> stop{k_go_on};
    RemoveVolumeOptions options;
    options.step_bytes = 64 << 10;
    options.stop = &stop;
    options.progress = [&](const EvacuationReport&) {
      if (!step() || !sync_model(pool, model, out)) stop = k_pause;
    };
    auto drained = pool.remove_volume(volume, options);
    if (!drained && !out.failure) out.failure = drained.error();
  });
}

HistoryOutcome run_history_workload(const std::string& pool_path, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  return run_through_faults<HistoryOutcome, HistoryState>(pool_path, [&](Pool& pool, Dataset& fs, HistoryState& model,
                                                                         HistoryOutcome& out) {
    std::map<std::string, std::string> origin_of;  // unpromoted clone -> its snapshot
    int next = 0;
    auto commit = [&](HistoryState after, const std::function<Result<void>()>& call, bool rollback = false) {
      out.pending = after;
      out.before_rollback = rollback ? model : after;
      if (auto r = call(); !r) {
        out.failure = r.error();
        return false;
      }
      out.durable = model = std::move(after);
      return true;
    };
    auto pick = [&](const std::map<std::string, Tree>& m) {
      return std::next(m.begin(), static_cast<long>(rng() % m.size()))->first;
    };
    Error failure;
    for (int i = 0; i < 45; ++i) {
      if (!model.clones.empty() && rng() % 3 == 0) {  // a change inside a clone
        std::string name = pick(model.clones);
        auto clone = pool.dataset(name);
        if (!clone) {
          out.failure = clone.error();
          break;
        }
        if (!random_step(**clone, model.clones[name], rng, &failure)) {
          out.failure = failure;
          break;
        }
      } else if (!random_step(fs, model.live, rng, &failure)) {
        out.failure = failure;
        break;
      }
      if (i % 3 != 2) continue;
      HistoryState after = model;
      bool ok = true;
      switch (rng() % 8) {
        case 0: {
          std::string name = "s" + std::to_string(next++);
          after.snapshots[name] = model.live;
          ok = commit(after, [&] { return done(pool.snapshot("", name)); });
          break;
        }
        case 1: {
          if (model.snapshots.empty()) break;
          std::string name = pick(model.snapshots);
          bool held = false;  // a clone still reads it
          for (const auto& [clone, snap] : origin_of) held |= snap == name;
          if (held) break;
          after.snapshots.erase(name);
          ok = commit(after, [&] { return done(pool.destroy_snapshot("", name)); });
          break;
        }
        case 2:
          ok = commit(after, [&]() -> Result<void> {
            ANYFS_CHECK(pool.prune());
            return done(pool.gc({.grace_seconds = 0}));
          });
          break;
        case 3: {
          if (model.snapshots.empty()) break;
          // The newest snapshot: no --force needed, nothing else destroyed.
          auto newest = std::max_element(model.snapshots.begin(), model.snapshots.end(), [&](auto& a, auto& b) {
            return std::stoi(a.first.substr(1)) < std::stoi(b.first.substr(1));
          });
          std::string name = newest->first;
          after.live = newest->second;
          ok = commit(after, [&] { return done(pool.rollback("", name)); }, /*rollback=*/true);
          break;
        }
        case 4: {
          if (model.snapshots.empty()) break;
          std::string snap = pick(model.snapshots), name = "c" + std::to_string(next++);
          after.clones[name] = model.snapshots[snap];
          ok = commit(after, [&] { return done(pool.clone("", snap, name)); });
          if (ok) origin_of[name] = snap;
          break;
        }
        case 5: {
          if (origin_of.empty()) break;
          std::string name = std::next(origin_of.begin(), static_cast<long>(rng() % origin_of.size()))->first;
          ok = commit(after, [&] { return done(pool.promote(name)); }, /*rollback=*/true);
          if (ok) origin_of.erase(name);
          break;
        }
        case 6: {
          if (model.clones.empty()) break;
          std::string name = pick(model.clones);
          after.clones.erase(name);
          ok = commit(after, [&] { return done(pool.destroy_dataset(name)); }, /*rollback=*/true);
          if (ok) origin_of.erase(name);
          break;
        }
        default:
          ok = commit(after, [&] { return done(pool.sync()); });
      }
      if (!ok) break;
    }
  });
}

Result<HistoryState> read_history(Pool& pool) {
  HistoryState state;
  ANYFS_CHECK(read_tree(*ANYFS_TRY(pool.dataset()), "/", state.live));
  for (const auto& s : ANYFS_TRY(pool.snapshots("")))
    ANYFS_CHECK(read_tree(*ANYFS_TRY(pool.dataset_at("", AsOf::at_snapshot(s.name))), "/", state.snapshots[s.name]));
  for (const auto& name : ANYFS_TRY(pool.datasets()))
    if (!name.empty()) ANYFS_CHECK(read_tree(*ANYFS_TRY(pool.dataset(name)), "/", state.clones[name]));
  return state;
}

std::string describe(const HistoryState& s) {
  return describe(s.live) + " + " + std::to_string(s.snapshots.size()) + " snapshots, " +
         std::to_string(s.clones.size()) + " clones";
}

}  // namespace anyfs::testing
