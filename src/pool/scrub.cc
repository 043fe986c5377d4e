// scrub: every copy of every chunk read and checked (both checksums), bad
// copies rewritten from good ones, and what no good copy holds named by the
// files that use it (ZFS's scrub). Its progress is a settings row written as
// it goes — "state=running;next=HEX;..." — so a scrub stopped by a pause, a
// crash or a kill runs on from the last chunk it recorded.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "pool/pool_impl.h"
#include "pool/pool_volumes.h"
#include "util/clock.h"
#include "util/token_bucket.h"

namespace anyfs {
namespace {

// Lost chunk ids kept in the record at most (the count goes on).
constexpr std::size_t k_lost_ids_kept = 1000;

// The record: the report, where it got to, and the lost chunks' ids.
struct ScrubRecord {
  ScrubReport report;
  std::optional<ChunkId> next_after;  // the last chunk done
  std::vector<ChunkId> lost_ids;
  std::vector<std::string> unrepaired;  // volumes (kept in this run only)
};

std::string to_text(const ScrubRecord& r) {
  const ScrubReport& s = r.report;
  std::string lost;
  for (const ChunkId& id : r.lost_ids) lost += (lost.empty() ? "" : ",") + to_hex(id);
  return fmt::format(
      "state={};after={};total={};done={};read={};bad={};repaired={};lost={};started={};ended={};seconds={:.3f};"
      "pid={};lost_ids={}",
      s.state, r.next_after ? to_hex(*r.next_after) : "", s.chunks_total, s.chunks_done, s.bytes_read, s.bad_copies,
      s.repaired, s.lost, s.started_ns, s.ended_ns, s.seconds, s.pid, lost);
}

ScrubRecord record_from_text(std::string_view text) {
  ScrubRecord r;
  ScrubReport& s = r.report;
  auto u64 = [](const std::string& v) { return std::strtoull(v.c_str(), nullptr, 10); };
  for (const auto& [key, value] : parse_fields(text)) {
    if (key == "state") s.state = value;
    else if (key == "after") r.next_after = chunk_id_from_hex(value);
    else if (key == "total") s.chunks_total = u64(value);
    else if (key == "done") s.chunks_done = u64(value);
    else if (key == "read") s.bytes_read = u64(value);
    else if (key == "bad") s.bad_copies = u64(value);
    else if (key == "repaired") s.repaired = u64(value);
    else if (key == "lost") s.lost = u64(value);
    else if (key == "started") s.started_ns = std::strtoll(value.c_str(), nullptr, 10);
    else if (key == "ended") s.ended_ns = std::strtoll(value.c_str(), nullptr, 10);
    else if (key == "seconds") s.seconds = std::strtod(value.c_str(), nullptr);
    else if (key == "pid") s.pid = std::strtoll(value.c_str(), nullptr, 10);
    else if (key == "lost_ids") {
      std::string_view rest = value;
      while (!rest.empty()) {
        const auto comma = rest.find(',');
        if (auto id = chunk_id_from_hex(rest.substr(0, comma))) r.lost_ids.push_back(*id);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    }
  }
  return r;
}

Result<std::optional<ScrubRecord>> load_record(PoolCore& core) REQUIRES(pool_lock) {
  auto text = ANYFS_TRY(core.meta->setting("scrub"));
  if (!text || text->empty()) return std::optional<ScrubRecord>();
  return std::optional<ScrubRecord>(record_from_text(*text));
}

Result<void> save_record(PoolCore& core, const ScrubRecord& r) REQUIRES(pool_lock) {
  if (!core.meta->in_transaction()) ANYFS_CHECK(core.meta->begin());
  ANYFS_CHECK(core.meta->set_setting("scrub", to_text(r)));
  return core.commit(true);
}

}  // namespace

Result<std::optional<ScrubReport>> scrub_record(PoolCore& core) {
  auto r = ANYFS_TRY(load_record(core));
  if (!r) return std::optional<ScrubReport>();
  return std::optional<ScrubReport>(r->report);
}

Result<std::vector<std::string>> name_chunks(PoolCore& core, const std::vector<ChunkId>& ids_given) {
  std::vector<ChunkId> ids = ids_given;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  // The live files naming them, then the entries that name those files.
  std::set<std::pair<DatasetId, Ino>> files;
  std::set<ChunkId> named;
  ANYFS_CHECK(core.meta->for_each_extent([&](DatasetId ds, const ExtentRecord& e) -> Result<void> {
    if (std::binary_search(ids.begin(), ids.end(), e.chunk)) {
      files.emplace(ds, e.ino);
      named.insert(e.chunk);
    }
    return {};
  }));
  std::map<std::pair<DatasetId, Ino>, std::pair<Ino, std::string>> parent;
  if (!files.empty())
    ANYFS_CHECK(core.meta->for_each_dirent([&](DatasetId ds, const DirentRecord& d) -> Result<void> {
      parent.emplace(std::pair{ds, d.ino}, std::pair{d.parent, d.name});
      return {};
    }));
  std::map<DatasetId, std::string> dataset_names;
  for (const auto& d : ANYFS_TRY(core.meta->datasets())) dataset_names[d.id] = d.name;
  std::set<std::string> out;
  for (const auto& [ds, ino] : files) {
    std::string path;
    Ino at = ino;
    for (int depth = 0; at != k_root_ino && depth < 4096; ++depth) {
      auto it = parent.find({ds, at});
      if (it == parent.end()) {
        path = fmt::format("/(inode {}, no name)", ino);
        break;
      }
      path = "/" + it->second.second + path;
      at = it->second.first;
    }
    const std::string& name = dataset_names[ds];
    out.insert(name.empty() ? path : name + ":" + path);
  }
  for (const ChunkId& id : ids)
    if (!named.contains(id)) out.insert("chunk " + to_hex(id) + " (held only by history or snapshots)");
  return std::vector<std::string>(out.begin(), out.end());
}

Result<ScrubReport> PoolImpl::scrub(const ScrubOptions& options) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(core_->check_usable());
  if (core_->read_only)
    return fail(Errc::ReadOnly, core_->path,
                core_->read_only_reason.empty() ? "scrub repairs copies and keeps its progress in the pool: open it "
                                                  "for writing"
                                                : core_->read_only_message());
  ANYFS_CHECK(core_->commit(true));
  auto old = ANYFS_TRY(load_record(*core_));
  ScrubRecord rec;
  std::vector<ChunkId> ids = ANYFS_TRY(core_->chunks->list());
  if (old && !options.restart && (old->report.state == "running" || old->report.state == "paused")) {
    rec = std::move(*old);
    rec.report.resumed = true;
  } else {
    rec.report.chunks_total = ids.size();
    rec.report.started_ns = wall_clock_ns();
  }
  rec.report.state = "running";
  rec.report.pid = ::getpid();
  rec.report.ended_ns = 0;
  ANYFS_CHECK(save_record(*core_, rec));
  auto at = rec.next_after ? std::upper_bound(ids.begin(), ids.end(), *rec.next_after) : ids.begin();
  std::optional<TokenBucket> bucket;
  if (options.rate_bytes_per_s > 0) bucket.emplace(options.rate_bytes_per_s, std::max(options.rate_bytes_per_s / 10, 1.0));
  // Steps of about 8 MiB under the lock; the record saved about once a second.
  constexpr std::uint64_t k_step_bytes = 8u << 20;
  auto t0 = std::chrono::steady_clock::now();
  auto last_saved = t0;
  const double seconds_before = rec.report.seconds;
  auto seconds_now = [&] {
    return seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  while (at != ids.end()) {
    if (options.stop && options.stop->load() != k_go_on) {
      const bool cancel = options.stop->load() == k_cancel;
      rec.report.state = cancel ? "cancelled" : "paused";
      rec.report.seconds = seconds_now();
      if (cancel) rec.report.ended_ns = wall_clock_ns();
      ANYFS_CHECK(save_record(*core_, rec));
      return rec.report;
    }
    std::uint64_t step_bytes = 0;
    // Open, so that a copy that cannot be rewritten in place can move (its records with it).
    if (options.repair && !core_->meta->in_transaction()) ANYFS_CHECK(core_->meta->begin());
    for (; at != ids.end() && step_bytes < k_step_bytes; ++at) {
      auto check = core_->chunks->check_copies(*at, options.repair);
      if (!check && check.error().code == Errc::NotFound) {
        rec.next_after = *at;  // freed since the scrub began
        rec.report.chunks_done++;
        continue;
      }
      if (!check) {
        check = ChunkCheck{1, 1, 0, true, 0, check.error().message, {}};
      }
      rec.report.chunks_done++;
      rec.report.bytes_read += check->bytes_read;
      rec.report.bad_copies += check->bad;
      rec.report.repaired += check->repaired;
      for (const std::string& v : check->unrepaired)
        if (std::find(rec.unrepaired.begin(), rec.unrepaired.end(), v) == rec.unrepaired.end())
          rec.unrepaired.push_back(v);
      if (check->lost) {
        rec.report.lost++;
        if (rec.lost_ids.size() < k_lost_ids_kept) rec.lost_ids.push_back(*at);
      }
      step_bytes += check->bytes_read;
      rec.next_after = *at;
    }
    rec.report.seconds = seconds_now();
    if (core_->chunks->wants_commit() || std::chrono::steady_clock::now() - last_saved > std::chrono::seconds(1)) {
      ANYFS_CHECK(save_record(*core_, rec));
      last_saved = std::chrono::steady_clock::now();
    }
    const std::int64_t wait_ns = bucket ? bucket->take(static_cast<double>(step_bytes)) : 0;
    const ScrubReport now = rec.report;
    // The lock let go: the callback may use the pool (and others do).
    lock.unlock();
    if (options.progress) options.progress(now);
    if (wait_ns > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait_ns));
    else std::this_thread::yield();
    lock.lock();
    ANYFS_CHECK(core_->check_usable());
  }
  rec.report.state = "finished";
  rec.report.ended_ns = wall_clock_ns();
  rec.report.seconds = seconds_now();
  rec.report.pid = 0;
  ANYFS_CHECK(save_record(*core_, rec));
  ScrubReport report = rec.report;
  report.unrepaired_volumes = rec.unrepaired;
  if (!rec.lost_ids.empty()) report.damaged = ANYFS_TRY(name_chunks(*core_, rec.lost_ids));
  return report;
}

Result<ScrubReport> PoolImpl::stop_scrub(bool cancel) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(check_writable("stopping a scrub"));
  ANYFS_CHECK(core_->commit(true));
  auto rec = ANYFS_TRY(load_record(*core_));
  if (!rec || (rec->report.state != "running" && rec->report.state != "paused"))
    return fail(Errc::NotFound, core_->path, "no scrub under way or paused");
  rec->report.state = cancel ? "cancelled" : "paused";
  rec->report.pid = 0;
  if (cancel) rec->report.ended_ns = wall_clock_ns();
  ANYFS_CHECK(save_record(*core_, *rec));
  return rec->report;
}

}  // namespace anyfs
