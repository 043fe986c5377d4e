// PoolImpl::send: a dataset's snapshot as a replication stream
// (send/stream_format.h). A full stream walks the snapshot's tree from the
// root; an incremental one reads only the inodes whose rows changed between
// the base and the snapshot (HistoryStore::changed_inodes), and for each
// sends what differs: names gone, then attributes, names added, extents
// punched and added, and extended attributes.
//
// The chunk rule: a chunk goes with the first extent naming it, once per
// stream, unless the same file referenced it at the base — then the receiver,
// whose state at the base is the sender's, holds it. A chunk that merely
// existed in the pool at the base (dedup, or referenced by a file since
// removed) is sent: what the sender's pool holds says nothing of what the
// receiver's does. From a bookmark, whose state may be pruned, every chunk
// of a changed file goes.
#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <unordered_set>

#include "pool/history.h"
#include "pool/location.h"
#include "pool/pool_impl.h"
#include "pool/state_reader.h"
#include "send/stream_format.h"

namespace anyfs {
namespace {

using NameSet = std::set<std::pair<Ino, std::string>>;

NameSet name_set(const std::vector<DirentRecord>& names) {
  NameSet out;
  for (const auto& n : names) out.emplace(n.parent, n.name);
  return out;
}

// The guid of a state of history sent by TID: the same for every send of it.
std::string history_state_guid(const std::string& pool_uuid, DatasetId ds, Tid tid) {
  return to_hex(sha256(fmt::format("anyfs-state:{}:{}:{}", pool_uuid, ds, tid))).substr(0, 32);
}

// Every attribute but the TID that wrote it.
bool same_inode(const InodeRecord& a, const InodeRecord& b) {
  return a.ino == b.ino && a.kind == b.kind && a.mode == b.mode && a.uid == b.uid && a.gid == b.gid &&
         a.nlink == b.nlink && a.size == b.size && a.atime_ns == b.atime_ns && a.mtime_ns == b.mtime_ns &&
         a.ctime_ns == b.ctime_ns && a.btime_ns == b.btime_ns && a.rdev == b.rdev && a.target == b.target &&
         a.project == b.project && a.generation == b.generation;
}

bool same_extent(const ExtentRecord& x, const ExtentRecord& y) {
  return x.offset == y.offset && x.length == y.length && x.chunk == y.chunk && x.chunk_offset == y.chunk_offset;
}

class Sender {
 public:
  Sender(PoolCore& core, stream::StreamWriter& out, SendReport& report) : core_(core), out_(out), report_(report) {}

  // Everything about `ino` as `now` has it that `then` (the base; null for a
  // full stream) does not, its names excepted.
  Result<void> object(StateReader& now, StateReader* then, const InodeRecord& rec) REQUIRES(pool_lock) {
    ANYFS_CHECK(out_.write(stream::Object{rec}));
    report_.objects++;
    auto [extents, xattrs] = ANYFS_TRY(now.content(rec.ino));
    std::vector<ExtentRecord> old_extents;
    std::vector<std::pair<std::string, std::string>> old_xattrs;
    if (then) std::tie(old_extents, old_xattrs) = ANYFS_TRY(then->content(rec.ino));
    if (xattrs != old_xattrs) ANYFS_CHECK(out_.write(stream::Xattrs{rec.ino, xattrs}));
    if (rec.kind != FileKind::Regular) return {};
    // Both lists are sorted by offset.
    std::unordered_set<ChunkId, ChunkIdHash> held;
    for (const auto& e : old_extents) held.insert(e.chunk);
    std::size_t j = 0;
    for (const auto& e : old_extents) {
      while (j < extents.size() && extents[j].offset < e.offset) ++j;
      if (j < extents.size() && same_extent(extents[j], e)) continue;
      ANYFS_CHECK(out_.write(stream::Punch{rec.ino, e.offset}));
    }
    j = 0;
    for (const auto& e : extents) {
      while (j < old_extents.size() && old_extents[j].offset < e.offset) ++j;
      if (j < old_extents.size() && same_extent(old_extents[j], e)) continue;
      if (!held.contains(e.chunk) && sent_.insert(e.chunk).second) {
        auto stored = ANYFS_TRY(core_.chunks->get(e.chunk));
        ANYFS_CHECK(out_.write(stream::Chunk{e.chunk, std::move(stored)}));
      }
      ANYFS_CHECK(out_.write(stream::Extent{e}));
    }
    return {};
  }

  // The whole tree of `now`, from the root: each inode once (before the
  // names linking it), however many names it has.
  Result<void> full(StateReader& now) REQUIRES(pool_lock) {
    auto root = ANYFS_TRY(now.inode(k_root_ino));
    if (!root) return fail(Errc::Corrupt, "/", "the snapshot has no root directory");
    std::set<Ino> seen{k_root_ino};
    std::vector<Ino> dirs{k_root_ino};
    ANYFS_CHECK(object(now, nullptr, *root));
    while (!dirs.empty()) {
      Ino dir = dirs.back();
      dirs.pop_back();
      for (const auto& entry : ANYFS_TRY(now.list_dir(dir))) {
        if (seen.insert(entry.ino).second) {
          auto rec = ANYFS_TRY(now.inode(entry.ino));
          if (!rec)
            return fail(Errc::Corrupt, entry.name,
                        fmt::format("a directory entry names inode {}, which the snapshot lacks", entry.ino));
          ANYFS_CHECK(object(now, nullptr, *rec));
          if (rec->kind == FileKind::Directory) dirs.push_back(entry.ino);
        }
        ANYFS_CHECK(out_.write(stream::Link{entry}));
      }
    }
    return {};
  }

  // What changed between `then` and `now`, inode by inode. Every name that
  // goes is unlinked before any is linked, so that a name moving from one
  // inode to another (a rename over a file) lands on the right one; inodes
  // gone are freed last.
  Result<void> incremental(StateReader& now, StateReader& then, const std::vector<Ino>& changed) REQUIRES(pool_lock) {
    for (Ino ino : changed) {
      auto old_names = ANYFS_TRY(then.names(ino));
      if (old_names.empty()) continue;
      const NameSet kept = name_set(ANYFS_TRY(now.names(ino)));
      for (const auto& n : old_names)
        if (!kept.contains({n.parent, n.name})) ANYFS_CHECK(out_.write(stream::Unlink{n.parent, n.name}));
    }
    std::vector<Ino> gone;
    for (Ino ino : changed) {
      auto rec = ANYFS_TRY(now.inode(ino));
      auto old = ANYFS_TRY(then.inode(ino));
      if (!rec) {
        if (old) gone.push_back(ino);
        continue;
      }
      const NameSet had = name_set(ANYFS_TRY(then.names(ino)));
      const auto names = ANYFS_TRY(now.names(ino));
      // Rows that changed and changed back (or history pruned since) send
      // nothing: the stream depends on the two states alone, so a resumed
      // send makes the same bytes.
      if (old && same_inode(*old, *rec) && name_set(names) == had) {
        auto [extents, xattrs] = ANYFS_TRY(now.content(ino));
        auto [old_extents, old_xattrs] = ANYFS_TRY(then.content(ino));
        if (same_extents(extents, old_extents) && xattrs == old_xattrs) continue;
      }
      ANYFS_CHECK(object(now, &then, *rec));
      for (const auto& n : names)
        if (!had.contains({n.parent, n.name})) ANYFS_CHECK(out_.write(stream::Link{n}));
    }
    for (Ino ino : gone) ANYFS_CHECK(out_.write(stream::Free{ino}));
    return {};
  }

  // What changed since a bookmark: its state is no longer readable (the
  // rows only it saw may be pruned), so each changed inode goes whole — its
  // attributes, all its extents (every one dropped first) and their chunks,
  // a directory's entries — and the receiver, which has that state, works
  // out what went: a name missing from a directory's entries is removed, and
  // an inode left without names goes with it.
  Result<void> complete(StateReader& now, const std::vector<Ino>& changed) REQUIRES(pool_lock) {
    for (Ino ino : changed) {
      auto rec = ANYFS_TRY(now.inode(ino));
      if (!rec) continue;
      if (rec->kind == FileKind::Regular) ANYFS_CHECK(out_.write(stream::Punch{ino, stream::k_every_extent}));
      ANYFS_CHECK(object(now, nullptr, *rec));
      if (rec->kind == FileKind::Directory)
        ANYFS_CHECK(out_.write(stream::Entries{ino, ANYFS_TRY(now.list_dir(ino))}));
    }
    return {};
  }

 private:
  PoolCore& core_;
  stream::StreamWriter& out_;
  SendReport& report_;
  std::unordered_set<ChunkId, ChunkIdHash> sent_;
};

}  // namespace

Result<SendReport> PoolImpl::send(std::string_view dataset, std::string_view snapshot, const SendOptions& options,
                                  const ByteSink& sink) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(core_->begin_read());
  if (!core_->read_only) ANYFS_CHECK(core_->commit());
  // Beside a writer in another process, everything is read in one snapshot
  // of the pool (the writer may commit, free chunks and checkpoint meanwhile);
  // the writer itself holds the pool lock throughout. Either way no read
  // handle stays open after, which would keep the view (and the log) pinned.
  if (core_->read_only) ANYFS_TRY(core_->begin_snapshot());
  auto report = send_locked(dataset, snapshot, options, sink);
  if (core_->read_only) core_->end_snapshot();
  else core_->chunks->release_handles();
  return report;
}

Result<SendReport> PoolImpl::send_locked(std::string_view dataset_arg, std::string_view snapshot_arg,
                                         const SendOptions& options_arg, const ByteSink& sink_arg) {
  std::string dataset(dataset_arg), snapshot(snapshot_arg);
  SendOptions options = options_arg;
  ByteSink sink = sink_arg;
  auto resumed_bytes = std::make_shared<std::uint64_t>(0);  // what a resumed stream really wrote
  if (options.resume_token) {
    // The snapshot and base by guid; the stream as it was, from the receiver's offset on.
    auto token = ANYFS_TRY(stream::parse_resume_token(*options.resume_token));
    std::optional<std::pair<DatasetState, NamedTid>> found;
    for (const auto& d : ANYFS_TRY(core_->history->datasets()))
      for (const auto& s : ANYFS_TRY(core_->history->names(d.id, NameKind::Snapshot)))
        if (s.guid == token.to_guid) found.emplace(d, s);
    if (!found)
      return fail(Errc::NotFound, *options.resume_token,
                  "no snapshot here has the guid the token names (was it destroyed?): the receive cannot resume; "
                  "abort it with `receive -A`");
    if ((!dataset.empty() && dataset != found->first.name) || (!snapshot.empty() && snapshot != found->second.name))
      return fail(Errc::InvalidArgument, *options.resume_token,
                  fmt::format("the token resumes a stream of {}@{}", found->first.name, found->second.name));
    dataset = found->first.name;
    snapshot = found->second.name;
    options.from.reset();
    if (!token.from_guid.empty()) {
      // The same kind of base as the stream had: a snapshot's difference, or a bookmark's whole objects.
      const NameKind kind = token.from_bookmark ? NameKind::Bookmark : NameKind::Snapshot;
      for (const auto& s : ANYFS_TRY(core_->history->names(found->first.id, kind)))
        if (s.guid == token.from_guid) options.from = (kind == NameKind::Snapshot ? "@" : "#") + s.name;
      if (!options.from)
        return fail(Errc::NotFound, *options.resume_token,
                    fmt::format("the incremental's base {} is gone here: the receive cannot resume",
                                token.from_bookmark ? "bookmark" : "snapshot"));
    }
    std::uint64_t skip = token.offset;
    std::string preamble = stream::resume_preamble(*options.resume_token);
    sink = [&sink_arg, skip, preamble, resumed_bytes, first = true,
            seen = std::uint64_t{0}](std::string_view bytes) mutable -> Result<void> {
      if (first) {
        first = false;
        ANYFS_CHECK(sink_arg(preamble));
        *resumed_bytes += preamble.size();
      }
      if (seen + bytes.size() <= skip) {
        seen += bytes.size();
        return {};
      }
      const std::size_t drop = seen < skip ? static_cast<std::size_t>(skip - seen) : 0;
      seen += bytes.size();
      *resumed_bytes += bytes.size() - drop;
      return sink_arg(bytes.substr(drop));
    };
  }
  if (options.at_tid) {
    // A state of history, named by its TID (mirror).
    if (!snapshot.empty() || options.from || options.intermediates || options.recursive || options.resume_token ||
        options.history)
      return fail(Errc::InvalidArgument, "", "a state by TID is sent alone: no snapshot, base name, -I, -R or --history");
    auto state = ANYFS_TRY(dataset_state(dataset));
    auto uuid = ANYFS_TRY(core_->meta->setting("uuid")).value_or("");
    // The base is the state a receiver has, by the TID it was sent as: a
    // group's end then (kept as given: a later group may be recorded as
    // containing it); history must still reach it.
    auto named = [&](std::uint64_t tid, bool exact) REQUIRES(pool_lock) -> Result<NamedTid> {
      Tid boundary = ANYFS_TRY(resolve_as_of(*core_, state, AsOf::at_tid(tid)));
      if (exact) boundary = tid;
      auto time = ANYFS_TRY(core_->history->txg_time(boundary));
      return NamedTid{state.id, fmt::format("tid-{}", boundary), boundary, time.value_or(0),
                      history_state_guid(uuid, state.id, boundary)};
    };
    SendJob job{state, "", std::nullopt, "", false, ANYFS_TRY(named(*options.at_tid, false)), std::nullopt};
    if (options.from_tid) job.from_state = ANYFS_TRY(named(*options.from_tid, true));
    SendReport report;
    std::uint64_t before = 0;
    ANYFS_CHECK(send_one(job, options.more_follows, sink, options.progress, before, report));
    report.streams = 1;
    return report;
  }
  if (options.resume_token && (options.intermediates || options.recursive || options.history))
    return fail(Errc::InvalidArgument, *options.resume_token,
                "-t resumes one stream; send the rest of a package (-I, -R, --history) again from what was received");
  if (options.history && options.intermediates)
    return fail(Errc::InvalidArgument, "", "--history sends every snapshot between as well: drop -I (use -i)");
  // The streams of the package, parents before children, each dataset's snapshots oldest first.
  std::vector<SendJob> jobs;
  auto root = ANYFS_TRY(dataset_state(dataset));
  std::vector<DatasetState> sent{root};
  if (options.recursive)
    for (const auto& d : ANYFS_TRY(core_->history->datasets()))
      if (d.name != root.name && (root.name.empty() || d.name.starts_with(root.name + "/"))) sent.push_back(d);
  std::sort(sent.begin(), sent.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (const auto& d : sent) {
    const std::string relative =
        d.name == root.name ? "" : d.name.substr(root.name.empty() ? 0 : root.name.size() + 1);
    const std::string shown = show_dataset(d.name);
    auto snaps = ANYFS_TRY(core_->history->names(d.id, NameKind::Snapshot));
    auto target = std::find_if(snaps.begin(), snaps.end(), [&](const NamedTid& s) { return s.name == snapshot; });
    if (target == snaps.end())
      return fail(Errc::NotFound, fmt::format("{}@{}", d.name, snapshot),
                  options.recursive ? fmt::format("no such snapshot (-R sends @{} of every dataset below {}: "
                                                  "snapshot each of them, in one command)",
                                                  snapshot, show_dataset(root.name))
                                    : std::string("no such snapshot"));
    std::optional<std::string> from = options.from;
    std::optional<Tid> from_tid;
    if (from) {
      // The base, named in this dataset (-R: the same name in each).
      std::string_view name = *from;
      NameKind kind = NameKind::Snapshot;
      if (name.starts_with('#')) {
        kind = NameKind::Bookmark;
        name.remove_prefix(1);
      } else if (name.starts_with('@')) {
        name.remove_prefix(1);
      } else if (auto at = name.find('@'); at != std::string_view::npos) {
        if (name.substr(0, at) != root.name)
          return fail(Errc::InvalidArgument, std::string(name),
                      fmt::format("the base of an incremental must be of the dataset sent, {}", shown));
        name.remove_prefix(at + 1);
      }
      auto base = ANYFS_TRY(core_->history->name(d.id, name, kind));
      if (!base)
        return fail(Errc::NotFound, std::string(*from),
                    fmt::format("dataset {} has no {} of this name", shown,
                                kind == NameKind::Bookmark ? "bookmark" : "snapshot"));
      from = (kind == NameKind::Bookmark ? "#" : "@") + std::string(name);
      from_tid = base->tid;
    }
    if (options.history) {
      // Each state after the first takes the one before as its base.
      bool first = true;
      for (auto& state : ANYFS_TRY(states_between(d, snaps, from_tid, *target))) {
        jobs.push_back({d, state.name, first ? from : std::nullopt, relative, options.recursive, state,
                        first ? std::nullopt : jobs.back().to_state});
        first = false;
      }
      continue;
    }
    // Every snapshot between (-I, and -R from nothing: a whole replica), or just the one.
    const bool every = options.intermediates || (options.recursive && !from);
    std::vector<std::string> steps;
    if (every)
      for (auto s = snaps.begin(); s != target; ++s)
        if (!from_tid || s->tid > *from_tid) steps.push_back(s->name);
    steps.push_back(target->name);
    for (const auto& step : steps) {
      jobs.push_back({d, step, from, relative, options.recursive, std::nullopt, std::nullopt});
      from = "@" + step;
    }
  }
  SendReport report;
  std::uint64_t before = 0;
  for (std::size_t i = 0; i < jobs.size(); ++i)
    ANYFS_CHECK(send_one(jobs[i], i + 1 < jobs.size(), sink, options.progress, before, report));
  report.streams = jobs.size();
  if (options.resume_token) report.bytes = *resumed_bytes;
  return report;
}

Result<std::vector<NamedTid>> PoolImpl::states_between(const DatasetState& d, const std::vector<NamedTid>& snaps,
                                                       std::optional<Tid> from, const NamedTid& to) {
  const Tid lo = from.value_or(0);
  std::vector<NamedTid> out;
  for (const auto& s : snaps)
    if (s.tid > lo && s.tid < to.tid) out.push_back(s);
  if (d.history_from) {
    auto uuid = ANYFS_TRY(core_->meta->setting("uuid")).value_or("");
    const auto ends = ANYFS_TRY(core_->history->changed_states(d.id, lo, to.tid - 1));
    // A snapshot holds the state of the last change at or before it: that
    // state goes once, by the snapshot's name.
    std::set<Tid> named;
    for (const auto& s : out)
      if (auto after = std::upper_bound(ends.begin(), ends.end(), s.tid); after != ends.begin())
        named.insert(*std::prev(after));
    named.insert(to.tid);
    if (auto after = std::upper_bound(ends.begin(), ends.end(), to.tid); after != ends.begin())
      named.insert(*std::prev(after));
    for (Tid end : ends) {
      // Only what history still reads.
      if (end < *d.history_from || named.contains(end)) continue;
      auto time = ANYFS_TRY(core_->history->txg_time(end));
      out.push_back({d.id, fmt::format("tid-{}", end), end, time.value_or(0), history_state_guid(uuid, d.id, end)});
    }
  }
  std::sort(out.begin(), out.end(), [](const NamedTid& a, const NamedTid& b) { return a.tid < b.tid; });
  out.push_back(to);
  return out;
}

Result<void> PoolImpl::send_one(const SendJob& job, bool more, const ByteSink& sink,
                                const std::function<void(std::uint64_t)>& progress, std::uint64_t& before,
                                SendReport& report) {
  const auto& state = job.dataset;
  const std::string& dataset = state.name;
  const std::string shown = show_dataset(dataset);
  auto snap = job.to_state ? job.to_state : ANYFS_TRY(core_->history->name(state.id, job.snapshot, NameKind::Snapshot));
  if (!snap) return fail(Errc::NotFound, fmt::format("{}@{}", dataset, job.snapshot), "no such snapshot");
  std::optional<NamedTid> base = job.from_state;
  bool whole_objects = false;
  if (base && base->tid >= snap->tid)
    return fail(Errc::InvalidArgument, base->name, fmt::format("the base (TID {}) is not older than TID {}", base->tid,
                                                               snap->tid));
  if (job.from) {
    const bool bookmark = job.from->starts_with('#');
    base = ANYFS_TRY(core_->history->name(state.id, job.from->substr(1),
                                          bookmark ? NameKind::Bookmark : NameKind::Snapshot));
    if (!base) return fail(Errc::NotFound, *job.from, fmt::format("dataset {} has no such base", shown));
    if (base->tid >= snap->tid)
      return fail(Errc::InvalidArgument, *job.from,
                  fmt::format("the base (TID {}) is not older than @{} (TID {})", base->tid, job.snapshot, snap->tid));
    if (base->guid.empty())
      return fail(Errc::InvalidArgument, *job.from, "the base has no guid (made by an older anyfs)");
    // A snapshot's state can be read: send the difference. A bookmark's may be gone.
    whole_objects = bookmark;
  }

  report.incremental = report.incremental || base.has_value();
  report.from_tid = base ? base->tid : 0;
  report.to_tid = snap->tid;
  report.to_guid = snap->guid;
  stream::StreamWriter out([&](std::string_view bytes) -> Result<void> {
    ANYFS_CHECK(sink(bytes));
    if (progress) progress(before + out.bytes());
    return {};
  });
  auto uuid = ANYFS_TRY(core_->meta->setting("uuid"));
  stream::Header header;
  header.pool_uuid = uuid.value_or("");
  header.dataset = dataset;
  if (base) {
    header.from_guid = base->guid;
    header.from_tid = base->tid;
  }
  header.to_guid = snap->guid;
  header.to_tid = snap->tid;
  header.to_name = snap->name;
  header.to_time_ns = snap->time_ns;
  if (whole_objects) header.flags |= stream::k_flag_whole_objects;
  if (more) header.flags |= stream::k_flag_more;
  if (job.recursive) {
    header.flags |= stream::k_flag_recursive;
    header.relative = job.relative;
    for (auto& [name, value] : ANYFS_TRY(core_->meta->properties(state.id)))
      if (!name.starts_with("received:")) header.properties.emplace_back(name, value);
  }
  ANYFS_CHECK(out.write(header));

  const auto origins = ANYFS_TRY(origins_of(state));
  StateReader now(*core_, state.id, snap->tid, origins);
  Sender sender(*core_, out, report);
  if (base) {
    auto changed = ANYFS_TRY(core_->history->changed_inodes(state.id, base->tid, snap->tid));
    if (!whole_objects) {
      StateReader then(*core_, state.id, base->tid, origins);
      ANYFS_CHECK(sender.incremental(now, then, changed));
    } else {
      ANYFS_CHECK(sender.complete(now, changed));
    }
  } else {
    ANYFS_CHECK(sender.full(now));
  }
  ANYFS_CHECK(out.end());
  before += out.bytes();
  report.bytes += out.bytes();
  report.records += out.records() + 1;
  report.chunks += out.chunks();
  report.chunk_bytes += out.chunk_bytes();
  return {};
}

}  // namespace anyfs
