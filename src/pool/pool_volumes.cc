// The volume files of an open pool (DESIGN.md §6): adding, listing, draining
// one away (LVM's pvmove: `volume remove|move|replace`), the pool's health,
// and what a pool with a volume it cannot use may still do.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "pool/pool_impl.h"
#include "pool/pool_volumes.h"
#include "util/clock.h"

namespace anyfs {
namespace {

VolumeStatus status_of(const VolumeInfo& v) {
  VolumeStatus out;
  out.uuid = v.uuid;
  out.path = v.path;
  out.cap_bytes = v.cap_bytes;
  out.size_bytes = v.size_bytes;
  out.chunks = v.chunks;
  out.state = !v.fault.empty() ? "faulted" : v.draining ? "draining" : "online";
  out.fault = v.fault;
  out.read_errors = v.counts.read_errors;
  out.checksum_errors = v.counts.checksum_errors;
  out.write_errors = v.counts.write_errors;
  out.repaired = v.counts.repaired;
  return out;
}

std::string normal_path(std::string_view path) {
  std::error_code ec;
  return std::filesystem::absolute(std::string(path), ec).lexically_normal().string();
}

// The listed volume at `path`.
Result<VolumeInfo> find_volume(PoolCore& core, std::string_view path) REQUIRES(pool_lock) {
  const std::string want = normal_path(path);
  for (VolumeInfo& v : ANYFS_TRY(core.file->volume_set().volumes()))
    if (v.path == want) return std::move(v);
  return fail(Errc::NotFound, std::string(path), "not a volume of this pool (`anyfs volume list` shows them)");
}

// The drain under way, as kept in the pool's settings between runs:
// "volume=ID;onto=ID;total=N;moved=N;bytes=N;seconds=S".
struct DrainRecord {
  std::int64_t volume = 0;
  std::int64_t onto = 0;
  std::uint64_t total = 0, moved = 0, bytes = 0;
  double seconds = 0;
};

std::string to_text(const DrainRecord& d) {
  return fmt::format("volume={};onto={};total={};moved={};bytes={};seconds={:.3f}", d.volume, d.onto, d.total,
                     d.moved, d.bytes, d.seconds);
}

DrainRecord drain_from_text(std::string_view text) {
  DrainRecord d;
  for (const auto& [key, value] : parse_fields(text)) {
    if (key == "volume") d.volume = std::strtoll(value.c_str(), nullptr, 10);
    else if (key == "onto") d.onto = std::strtoll(value.c_str(), nullptr, 10);
    else if (key == "total") d.total = std::strtoull(value.c_str(), nullptr, 10);
    else if (key == "moved") d.moved = std::strtoull(value.c_str(), nullptr, 10);
    else if (key == "bytes") d.bytes = std::strtoull(value.c_str(), nullptr, 10);
    else if (key == "seconds") d.seconds = std::strtod(value.c_str(), nullptr);
  }
  return d;
}

Result<void> save_setting(PoolCore& core, std::string_view key, std::string_view value) REQUIRES(pool_lock) {
  if (!core.meta->in_transaction()) ANYFS_CHECK(core.meta->begin());
  return core.meta->set_setting(key, value);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_fields(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!text.empty()) {
    const auto end = text.find(';');
    const std::string_view field = text.substr(0, end);
    const auto eq = field.find('=');
    if (eq != std::string_view::npos) out.emplace_back(std::string(field.substr(0, eq)), std::string(field.substr(eq + 1)));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return out;
}

Result<std::string> degraded_reason(PoolCore& core, std::uint64_t& without_copy) REQUIRES(pool_lock) {
  without_copy = 0;
  std::vector<std::string> faulted;
  std::size_t usable = 0;
  for (const VolumeInfo& v : ANYFS_TRY(core.file->volume_set().volumes())) {
    if (!v.fault.empty()) faulted.push_back(fmt::format("{} ({})", v.path, v.fault));
    else if (!v.draining) ++usable;
  }
  if (faulted.empty()) return std::string();
  const std::string which = fmt::format("volume{} {} cannot be used", faulted.size() == 1 ? "" : "s",
                                        fmt::join(faulted, ", "));
  without_copy = ANYFS_TRY(core.file->volume_set().chunks_without_usable_copy());
  if (without_copy > 0)
    return fmt::format("{}, and {} chunk{} no other copy: reads of the files using them fail; bring the "
                       "volume back, or `volume replace` it to save what the other copies hold",
                       which, without_copy, without_copy == 1 ? " has" : "s have");
  // Writes go on only where every dataset's placement can still be met.
  unsigned need = 1;
  for (const auto& d : ANYFS_TRY(core.meta->datasets()))
    if (auto value = ANYFS_TRY(core.meta->property(d.id, "placement")))
      if (auto p = Placement::parse(*value); p && p->kind == Placement::Kind::Mirror) need = std::max(need, p->copies);
  if (usable < need)
    return fmt::format("{}, and placement mirror={} needs {} usable volumes ({} left): `volume replace` it", which,
                       need, need, usable);
  return fmt::format("{}; every chunk has a copy elsewhere (`volume replace` it to restore redundancy)", which);
}

bool degraded_needs_read_only(std::string_view reason) {
  return reason.find("no other copy") != std::string_view::npos || reason.find("usable volumes (") != std::string_view::npos;
}

Result<VolumeStatus> PoolImpl::add_volume(const VolumeSpec& spec) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(core_->check_usable());
  if (core_->read_only) return fail(Errc::ReadOnly, spec.path, core_->read_only_message());
  if (spec.path.empty()) return fail(Errc::InvalidArgument, "", "a volume needs a path");
  // The volume list changes in a transaction of its own: the open group commits first.
  ANYFS_CHECK(core_->commit(true));
  return status_of(ANYFS_TRY(core_->file->volume_set().add_volume(spec.path, spec.cap_bytes)));
}

Result<std::vector<VolumeStatus>> PoolImpl::volumes() {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(core_->begin_read());
  std::vector<VolumeStatus> out;
  for (const VolumeInfo& v : ANYFS_TRY(core_->file->volume_set().volumes())) out.push_back(status_of(v));
  return out;
}

Result<EvacuationReport> PoolImpl::remove_volume(std::string_view path, const RemoveVolumeOptions& options) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(core_->check_usable());
  // A pool read-only for want of a volume may still drain it: that is how it is replaced.
  if (core_->read_only && core_->read_only_reason.empty())
    return fail(Errc::ReadOnly, std::string(path), core_->read_only_message());
  if (core_->read_only)
    return fail(Errc::ReadOnly, std::string(path),
                core_->read_only_message() + " (open writable to drain it; a pool this damaged opens read-only)");
  VolumeSet& set = core_->file->volume_set();
  ANYFS_CHECK(core_->commit(true));
  const VolumeInfo from = ANYFS_TRY(find_volume(*core_, path));
  EvacuationReport report;
  report.path = from.path;
  auto record = ANYFS_TRY(core_->meta->setting("evacuation"));
  DrainRecord drain = record ? drain_from_text(*record) : DrainRecord{};
  if (drain.volume != 0 && drain.volume != from.id)
    for (const VolumeInfo& v : ANYFS_TRY(set.volumes()))
      if (v.id == drain.volume && v.draining)
        return fail(Errc::Busy, std::string(path),
                    fmt::format("volume {} is being drained: finish it (`volume remove {}`) or --abort it first",
                                v.path, v.path));
  if (options.abort) {
    if (!from.draining) return fail(Errc::InvalidArgument, from.path, "no drain of this volume to abort");
    ANYFS_CHECK(set.set_draining(from.id, false, 0));
    ANYFS_CHECK(save_setting(*core_, "evacuation", ""));
    ANYFS_CHECK(core_->commit(true));
    report.state = "aborted";
    report.chunks_left = ANYFS_TRY(set.copies_on(from.id));
    return report;
  }
  // Where to: a named volume (added now if new), or any other.
  std::int64_t onto = from.draining ? from.drain_to : 0;
  if (!options.to.empty()) {
    auto to = find_volume(*core_, options.to);
    if (!to && to.error().code == Errc::NotFound) {
      ANYFS_CHECK(core_->commit(true));
      to = set.add_volume(options.to, options.to_cap_bytes);
    }
    if (!to) return std::unexpected(to.error());
    if (to->id == from.id) return fail(Errc::InvalidArgument, options.to, "a volume cannot be moved onto itself");
    if (from.draining && from.drain_to != 0 && from.drain_to != to->id)
      return fail(Errc::Busy, from.path, "a drain of this volume onto another is under way: --abort it first");
    onto = to->id;
  }
  for (const VolumeInfo& v : ANYFS_TRY(set.volumes())) {
    if (v.id == onto) report.onto = v.path;
  }
  report.resumed = from.draining;
  if (!from.draining || drain.volume != from.id) {
    drain = DrainRecord{from.id, onto, ANYFS_TRY(set.copies_on(from.id)), 0, 0, 0};
    ANYFS_CHECK(set.set_draining(from.id, true, onto));
  }
  ANYFS_CHECK(save_setting(*core_, "evacuation", to_text(drain)));
  ANYFS_CHECK(core_->commit(true));
  report.chunks_total = drain.total;
  // Steps of options.step_bytes, each committed (new copies durable first,
  // rule 1), the lock let go between them so that the pool stays in use.
  const std::uint64_t step_bytes = std::max<std::uint64_t>(options.step_bytes, 1);
  ChunkId after{};
  std::vector<ChunkId> lost;
  const auto t0 = std::chrono::steady_clock::now();
  const double seconds_before = drain.seconds;
  while (true) {
    if (options.stop && options.stop->load() != k_go_on) {
      report.state = "stopped";
      break;
    }
    ANYFS_CHECK(core_->check_usable());
    if (!core_->meta->in_transaction()) ANYFS_CHECK(core_->meta->begin());
    auto step = set.drain_some(from.id, after, step_bytes);
    if (!step) {
      // Nowhere to put a copy: what moved so far is sound and kept; the
      // volume stays draining until room is made or the drain aborted.
      if (step.error().code == Errc::NoSpace && !core_->stopped()) ANYFS_CHECK(core_->commit(true));
      else core_->poison(step.error());
      return std::unexpected(step.error());
    }
    report.chunks_moved += step->chunks;
    report.bytes_moved += step->bytes;
    lost.insert(lost.end(), step->lost.begin(), step->lost.end());
    drain.moved += step->chunks;
    drain.bytes += step->bytes;
    drain.seconds = seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ANYFS_CHECK(core_->meta->set_setting("evacuation", to_text(drain)));
    ANYFS_CHECK(core_->commit(true));
    report.chunks_left = drain.total > drain.moved ? drain.total - drain.moved : 0;
    report.seconds = drain.seconds;
    if (step->done) break;
    // The lock let go: the callback may use the pool (and others do).
    lock.unlock();
    if (options.progress) options.progress(report);
    std::this_thread::yield();
    lock.lock();
    ANYFS_CHECK(core_->check_usable());
  }
  report.chunks_left = ANYFS_TRY(set.copies_on(from.id));
  report.seconds = drain.seconds;
  if (report.state == "stopped") return report;
  if (!lost.empty()) {
    auto named = ANYFS_TRY(name_chunks(*core_, lost));
    return fail(Errc::Corrupt, from.path,
                fmt::format("{} chunk{} on it {} no good copy anywhere, so the volume stays (draining): {}",
                            lost.size(), lost.size() == 1 ? "" : "s", lost.size() == 1 ? "has" : "have",
                            fmt::join(named, ", ")));
  }
  if (report.chunks_left != 0)
    return fail(Errc::Busy, from.path, fmt::format("{} chunk copies are still on it", report.chunks_left));
  ANYFS_CHECK(set.drop_volume(from.id));
  ANYFS_CHECK(save_setting(*core_, "evacuation", ""));
  ANYFS_CHECK(core_->commit(true));
  report.state = "removed";
  return report;
}

Result<PoolHealth> PoolImpl::health() {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(core_->begin_read());
  PoolHealth h;
  for (const VolumeInfo& v : ANYFS_TRY(core_->file->volume_set().volumes())) h.volumes.push_back(status_of(v));
  h.reason = ANYFS_TRY(degraded_reason(*core_, h.chunks_without_copy));
  h.state = h.reason.empty() ? "ONLINE" : h.chunks_without_copy > 0 ? "FAULTED" : "DEGRADED";
  h.read_only = !core_->read_only_reason.empty() || degraded_needs_read_only(h.reason);
  if (!core_->read_only_reason.empty() && h.reason.empty()) h.reason = core_->read_only_reason;
  h.scrub = ANYFS_TRY(scrub_record(*core_));
  if (auto record = ANYFS_TRY(core_->meta->setting("evacuation")); record && !record->empty()) {
    const DrainRecord d = drain_from_text(*record);
    EvacuationReport e;
    e.state = "draining";
    for (const VolumeInfo& v : ANYFS_TRY(core_->file->volume_set().volumes())) {
      if (v.id == d.volume) {
        e.path = v.path;
        e.chunks_left = v.chunks;
      }
      if (v.id == d.onto) e.onto = v.path;
    }
    e.chunks_total = d.total;
    e.chunks_moved = d.moved;
    e.bytes_moved = d.bytes;
    e.seconds = d.seconds;
    if (!e.path.empty()) h.evacuation = e;
  }
  return h;
}

}  // namespace anyfs
