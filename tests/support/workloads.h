// The workloads of the power-cut and I/O fault sweeps (docs/RELIABILITY.md).
// Each runs on a pool opened through the fault VFS, from a seed, and stops at
// the first failure (power lost, or an injected I/O fault), recording what the
// pool must hold: the state of the last commit that returned, or of the one
// under way. After a failure with the power on, it tries one more change (on
// the live tree, "/after-the-fault") to see how the pool answers.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "anyfs/pool.h"
#include "support/random_tree.h"

namespace anyfs::testing {

// The file workloads: small-file churn (60 random_step), or large files (45
// big_file_step: pwrite overwrites, rename storms, reflinks, truncates, gc);
// a sync after every third step.
enum class Workload { SmallFiles, LargeFiles };

struct FileOutcome {
  std::uint64_t syncs = 0;  // sync points the run went through
  Tree durable;             // the state of the last sync that returned
  Tree pending;             // the state of the sync under way at the end (or = durable)
  std::optional<Error> failure;
  std::optional<Error> after;
  bool holds(const Tree& t) const { return t == durable || t == pending; }
};

FileOutcome run_file_workload(const std::string& pool_path, std::uint64_t seed, Workload workload);

// On a pool of volumes (`volume` one of them): 15 random_step with a sync
// after every third, then `volume` drained away (Pool::remove_volume, 64 KiB
// a step) with a random_step and a sync between its steps.
FileOutcome run_drain_workload(const std::string& pool_path, std::uint64_t seed, const std::string& volume);

// The snapshot/clone workload: random file changes in the live tree and in
// clones, with snapshots, snapshot destroys (whose reclaim the background pass
// may run), prune + gc, rollbacks, and clones made, written to, promoted and
// destroyed — each but the file changes a commit.

// What the pool holds, as the model knows it.
struct HistoryState {
  Tree live;
  std::map<std::string, Tree> snapshots;  // of the root dataset, by name
  std::map<std::string, Tree> clones;     // clone datasets by name
  bool operator==(const HistoryState&) const = default;
};

struct HistoryOutcome {
  std::uint64_t syncs = 0;  // sync points the run went through
  HistoryState durable;     // the state of the last commit that returned
  HistoryState pending;     // the state of the commit under way at the end (or = durable)
  // Rollback, promote and dataset destroy commit the changes before them
  // first: that state may be the one on disk.
  HistoryState before_rollback;
  std::optional<Error> failure;  // the call that failed first, if any
  std::optional<Error> after;    // a change tried after that failure, if it failed too
  // Whether the pool's state may be any of the three above.
  bool holds(const HistoryState& s) const { return s == durable || s == pending || s == before_rollback; }
};

// Runs the workload of `seed` (45 steps) on the pool at `pool_path`, opened
// through the fault VFS.
HistoryOutcome run_history_workload(const std::string& pool_path, std::uint64_t seed);

// Reads the live tree, the root dataset's snapshots and every clone.
Result<HistoryState> read_history(Pool& pool);

// "/a(12) /d/ + 2 snapshots, 1 clone" for failure messages.
std::string describe(const HistoryState& s);

}  // namespace anyfs::testing
