// File contents of a dataset (pool/dataset_impl.h): open handles, writes and
// truncation, stat, access times, and the calls that share extents between
// files (reflink, clone_range) or drop them (punch_hole).
#include <fmt/format.h>

#include <algorithm>

#include "fs/checks.h"
#include "pool/dataset_impl.h"
#include "util/clock.h"

namespace anyfs {

Result<FileHandle> DatasetImpl::open_node(Node* node, OpenFlags flags, std::string path) {
  if (has(flags, OpenFlags::Truncate) && node->rec.kind == FileKind::Regular && node->rec.size != 0) {
    Tid tid = ANYFS_TRY(op("truncate", path));
    ANYFS_CHECK(core_->end_op(truncate_node(node, 0, tid)));
  }
  // Held before the access time moves: that change failing drops the nodes
  // nothing holds from the cache (NodeCache::forget), and the open goes on.
  auto held = nodes_.shared(node);
  held->opens++;
  if (wants_read(flags)) (void)note_access(*node, flags);
  return std::make_unique<DatasetFile>(shared_from_this(), std::move(held), flags, std::move(path));
}

Result<std::uint64_t> DatasetImpl::write_node(Node& node, std::string_view data, std::uint64_t offset, Tid tid,
                                              bool times) {
  if (offset > k_max_file_size || data.size() > k_max_file_size - offset)
    return fail(Errc::FileTooBig, "", "write past the largest file");
  if (data.empty()) return offset;
  ANYFS_CHECK(nodes_.own(&node, tid));
  data_.buffer(node, data, offset);
  node.rec.size = std::max(node.rec.size, offset + data.size());
  if (times) node.rec.mtime_ns = node.rec.ctime_ns = wall_clock_ns();
  nodes_.mark(&node, tid);
  return offset;
}

Result<void> DatasetImpl::check_truncate(Node* node, std::uint64_t size, std::string_view p) {
  if (node->rec.kind == FileKind::Directory) return fail(Errc::IsDir, std::string(p), "is a directory");
  if (node->rec.kind != FileKind::Regular) return fail(Errc::InvalidArgument, std::string(p), "not a regular file");
  if (size > k_max_file_size) return fail(Errc::FileTooBig, std::string(p), "size past the largest file");
  return {};
}

Result<void> DatasetImpl::truncate_node(Node* node, std::uint64_t size, Tid tid) {
  ANYFS_CHECK(nodes_.own(node, tid));
  // Buffered bytes past the new end go; so do extents.
  if (size < node->rec.size) ANYFS_CHECK(data_.cut_at(*node, size, tid));
  node->rec.size = size;
  node->rec.mtime_ns = node->rec.ctime_ns = wall_clock_ns();
  nodes_.mark(node, tid);
  return {};
}

Stat DatasetImpl::stat_of(const Node& node, std::uint64_t allocated) {
  Stat st;
  const auto& r = node.rec;
  st.kind = r.kind;
  st.mode = r.mode;
  st.uid = r.uid;
  st.gid = r.gid;
  st.nlink = r.nlink;
  st.ino = r.ino;
  st.size = r.size;
  st.atime_ns = r.atime_ns;
  st.mtime_ns = r.mtime_ns;
  st.ctime_ns = r.ctime_ns;
  st.btime_ns = r.btime_ns;
  st.rdev = r.rdev;
  if (r.kind == FileKind::Regular) st.blocks = (allocated + 511) / 512;
  return st;
}

Result<Stat> DatasetImpl::stat_node(Node& node) {
  ANYFS_CHECK(nodes_.refresh(node));
  return stat_of(node, node.rec.kind == FileKind::Regular ? ANYFS_TRY(data_.allocated(node)) : 0);
}

std::optional<Stat> DatasetImpl::stat_cached(const Node& node) const {
  if (node.stale) return std::nullopt;
  std::uint64_t allocated = 0;
  if (node.rec.kind == FileKind::Regular) {
    auto cached = FileData::allocated_cached(node);
    if (!cached) return std::nullopt;
    allocated = *cached;
  }
  return stat_of(node, allocated);
}

// relatime moves the access time only while it is not newer than the last
// change, or once it is a day old (Linux's default); never in a view of the
// past, a read-only pool or for NoAtime.
bool DatasetImpl::moves_atime(const Node& node, OpenFlags flags, std::int64_t now) const {
  using Atime = DatasetSettings::Atime;
  // In a clone, a file it has not changed keeps its origin's access time:
  // moving it would copy all the file's records into the clone.
  if (settings_.atime == Atime::Off || has(flags, OpenFlags::NoAtime) || core_->read_only || historical() ||
      node.gone || node.layer != 0)
    return false;
  const auto& r = node.rec;
  constexpr std::int64_t k_day_ns = 86'400'000'000'000;
  if (settings_.atime == Atime::Relatime && r.atime_ns > r.mtime_ns && r.atime_ns > r.ctime_ns &&
      now - r.atime_ns < k_day_ns)
    return false;
  return r.atime_ns != now;
}

Result<void> DatasetImpl::note_access(Node& node, OpenFlags flags) {
  const std::int64_t t = wall_clock_ns();
  // Not beside a flush (a read may overlap one, pool/pool_lock.h): a change
  // waits for it to end, and the access time is not worth the wait.
  if (core_->mu.gate_closed() || !moves_atime(node, flags, t)) return {};
  // One log entry for a run of them (a read pass over a tree moves many).
  Tid tid = ANYFS_TRY(op("access", "access times"));
  return core_->end_op([&]() REQUIRES(pool_lock) -> Result<void> {
    ANYFS_CHECK(nodes_.own(&node, tid));
    node.rec.atime_ns = t;
    nodes_.mark(&node, tid);
    return {};
  }());
}

Result<void> DatasetImpl::release(const std::shared_ptr<Node>& node) {
  auto unused_removed = [&]() REQUIRES(pool_lock) { return node->opens == 0 && node->rec.nlink == 0 && !node->gone; };
  if (!unused_removed() || core_->read_only || historical()) return {};
  // Destroying it is a change: not beside a flush (pool/pool_lock.h). What
  // was true before the wait is checked again after it.
  core_->mu.wait_gate();
  if (!unused_removed() || !core_->check_usable()) return {};
  Tid tid = ANYFS_TRY(op("release", fmt::format("inode {}", node->rec.ino)));
  return core_->end_op(destroy(*node, tid));
}

Result<void> DatasetImpl::reflink(std::string_view from, std::string_view to) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(start());
  Node* src = ANYFS_TRY(existing(from, Follow::Yes));
  if (src->rec.kind != FileKind::Regular)
    return fail(Errc::InvalidArgument, std::string(from), "only regular files can be reflinked");
  auto r = ANYFS_TRY(for_new_entry(to));
  Tid tid = ANYFS_TRY(op("reflink", fmt::format("{} -> {}", to, from)));
  return core_->end_op([&]() REQUIRES(pool_lock) -> Result<void> {
    ANYFS_CHECK(data_.flush(*src, true));
    Node* parent = ANYFS_TRY(nodes_.load(r.parent().ino));
    Node* node = ANYFS_TRY(create_in(parent, r.leaf, process_owned(FileKind::Regular, src->rec.mode), tid));
    node->rec.size = src->rec.size;
    node->data_tid = tid;
    const DatasetLayer& layer = nodes_.layer_of(*src);
    for (auto e : ANYFS_TRY(core_->meta->extents(layer.ds, src->rec.ino, 0, k_max_file_size, layer.at))) {
      e.ino = node->rec.ino;
      ANYFS_CHECK(core_->meta->put_extent(id_, e, tid));
    }
    return {};
  }());
}

Result<std::uint64_t> DatasetImpl::clone_range(Ino from, std::uint64_t from_offset, Ino to, std::uint64_t to_offset,
                                               std::uint64_t length) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(start());
  Node* source = ANYFS_TRY(nodes_.load(from, Errc::NotFound));
  Node* target = ANYFS_TRY(nodes_.load(to, Errc::NotFound));
  for (Node* n : {source, target}) {
    if (n->rec.kind == FileKind::Directory) return fail(Errc::IsDir, "", "is a directory");
    if (n->rec.kind != FileKind::Regular) return fail(Errc::InvalidArgument, "", "not a regular file");
  }
  if (from_offset >= source->rec.size || length == 0) return std::uint64_t{0};
  length = std::min(length, source->rec.size - from_offset);
  if (to_offset > k_max_file_size || length > k_max_file_size - to_offset)
    return fail(Errc::FileTooBig, "", "past the largest file");
  if (source == target && from_offset < to_offset + length && to_offset < from_offset + length)
    return fail(Errc::InvalidArgument, "", "the ranges overlap");
  Tid tid = ANYFS_TRY(op("clone", fmt::format("{} -> {}", ANYFS_TRY(nodes_.path_of(*target)),
                                              ANYFS_TRY(nodes_.path_of(*source)))));
  ANYFS_CHECK(core_->end_op([&]() REQUIRES(pool_lock) -> Result<void> {
    ANYFS_CHECK(data_.flush(*source, true));
    ANYFS_CHECK(data_.flush(*target, true));
    ANYFS_CHECK(nodes_.own(target, tid));
    ANYFS_CHECK(data_.punch(*target, to_offset, to_offset + length, tid));
    const DatasetLayer& layer = nodes_.layer_of(*source);
    for (const auto& e : ANYFS_TRY(core_->meta->extents(layer.ds, from, from_offset, from_offset + length, layer.at))) {
      std::uint64_t start = std::max(e.offset, from_offset);
      std::uint64_t end = std::min(e.end(), from_offset + length);
      ExtentRecord copy{to, to_offset + (start - from_offset), end - start, e.chunk, e.chunk_offset + (start - e.offset)};
      ANYFS_CHECK(core_->meta->put_extent(id_, copy, tid));
    }
    target->extents.reset();
    target->rec.size = std::max(target->rec.size, to_offset + length);
    target->rec.mtime_ns = target->rec.ctime_ns = wall_clock_ns();
    nodes_.mark(target, tid);
    return {};
  }()));
  return length;
}

Result<void> DatasetImpl::punch_hole(Ino ino, std::uint64_t offset, std::uint64_t length) {
  PoolLock lock(core_->mu);
  ANYFS_CHECK(start());
  Node* node = ANYFS_TRY(nodes_.load(ino, Errc::NotFound));
  if (node->rec.kind != FileKind::Regular) return fail(Errc::InvalidArgument, "", "not a regular file");
  std::uint64_t end = length > node->rec.size - std::min(offset, node->rec.size) ? node->rec.size : offset + length;
  if (offset >= end) return {};
  Tid tid = ANYFS_TRY(op("punch", ANYFS_TRY(nodes_.path_of(*node))));
  return core_->end_op([&]() REQUIRES(pool_lock) -> Result<void> {
    ANYFS_CHECK(data_.flush(*node, true));
    ANYFS_CHECK(nodes_.own(node, tid));
    ANYFS_CHECK(data_.punch(*node, offset, end, tid));
    node->rec.mtime_ns = node->rec.ctime_ns = wall_clock_ns();
    nodes_.mark(node, tid);
    return {};
  }());
}

// --- DatasetFile -----------------------------------------------------------------

Result<void> DatasetFile::check_open() const {
  if (closed_) return fail(Errc::BadHandle, "", "handle is closed");
  return {};
}

Result<void> DatasetFile::check_writable() const {
  ANYFS_CHECK(check_open());
  if (!wants_write(flags_)) return fail(Errc::BadHandle, "", "handle is not open for writing");
  return {};
}

// A file whose data is all committed is read outside the pool lock, on a
// read connection (pool/reader_pool.h) or from the decoded-chunk cache: reads
// run in parallel with each other and with the writer's work. They are
// planned under the lock held shared when the node has what the plan needs
// cached, else under it alone. If such a read fails — a commit in between
// freed a chunk it names, or real damage — it is read again under the lock,
// which reports what is really wrong. The access time moves before a read
// outside the lock, after one under it; either way the read sees it.
Result<std::size_t> DatasetFile::pread(std::span<char> buf, std::uint64_t offset) {
  ANYFS_CHECK(check_open());
  if (!wants_read(flags_)) return fail(Errc::BadHandle, "", "handle is not open for reading");
  std::optional<ReadPlan> plan;
  {
    // Under the lock held shared: the end of the file, or a plan from the
    // node's cached state — when no access time moves.
    PoolSharedLock shared(ds_->core_->mu);
    if (ds_->shared_reads_ok() && node_->rec.kind == FileKind::Regular && !node_->stale &&
        !ds_->moves_atime(*node_, flags_, wall_clock_ns())) {
      if (offset >= node_->rec.size || buf.empty()) return std::size_t{0};
      plan = ds_->data_.plan_cached(*node_, offset, buf.size());
    }
  }
  if (!plan) {
    PoolLock lock(ds_->core_->mu, Flushes::Overlap);
    ANYFS_CHECK(ds_->core_->begin_read());
    if (node_->rec.kind == FileKind::Directory) return fail(Errc::IsDir, "", "is a directory");
    plan = ANYFS_TRY(ds_->data_.plan_read(*node_, offset, buf.size()));
    if (!plan) return read_locked(buf, offset);
    (void)ds_->note_access(*node_, flags_);
  }
  auto n = FileData::read_planned(*plan, ds_->core_->readers, ds_->core_->chunk_cache, ds_->core_->workers, buf,
                                  offset);
  if (n) return n;
  PoolLock lock(ds_->core_->mu, Flushes::Overlap);
  ANYFS_CHECK(ds_->core_->begin_read());
  return ds_->data_.read(*node_, buf, offset);
}

Result<std::size_t> DatasetFile::read_locked(std::span<char> buf, std::uint64_t offset) {
  auto n = ds_->data_.read(*node_, buf, offset);
  if (n) (void)ds_->note_access(*node_, flags_);
  return n;
}

Result<void> DatasetFile::write_at(std::string_view data, std::uint64_t offset) {
  ANYFS_CHECK(ds_->core_->admit_data(data.size()));
  Tid tid = ANYFS_TRY(ds_->op("write", path_));
  auto written = ds_->write_node(*node_, data, offset, tid, !has(flags_, OpenFlags::CallerTimes));
  // A storage failure in it (a clone taking over the file's rows) poisons the pool.
  return ds_->core_->end_op(written ? Result<void>{} : Result<void>(std::unexpected(written.error())));
}

Result<std::size_t> DatasetFile::pwrite(std::string_view data, std::uint64_t offset) {
  ANYFS_CHECK(check_writable());
  PoolLock lock(ds_->core_->mu);
  ANYFS_CHECK(ds_->core_->check_usable());
  if (has(flags_, OpenFlags::Append)) offset = node_->rec.size;
  if (data.empty()) return std::size_t{0};
  ANYFS_CHECK(write_at(data, offset));
  return data.size();
}

Result<std::uint64_t> DatasetFile::append(std::string_view data) {
  ANYFS_CHECK(check_writable());
  PoolLock lock(ds_->core_->mu);
  ANYFS_CHECK(ds_->core_->check_usable());
  const std::uint64_t at = node_->rec.size;
  if (data.empty()) return at;
  ANYFS_CHECK(write_at(data, at));
  return at;
}

Result<void> DatasetFile::truncate(std::uint64_t size) {
  ANYFS_CHECK(check_writable());
  PoolLock lock(ds_->core_->mu);
  ANYFS_CHECK(ds_->core_->check_usable());
  ANYFS_CHECK(ds_->check_truncate(node_.get(), size, ""));
  Tid tid = ANYFS_TRY(ds_->op("truncate", path_));
  return ds_->core_->end_op(ds_->truncate_node(node_.get(), size, tid));
}

Result<void> DatasetFile::fsync() {
  ANYFS_CHECK(check_open());
  PoolLock lock(ds_->core_->mu);
  ANYFS_CHECK(ds_->core_->check_usable());
  if (ds_->core_->read_only || ds_->core_->sync_mode == SyncMode::Disabled) return {};
  return ds_->core_->commit();
}

Result<Stat> DatasetFile::stat() {
  ANYFS_CHECK(check_open());
  PoolLock lock(ds_->core_->mu, Flushes::Overlap);
  ANYFS_CHECK(ds_->core_->begin_read());
  return ds_->stat_node(*node_);
}

Result<void> DatasetFile::close() {
  if (closed_.exchange(true)) return {};
  // Another handle still holds the node: nothing but the count changes, and
  // that needs no lock. The last one may have to destroy a removed file.
  if (node_->opens.fetch_sub(1) > 1) return {};
  PoolLock lock(ds_->core_->mu, Flushes::Overlap);
  return ds_->release(node_);
}

}  // namespace anyfs
