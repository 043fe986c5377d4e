// PoolImpl::receive: applies a replication stream (send/stream_format.h) in
// one transaction group that commits only after the end record has been read
// and its digest checked. Until then nothing is committed — the pool lock is
// held and the commit timer waits — so a stream that is damaged, cut short or
// refused, or a receiver killed halfway, leaves the target as it was: the
// records roll back with the transaction; chunks already put on volume files
// are unnamed and gc sweeps them (DESIGN.md §4, rule 3).
//
// The target keeps the sender's object numbers as its inode numbers (every
// record of a dataset is keyed by dataset, so they cannot meet another
// dataset's), and the pool's inode counter moves past them.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <set>
#include <unordered_set>

#include "pool/dataset.h"
#include "pool/history.h"
#include "pool/location.h"
#include "pool/pool_impl.h"
#include "pool/state_reader.h"
#include "send/stream_format.h"

namespace anyfs {
namespace {

// A recursive package's dataset below its root: "" or valid dataset name components.
Result<void> check_relative_name(const std::string& relative) {
  if (relative.empty()) return {};
  auto checked = check_dataset_name(relative);
  if (!checked) return fail(Errc::Corrupt, relative, "a recursive stream names a dataset no pool may hold");
  return {};
}

// Whether anything but access times changed in the inodes `changed` from
// `then` to `now`: reading a received dataset moves its access times, which
// must not make the next incremental need force (the stream sets them anyway).
Result<bool> changed_beyond_atimes(StateReader& then, StateReader& now, const std::vector<Ino>& changed)
    REQUIRES(pool_lock) {
  for (Ino ino : changed) {
    auto a = ANYFS_TRY(then.inode(ino));
    auto b = ANYFS_TRY(now.inode(ino));
    if (!a || !b) return true;
    auto same = [](const InodeRecord& x, const InodeRecord& y) {
      return x.kind == y.kind && x.mode == y.mode && x.uid == y.uid && x.gid == y.gid && x.nlink == y.nlink &&
             x.size == y.size && x.mtime_ns == y.mtime_ns && x.ctime_ns == y.ctime_ns && x.btime_ns == y.btime_ns &&
             x.rdev == y.rdev && x.target == y.target && x.project == y.project && x.generation == y.generation;
    };
    if (!same(*a, *b)) return true;
    auto names_a = ANYFS_TRY(then.names(ino)), names_b = ANYFS_TRY(now.names(ino));
    if (names_a.size() != names_b.size()) return true;
    for (std::size_t i = 0; i < names_a.size(); ++i)
      if (names_a[i].parent != names_b[i].parent || names_a[i].name != names_b[i].name) return true;
    auto [extents_a, xattrs_a] = ANYFS_TRY(then.content(ino));
    auto [extents_b, xattrs_b] = ANYFS_TRY(now.content(ino));
    if (!same_extents(extents_a, extents_b) || xattrs_a != xattrs_b) return true;
  }
  return false;
}

// A recursive stream's properties become the dataset's received ones (rows
// "received:NAME", below its local ones: pool/pool_datasets.cc); those it no
// longer sends go. One this anyfs does not know, or with a value it would
// refuse, is left out rather than failing the receive.
Result<void> set_received_properties(PoolCore& core, DatasetId ds,
                                     const std::vector<std::pair<std::string, std::string>>& sent)
    REQUIRES(pool_lock) {
  std::map<std::string, std::string, std::less<>> wanted;
  for (const auto& [name, value] : sent)
    if (auto canonical = check_property(name, value)) wanted["received:" + name] = *canonical;
  for (const auto& [name, value] : ANYFS_TRY(core.meta->properties(ds)))
    if (name.starts_with("received:") && !wanted.contains(name)) ANYFS_CHECK(core.meta->set_property(ds, name, std::nullopt));
  for (const auto& [name, value] : wanted) ANYFS_CHECK(core.meta->set_property(ds, name, value));
  return {};
}

// Applies records to dataset `ds` as operation `tid`.
class Applier {
 public:
  Applier(PoolCore& core, DatasetId ds, Tid tid, const Placement& placement, ReceiveReport& report)
      : core_(core), ds_(ds), tid_(tid), placement_(placement), report_(report) {}

  Result<void> apply(const stream::Record& record) REQUIRES(pool_lock) {
    return std::visit([&](const auto& r) REQUIRES(pool_lock) { return on(r); }, record);
  }

  // After the last record: inodes that lost their last name here go, and
  // with a directory everything below it that has no other name.
  Result<void> finish() REQUIRES(pool_lock) {
    while (!orphans_.empty()) {
      Ino ino = *orphans_.begin();
      orphans_.erase(orphans_.begin());
      if (ino == k_root_ino) continue;
      auto rec = ANYFS_TRY(core_.meta->inode(ds_, ino));
      if (!rec || !ANYFS_TRY(core_.history->names_of(ds_, ino, k_tid_live)).empty()) continue;
      if (rec->kind == FileKind::Directory)
        for (const auto& e : ANYFS_TRY(core_.meta->list_dir(ds_, ino))) ANYFS_CHECK(unlink(ino, e.name, e.ino));
      ANYFS_CHECK(core_.meta->drop_inode(ds_, ino, tid_));
    }
    auto root = ANYFS_TRY(core_.meta->inode(ds_, k_root_ino));
    if (!root || root->kind != FileKind::Directory)
      return fail(Errc::Corrupt, "/", "the stream leaves the dataset without a root directory");
    // What the stream named must be there: a checksummed stream from a sender
    // with a bug must not leave entries naming nothing, or data of no file.
    for (const auto& [ino, kind] : named_)
      if (auto rec = ANYFS_TRY(core_.meta->inode(ds_, ino)); !rec || rec->kind != kind)
        return fail(Errc::Corrupt, "",
                    fmt::format("the stream names object {} as a {}, and it does not leave one", ino,
                                kind == FileKind::Directory ? "directory" : "file of that kind"));
    for (Ino ino : with_data_)
      if (auto rec = ANYFS_TRY(core_.meta->inode(ds_, ino)); rec && rec->kind != FileKind::Regular)
        return fail(Errc::Corrupt, "", fmt::format("the stream gives data to object {}, which is not a file", ino));
    return {};
  }

  Ino max_object() const { return max_object_; }

 private:
  Result<void> on(const stream::Header&) REQUIRES(pool_lock) {
    return fail(Errc::Corrupt, "", "a second header");
  }
  Result<void> on(const stream::End&) REQUIRES(pool_lock) { return {}; }

  Result<void> on(const stream::Object& r) REQUIRES(pool_lock) {
    if (r.inode.ino == 0) return fail(Errc::Corrupt, "", "an object numbered 0");
    max_object_ = std::max(max_object_, r.inode.ino);
    report_.objects++;
    return core_.meta->put_inode(ds_, r.inode, tid_);
  }

  Result<void> on(const stream::Free& r) REQUIRES(pool_lock) {
    if (r.object == k_root_ino) return fail(Errc::Corrupt, "", "the stream frees the root directory");
    if (!ANYFS_TRY(core_.meta->inode(ds_, r.object))) return {};
    for (const auto& n : ANYFS_TRY(core_.history->names_of(ds_, r.object, k_tid_live)))
      ANYFS_CHECK(core_.meta->drop_dirent(ds_, n.parent, n.name, tid_));
    orphans_.insert(r.object);
    return {};
  }

  Result<void> on(const stream::Link& r) REQUIRES(pool_lock) {
    ANYFS_CHECK(check_name(r.entry.name));
    if (auto old = ANYFS_TRY(core_.meta->lookup(ds_, r.entry.parent, r.entry.name)); old && old->ino != r.entry.ino)
      orphans_.insert(old->ino);
    named_[r.entry.ino] = r.entry.kind;
    named_[r.entry.parent] = FileKind::Directory;
    return core_.meta->put_dirent(ds_, r.entry, tid_);
  }

  Result<void> on(const stream::Unlink& r) REQUIRES(pool_lock) {
    auto old = ANYFS_TRY(core_.meta->lookup(ds_, r.parent, r.name));
    if (!old)
      return fail(Errc::Corrupt, r.name,
                  fmt::format("the stream removes a name directory {} does not have here: the target is not at "
                              "the stream's base",
                              r.parent));
    return unlink(r.parent, r.name, old->ino);
  }

  Result<void> on(const stream::Entries& r) REQUIRES(pool_lock) {
    std::set<std::string, std::less<>> listed;
    for (const auto& e : r.entries) {
      ANYFS_CHECK(check_name(e.name));
      listed.insert(e.name);
    }
    for (const auto& e : ANYFS_TRY(core_.meta->list_dir(ds_, r.dir)))
      if (!listed.contains(e.name)) ANYFS_CHECK(unlink(r.dir, e.name, e.ino));
    for (const auto& e : r.entries) {
      auto old = ANYFS_TRY(core_.meta->lookup(ds_, r.dir, e.name));
      if (old && old->ino == e.ino && old->kind == e.kind) continue;
      if (old) orphans_.insert(old->ino);
      DirentRecord entry = e;
      entry.parent = r.dir;
      named_[entry.ino] = entry.kind;
      named_[r.dir] = FileKind::Directory;
      ANYFS_CHECK(core_.meta->put_dirent(ds_, entry, tid_));
    }
    return {};
  }

  Result<void> on(const stream::Punch& r) REQUIRES(pool_lock) {
    if (r.offset == stream::k_every_extent) {
      for (const auto& e : ANYFS_TRY(core_.meta->extents(ds_, r.object, 0, k_max_file_size)))
        ANYFS_CHECK(core_.meta->drop_extent(ds_, r.object, e.offset, tid_));
      return {};
    }
    auto found = ANYFS_TRY(core_.meta->extents(ds_, r.object, r.offset, r.offset + 1));
    if (found.empty() || found.front().offset != r.offset)
      return fail(Errc::Corrupt, "",
                  fmt::format("the stream removes an extent at {} of object {} that is not here: the target is not "
                              "at the stream's base",
                              r.offset, r.object));
    return core_.meta->drop_extent(ds_, r.object, r.offset, tid_);
  }

  Result<void> on(const stream::Extent& r) REQUIRES(pool_lock) {
    const auto& e = r.extent;
    if (e.length == 0 || e.offset >= k_max_file_size || e.length > k_max_file_size - e.offset)
      return fail(Errc::Corrupt, "", fmt::format("an extent of object {} out of bounds", e.ino));
    if (!received_.contains(e.chunk)) {
      if (!ANYFS_TRY(core_.chunks->has(e.chunk)))
        return fail(Errc::Corrupt, to_hex(e.chunk),
                    "an extent names a chunk that neither the stream nor this pool holds");
      received_.insert(e.chunk);
    }
    with_data_.insert(e.ino);
    return core_.meta->put_extent(ds_, e, tid_);
  }

  Result<void> on(const stream::Xattrs& r) REQUIRES(pool_lock) {
    auto old = ANYFS_TRY(core_.meta->xattrs(ds_, r.object));
    std::set<std::string, std::less<>> names;
    for (const auto& [name, value] : r.values) names.insert(name);
    for (const auto& [name, value] : old)
      if (!names.contains(name)) ANYFS_CHECK(core_.meta->drop_xattr(ds_, r.object, name, tid_));
    for (const auto& [name, value] : r.values)
      if (std::find(old.begin(), old.end(), std::pair(name, value)) == old.end())
        ANYFS_CHECK(core_.meta->put_xattr(ds_, r.object, name, value, tid_));
    return {};
  }

  Result<void> on(const stream::Chunk& r) REQUIRES(pool_lock) {
    report_.chunks++;
    // Both checksums: the stored bytes' and the id's (the decoded bytes' SHA-256).
    auto decoded = decode_chunk(r.id, r.chunk, true);
    if (!decoded)
      return fail(Errc::Corrupt, to_hex(r.id), fmt::format("a chunk in the stream is damaged: {}",
                                                           decoded.error().message));
    received_.insert(r.id);
    if (ANYFS_TRY(core_.chunks->has(r.id))) return {};
    ANYFS_CHECK(core_.chunks->put_placed(r.id, r.chunk, placement_));
    core_.counters.wrote(r.chunk.stored.size());
    report_.chunks_stored++;
    return {};
  }

  Result<void> check_name(std::string_view name) {
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
        name.find('\0') != std::string_view::npos || name.size() > 255)
      return fail(Errc::Corrupt, std::string(name), "a directory entry with a name no directory may hold");
    return {};
  }

  Result<void> unlink(Ino parent, std::string_view name, Ino child) REQUIRES(pool_lock) {
    ANYFS_CHECK(core_.meta->drop_dirent(ds_, parent, name, tid_));
    orphans_.insert(child);
    return {};
  }

  PoolCore& core_;
  const DatasetId ds_;
  const Tid tid_;
  const Placement placement_;
  ReceiveReport& report_;
  std::unordered_set<ChunkId, ChunkIdHash> received_;
  std::set<Ino> orphans_;
  std::map<Ino, FileKind> named_;  // objects entries name (and their directories), as what
  std::set<Ino> with_data_;        // objects extents were given to
  Ino max_object_ = 0;
};

}  // namespace

Result<ReceivePlan> PoolImpl::plan_receive(std::string_view dataset, const stream::Header& header,
                                           const ReceiveOptions& options) {
  ANYFS_CHECK(check_snapshot_name(header.to_name));
  ReceivePlan plan;
  if (auto found = dataset_state(dataset)) plan.target = *found;
  if (!header.incremental()) {
    if (plan.target)
      return fail(Errc::Exists, show_dataset(dataset),
                  "a full stream makes a new dataset, and this one exists: receive into a new name, or send an "
                  "incremental from a snapshot both sides have");
    if (!dataset_state(parent_dataset(dataset)))
      return fail(Errc::NotFound, show_dataset(dataset),
                  fmt::format("its parent dataset {} does not exist (create it first)", show_dataset(parent_dataset(dataset))));
    return plan;
  }
  if (!plan.target)
    return fail(Errc::NotFound, show_dataset(dataset),
                "an incremental stream applies to the dataset holding its base, and there is no such dataset");
  const auto& target = *plan.target;
  for (const auto& s : ANYFS_TRY(core_->history->names(target.id, NameKind::Snapshot)))
    if (s.guid == header.from_guid) plan.base = s;
  if (!plan.base)
    return fail(Errc::NotFound, show_dataset(dataset),
                fmt::format("the stream's base (snapshot guid {} of {}, TID {} there) is not a snapshot of this "
                            "dataset: send a full stream, or an incremental from a snapshot it has",
                            header.from_guid, show_dataset(header.dataset), header.from_tid));
  const auto& base = *plan.base;
  for (const auto& s : ANYFS_TRY(core_->history->names(target.id, NameKind::Snapshot)))
    if (s.tid > base.tid) plan.newer.push_back(s);
  ANYFS_CHECK(core_->commit());
  auto touched = ANYFS_TRY(core_->history->changed_inodes(target.id, base.tid, k_tid_live));
  plan.drifted = !plan.newer.empty() || !touched.empty();
  if (plan.newer.empty()) {
    const auto origins = ANYFS_TRY(origins_of(target));
    StateReader then(*core_, target.id, base.tid, origins), now(*core_, target.id, k_tid_live, origins);
    plan.changed = ANYFS_TRY(changed_beyond_atimes(then, now, touched));
  } else {
    plan.changed = true;
  }
  if (plan.changed && !options.force) {
    std::string why = plan.newer.empty()
                          ? "it changed since @" + base.name
                          : fmt::format("it has snapshots newer than @{} (@{})", base.name, plan.newer.back().name);
    return fail(Errc::Busy, show_dataset(dataset),
                fmt::format("the target is not at the stream's base: {}; receive with force (-F) to roll it back "
                            "to @{} first",
                            why, base.name));
  }
  for (const auto& d : ANYFS_TRY(core_->history->datasets()))
    for (const auto& s : plan.newer)
      if (d.origin && *d.origin == target.id && d.origin_tid == s.tid)
        return fail(Errc::Busy, fmt::format("{}@{}", dataset, s.name),
                    fmt::format("clone {} depends on it; destroy or promote the clone first", d.name));
  ANYFS_CHECK(check_not_in_use(dataset));
  if (!plan.changed)
    if (ANYFS_TRY(core_->history->name(target.id, header.to_name, NameKind::Snapshot)))
      return fail(Errc::Exists, fmt::format("{}@{}", dataset, header.to_name), "a snapshot of this name exists");
  return plan;
}

Result<void> PoolImpl::apply_stream(std::string_view dataset, const stream::Header& header, const ReceivePlan& plan,
                                    stream::StreamReader& in, bool drop_partial, ReceiveReport& report) {
  ANYFS_CHECK(core_->commit());
  // From here on every change is in one transaction group, committed at the end or rolled back.
  auto applied = [&]() REQUIRES(pool_lock) -> Result<void> {
    const auto& target = plan.target;
    const std::string detail = fmt::format("{}@{}", header.dataset, header.to_name);
    Tid tid = ANYFS_TRY(core_->begin_op(target ? target->id : ANYFS_TRY(dataset_state(parent_dataset(dataset))).id,
                                        "receive", detail));
    DatasetId id = 0;
    if (!target) {
      id = ANYFS_TRY(core_->meta->create_dataset(dataset, tid));
      auto settings = ANYFS_TRY(settings_of(dataset));
      if (settings.history != DatasetSettings::History::Off) ANYFS_CHECK(core_->history->set_history_from(id, tid));
      ANYFS_CHECK(refresh_pin(*core_, id, settings));
    } else {
      id = target->id;
      // Access times moved by reads go back to the base's too, so that the
      // result is the sender's snapshot exactly.
      if (plan.drifted) {
        auto settings = ANYFS_TRY(settings_of(dataset));
        for (const auto& s : plan.newer) ANYFS_CHECK(core_->history->drop_name(id, s.name, NameKind::Snapshot));
        ANYFS_CHECK(refresh_pin(*core_, id, settings));
        Tid keep = ANYFS_TRY(keep_to(*core_, id, settings));
        ANYFS_TRY(core_->history->rollback(id, plan.base->tid, tid, keep));
        report.rolled_back = plan.changed;
      }
      if (ANYFS_TRY(core_->history->name(id, header.to_name, NameKind::Snapshot)))
        return fail(Errc::Exists, fmt::format("{}@{}", dataset, header.to_name), "a snapshot of this name exists");
    }
    if (header.flags & stream::k_flag_recursive) ANYFS_CHECK(set_received_properties(*core_, id, header.properties));
    auto settings = ANYFS_TRY(settings_of(dataset));
    Applier applier(*core_, id, tid, settings.placement, report);
    while (!in.done()) ANYFS_CHECK(applier.apply(ANYFS_TRY(in.next())));
    ANYFS_CHECK(applier.finish());
    core_->counters.cover_ino(applier.max_object());
    if (drop_partial) ANYFS_CHECK(core_->meta->drop_partial_receive(dataset));
    // The snapshot is the last operation of the group, as Pool::snapshot makes one.
    Tid snap_tid = ANYFS_TRY(core_->begin_op(id, "snapshot", fmt::format("@{}", header.to_name)));
    ANYFS_CHECK(core_->history->put_name({id, header.to_name, snap_tid, header.to_time_ns, header.to_guid},
                                         NameKind::Snapshot));
    report.tid = snap_tid;
    ANYFS_CHECK(core_->commit());
    return refresh_pin(*core_, id, settings);
  }();
  if (!applied) {
    core_->abandon_txg();
    if (auto open = open_dataset_named(dataset)) forget_dataset_cache(*open);
    return applied;
  }
  if (auto open = open_dataset_named(dataset)) forget_dataset_cache(*open);
  prune_wanted_ = prune_wanted_ || report.rolled_back;
  return {};
}

namespace {

// Spool pieces are committed at about this size, so that a kill loses at most this much.
constexpr std::size_t k_spool_piece = 4u << 20;

}  // namespace

Result<ReceiveReport> PoolImpl::receive(std::string_view dataset, const ByteSource& source,
                                        const ReceiveOptions& options) {
  if (!dataset.empty()) ANYFS_CHECK(check_dataset_name(dataset));
  ReceiveReport report;
  std::uint64_t read = 0;
  auto counted = [&](std::span<char> out) -> Result<std::size_t> {
    auto n = ANYFS_TRY(source(out));
    read += n;
    if (options.progress) options.progress(read);
    return n;
  };
  PoolLock lock(core_->mu);
  ANYFS_CHECK(check_writable("receive"));
  // A package (send -I, -R) is streams one after another, each applied on its own.
  for (bool first = true;; first = false) {
    ReceiveReport one;
    auto header = receive_one(dataset, first, counted, options, one);
    report.bytes = read;
    if (!header) {
      // Each stream of a package is applied on its own: say which went in before this one failed.
      auto e = header.error();
      if (!report.received.empty())
        e.message += fmt::format(" (stream {} of the package; {} received before it: {})", report.streams + 1,
                                 report.streams, fmt::join(report.received, ", "));
      return std::unexpected(e);
    }
    report.dataset = one.dataset;
    report.snapshot = one.snapshot;
    report.guid = one.guid;
    report.incremental = report.incremental || one.incremental;
    report.rolled_back = report.rolled_back || one.rolled_back;
    report.tid = one.tid;
    report.objects += one.objects;
    report.chunks += one.chunks;
    report.chunks_stored += one.chunks_stored;
    report.streams++;
    report.received.push_back(fmt::format("{}@{}", one.dataset, one.snapshot));
    if (!header->more()) return report;
  }
}

Result<stream::Header> PoolImpl::receive_one(std::string_view root, bool first_stream, const ByteSource& counted,
                                             const ReceiveOptions& options, ReceiveReport& report) {
  // A stream, or the rest of one a resumable receive kept the start of.
  std::string magic(stream::k_magic.size(), '\0');
  std::size_t have = 0;
  while (have < magic.size()) {
    auto n = ANYFS_TRY(counted(std::span<char>(magic.data() + have, magic.size() - have)));
    if (n == 0) break;
    have += n;
  }
  magic.resize(have);
  if (have == 0 && !first_stream)
    return fail(Errc::NoData, std::string(root), "the package ends early: the last stream said another follows");
  const bool resuming = magic == stream::k_resume_magic;
  std::optional<PartialReceive> partial;
  if (resuming) {
    if (!first_stream) return fail(Errc::Corrupt, std::string(root), "a resumed stream inside a package");
    partial = ANYFS_TRY(core_->meta->partial_receive(root));
    if (!partial)
      return fail(Errc::NotFound, show_dataset(root),
                  "this stream resumes a receive, and no resumable receive into this dataset is under way");
    auto token = ANYFS_TRY(stream::read_resume_token(counted));
    if (token != partial->token)
      return fail(Errc::InvalidArgument, show_dataset(root),
                  fmt::format("this stream resumes another receive (token {}); this dataset's is {}", token,
                              partial->token));
  }
  // What the reader reads: the kept pieces, then what was peeked, then the source.
  std::uint64_t next_piece = 0;
  std::string buffered = resuming ? std::string() : magic;
  std::size_t buffered_at = 0;
  std::string fresh;  // bytes read from the source and not kept yet (a resumable receive)
  const bool keep = options.resumable || resuming;
  std::string dataset(root);  // the target, once the header names it
  auto combined = [&](std::span<char> out) REQUIRES(pool_lock) -> Result<std::size_t> {
    while (buffered_at == buffered.size() && partial && next_piece < partial->pieces) {
      buffered = ANYFS_TRY(core_->meta->spool_piece(dataset, next_piece++));
      buffered_at = 0;
    }
    if (buffered_at < buffered.size()) {
      std::size_t n = std::min(out.size(), buffered.size() - buffered_at);
      std::memcpy(out.data(), buffered.data() + buffered_at, n);
      buffered_at += n;
      if (keep && !resuming) fresh.append(out.data(), n);  // the peeked magic
      return n;
    }
    auto n = ANYFS_TRY(counted(out));
    if (keep) fresh.append(out.data(), n);
    return n;
  };
  stream::StreamReader in([&](std::span<char> out) REQUIRES(pool_lock) { return combined(out); });
  auto first_record = ANYFS_TRY(in.next());
  const auto header = std::get<stream::Header>(std::move(first_record));
  if (header.flags & stream::k_flag_recursive) {
    ANYFS_CHECK(check_relative_name(header.relative));
    if (!header.relative.empty()) dataset = root.empty() ? header.relative : std::string(root) + "/" + header.relative;
  }
  report.dataset = dataset;
  report.snapshot = header.to_name;
  report.guid = header.to_guid;
  report.incremental = header.incremental();
  if (!resuming) {
    partial = ANYFS_TRY(core_->meta->partial_receive(dataset));
    if (partial)
      return fail(Errc::Busy, show_dataset(dataset),
                  fmt::format("a resumable receive into this dataset is under way ({} kept): resume it with `send -t "
                              "{}`, or abort it with `receive -A`",
                              partial->bytes, partial->token));
  }
  auto plan = ANYFS_TRY(plan_receive(dataset, header, options));
  if (!keep) {
    ANYFS_CHECK(apply_stream(dataset, header, plan, in, false, report));
    return header;
  }

  // Resumable: keep whole records as they arrive, in pieces committed as they fill.
  PartialReceive kept = partial.value_or(PartialReceive{});
  std::uint64_t good = in.offset();  // the end of the last whole record read
  // Records replayed from the kept pieces end before kept.bytes: only what is past it is fresh.
  auto keep_fresh = [&](std::uint64_t upto) REQUIRES(pool_lock) -> Result<void> {
    if (upto <= kept.bytes) return {};
    const std::uint64_t n = upto - kept.bytes;
    kept.bytes = upto;
    kept.pieces++;
    kept.token = stream::make_resume_token(header, kept.bytes);
    ANYFS_CHECK(core_->meta->begin());
    auto spooled = core_->meta->spool(dataset, kept, std::string_view(fresh).substr(0, n));
    if (!spooled) {
      (void)core_->meta->rollback();
      return spooled;
    }
    ANYFS_CHECK(core_->meta->commit());
    fresh.erase(0, n);
    return {};
  };
  ANYFS_CHECK(core_->commit());
  Result<void> arrived = {};
  while (!in.done()) {
    auto record = in.next();
    if (!record) {
      arrived = std::unexpected(record.error());
      break;
    }
    if (in.done()) break;  // the end record stays in memory: the apply below reads it from there
    good = in.offset();
    if (good > kept.bytes && good - kept.bytes >= k_spool_piece) ANYFS_CHECK(keep_fresh(good));
  }
  if (!arrived) {
    // What arrived whole stays; the rest comes with `send -t`.
    if (good > kept.bytes) fresh.resize(std::min<std::uint64_t>(fresh.size(), good - kept.bytes));
    ANYFS_CHECK(keep_fresh(good));
    auto e = arrived.error();
    e.message += fmt::format("; {} of the stream kept: resume with `send -t {}`, or abort with `receive -A`",
                             kept.bytes, kept.token);
    return std::unexpected(e);
  }
  // Whole and checked: apply it from the kept pieces and what is still in memory.
  const std::string tail = std::move(fresh);
  std::uint64_t piece = 0;
  std::string current;
  std::size_t current_at = 0;
  bool tail_read = false;
  stream::StreamReader replay([&](std::span<char> out) REQUIRES(pool_lock) -> Result<std::size_t> {
    while (current_at == current.size()) {
      if (piece < kept.pieces) {
        current = ANYFS_TRY(core_->meta->spool_piece(dataset, piece++));
      } else if (!tail_read) {
        current = tail;
        tail_read = true;
      } else {
        return std::size_t{0};
      }
      current_at = 0;
    }
    std::size_t n = std::min(out.size(), current.size() - current_at);
    std::memcpy(out.data(), current.data() + current_at, n);
    current_at += n;
    return n;
  });
  ANYFS_TRY(replay.next());  // the header, read above
  ANYFS_CHECK(apply_stream(dataset, header, plan, replay, kept.pieces > 0, report));
  return header;
}

Result<std::optional<std::string>> PoolImpl::receive_resume_token(std::string_view dataset) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(core_->begin_read());
  auto partial = ANYFS_TRY(core_->meta->partial_receive(dataset));
  return partial ? std::optional<std::string>(partial->token) : std::nullopt;
}

Result<void> PoolImpl::abort_receive(std::string_view dataset) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(check_writable("abort a receive"));
  if (!ANYFS_TRY(core_->meta->partial_receive(dataset)))
    return fail(Errc::NotFound, show_dataset(dataset), "no resumable receive into this dataset is under way");
  ANYFS_CHECK(core_->commit());
  ANYFS_CHECK(core_->meta->begin());
  auto dropped = core_->meta->drop_partial_receive(dataset);
  if (!dropped) {
    (void)core_->meta->rollback();
    return dropped;
  }
  return core_->meta->commit();
}

}  // namespace anyfs
