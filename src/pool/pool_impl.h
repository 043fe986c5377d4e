// PoolImpl: the Pool of one open pool file. Its members are defined by concern:
// pool/pool.cc (open, close, commit timer, sync, maintenance),
// pool/pool_datasets.cc (datasets and properties) and pool/pool_history.cc
// (snapshots, bookmarks, views of the past, rollback, diff, log, prune).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "anyfs/pool.h"
#include "meta/history_store.h"
#include "pool/pool_core.h"
#include "pool/properties.h"

namespace anyfs {

namespace stream {
struct Header;
class StreamReader;
}  // namespace stream

// One stream of what send writes (send.cc).
struct SendJob {
  DatasetState dataset;
  std::string snapshot;
  std::optional<std::string> from;  // "@SNAP" or "#BOOKMARK" of the same dataset
  std::string relative;             // its name below the package's root (-R)
  bool recursive = false;           // -R: with its local properties
  // A state of history instead of named ones (SendOptions::at_tid, from_tid).
  std::optional<NamedTid> to_state, from_state;
};

// What a receive found about its target before changing anything (receive.cc).
struct ReceivePlan {
  std::optional<DatasetState> target;  // unset: a full stream makes it
  std::optional<NamedTid> base;        // an incremental's base snapshot there
  std::vector<NamedTid> newer;         // snapshots after the base (force destroys them)
  bool changed = false;                // beyond access times since the base: needs force
  bool drifted = false;                // at all: rolled back to the base first
};

class PoolImpl final : public Pool {
 public:
  explicit PoolImpl(std::shared_ptr<PoolCore> core) : core_(std::move(core)) {}
  ~PoolImpl() override { (void)close(); }

  // Loads counters, applies the root dataset's settings and starts the timer.
  Result<void> start();

  // --- Datasets and properties (pool_datasets.cc) ---
  Result<std::shared_ptr<Dataset>> dataset(std::string_view name) override;
  Result<std::vector<std::string>> datasets() override;
  Result<void> create_dataset(std::string_view name,
                              const std::vector<std::pair<std::string, std::string>>& properties) override;
  Result<void> destroy_dataset(std::string_view name, bool recursive) override;
  Result<void> rename_dataset(std::string_view from, std::string_view to) override;
  Result<std::vector<DatasetInfo>> dataset_list() override;
  Result<std::string> get_property(std::string_view dataset, std::string_view name) override;
  Result<void> set_property(std::string_view dataset, std::string_view name, std::string_view value) override;
  Result<std::vector<PropertyValue>> properties(std::string_view dataset) override;
  Result<void> inherit_property(std::string_view dataset, std::string_view name) override;

  // --- History (pool_history.cc) ---
  Result<std::shared_ptr<Dataset>> dataset_at(std::string_view name, const AsOf& at) override;
  Result<std::uint64_t> committed_tid() override;
  Result<SnapshotInfo> snapshot(std::string_view dataset, std::string_view name) override;
  Result<std::vector<SnapshotInfo>> snapshots(std::string_view dataset) override;
  Result<void> destroy_snapshot(std::string_view dataset, std::string_view name) override;
  Result<void> rename_snapshot(std::string_view dataset, std::string_view from, std::string_view to) override;
  Result<BookmarkInfo> bookmark(std::string_view dataset, std::string_view snapshot, std::string_view name) override;
  Result<std::vector<BookmarkInfo>> bookmarks(std::string_view dataset) override;
  Result<void> destroy_bookmark(std::string_view dataset, std::string_view name) override;
  Result<void> rollback(std::string_view dataset, std::string_view snapshot, bool force) override;
  Result<void> clone(std::string_view dataset, std::string_view snapshot, std::string_view name,
                     const std::vector<std::pair<std::string, std::string>>& properties) override;
  Result<void> promote(std::string_view name) override;
  Result<std::vector<DiffEntry>> diff(std::string_view dataset, const AsOf& from,
                                      const std::optional<AsOf>& to) override;
  Result<std::vector<FileVersion>> file_history(std::string_view dataset, std::string_view path,
                                                const std::optional<AsOf>& at) override;
  Result<std::vector<LogEntry>> log(const LogQuery& query) override;
  Result<PruneReport> prune() override;

  // --- Replication (send.cc, receive.cc) ---
  Result<SendReport> send(std::string_view dataset, std::string_view snapshot, const SendOptions& options,
                          const ByteSink& sink) override;
  Result<ReceiveReport> receive(std::string_view dataset, const ByteSource& source,
                                const ReceiveOptions& options) override;
  Result<void> abort_receive(std::string_view dataset) override;
  Result<std::optional<std::string>> receive_resume_token(std::string_view dataset) override;

  // --- The pool (pool.cc) ---
  Result<void> sync() override;
  Result<VolumeStatus> add_volume(const VolumeSpec& spec) override;
  Result<std::vector<VolumeStatus>> volumes() override;
  // --- Volumes, scrub, health (pool_volumes.cc, scrub.cc) ---
  Result<EvacuationReport> remove_volume(std::string_view path, const RemoveVolumeOptions& options) override;
  Result<ScrubReport> scrub(const ScrubOptions& options) override;
  Result<ScrubReport> stop_scrub(bool cancel) override;
  Result<PoolHealth> health() override;
  Result<PoolStats> stats() override;
  Result<VerifyReport> verify(const VerifyOptions& options) override;
  Result<GcReport> gc(const GcOptions& options) override;
  Result<CompactReport> compact() override;
  Result<void> close() override;
  bool read_only() const override { return core_->read_only; }
  const std::string& path() const override { return core_->path; }

 private:
  // Those below run under the pool lock, but the commit timer (which takes it).
  Result<DatasetState> dataset_state(std::string_view name) REQUIRES(pool_lock);
  Result<DatasetId> dataset_id(std::string_view name) REQUIRES(pool_lock) { return ANYFS_TRY(dataset_state(name)).id; }
  // Where a clone reads what it has not changed: its origin at the snapshot, and
  // so on up the chain (empty for a dataset that is not a clone).
  Result<std::vector<DatasetLayer>> origins_of(const DatasetState& state) REQUIRES(pool_lock);
  // Effective properties: local, inherited from the nearest ancestor, or default.
  Result<std::vector<PropertyValue>> effective_properties(std::string_view name) REQUIRES(pool_lock);
  Result<DatasetSettings> settings_of(std::string_view name) REQUIRES(pool_lock);
  // After properties of `name` changed: applies the settings of it and of every
  // dataset inheriting from it; `before` holds their history modes beforehand.
  Result<void> apply_properties(std::string_view name,
                                const std::map<std::string, DatasetSettings::History, std::less<>>& before) REQUIRES(pool_lock);
  std::map<std::string, DatasetSettings::History, std::less<>> history_modes(std::string_view name) REQUIRES(pool_lock);
  Result<void> check_writable(std::string_view what) REQUIRES(pool_lock);
  // The open live dataset `name` in this process, if any.
  std::shared_ptr<Dataset> open_dataset_named(std::string_view name) REQUIRES(pool_lock);
  Result<void> check_not_in_use(std::string_view name) REQUIRES(pool_lock);
  Result<void> remove_orphan_inodes() REQUIRES(pool_lock);
  // Runs one step of the background prune pass; false when there is nothing to do.
  bool background_prune_step() REQUIRES(pool_lock);
  Result<bool> prune_step_locked(std::size_t limit, PruneReport& report) REQUIRES(pool_lock);
  void commit_timer();
  // send.cc: send under the lock, and one stream of a package (`more`: another follows), adding to `report`.
  Result<SendReport> send_locked(std::string_view dataset, std::string_view snapshot, const SendOptions& options,
                                 const ByteSink& sink) REQUIRES(pool_lock);
  // --history: the states of `d` after `from` (a base's TID; unset: from
  // the first) up to `to`, oldest first — the snapshots between and the
  // states its history keeps, each once — ending with `to`.
  Result<std::vector<NamedTid>> states_between(const DatasetState& d, const std::vector<NamedTid>& snaps,
                                               std::optional<Tid> from, const NamedTid& to) REQUIRES(pool_lock);
  Result<void> send_one(const SendJob& job, bool more, const ByteSink& sink,
                        const std::function<void(std::uint64_t)>& progress, std::uint64_t& before,
                        SendReport& report) REQUIRES(pool_lock);
  // receive.cc: a receive's checks of its target against the stream's
  // header, then the transaction group that applies the rest of `in` (and
  // drops the kept bytes of a resumable receive of `dataset`, when
  // `drop_partial`), committed only after its end record checked out.
  Result<ReceivePlan> plan_receive(std::string_view dataset, const stream::Header& header,
                                   const ReceiveOptions& options) REQUIRES(pool_lock);
  Result<stream::Header> receive_one(std::string_view root, bool first_stream, const ByteSource& counted,
                                     const ReceiveOptions& options, ReceiveReport& report) REQUIRES(pool_lock);
  Result<void> apply_stream(std::string_view dataset, const stream::Header& header, const ReceivePlan& plan,
                            stream::StreamReader& in, bool drop_partial, ReceiveReport& report) REQUIRES(pool_lock);

  std::shared_ptr<PoolCore> core_;
  std::map<std::string, std::shared_ptr<Dataset>, std::less<>> open_ GUARDED_BY(pool_lock);
  bool stopping_ GUARDED_BY(pool_lock) = false;
  std::thread timer_;
  // The prune pass under way: datasets left, and where the current one is.
  bool prune_wanted_ GUARDED_BY(pool_lock) = false;
  std::vector<DatasetId> prune_todo_ GUARDED_BY(pool_lock);
  PruneCursor prune_cursor_ GUARDED_BY(pool_lock);
  std::chrono::steady_clock::time_point last_prune_ GUARDED_BY(pool_lock){};
};

}  // namespace anyfs
