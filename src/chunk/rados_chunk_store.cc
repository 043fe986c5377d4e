#include "chunk/rados_chunk_store.h"

#include <fmt/format.h>
#include <rados/librados.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <set>
#include <vector>

#include "util/mutex.h"

namespace anyfs {
namespace {

constexpr char k_magic[4] = {'A', 'N', 'Y', 'C'};
constexpr std::uint8_t k_object_format = 1;
constexpr std::size_t k_header_bytes = 20;

void put_le(char* at, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) at[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
std::uint64_t get_le(const char* at, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(at[i]);
  return v;
}

Errc errc_of(int r) {
  switch (-r) {
    case ENOENT: return Errc::NotFound;
    case ENOSPC:
    case EDQUOT: return Errc::NoSpace;
    case ETIMEDOUT: return Errc::TimedOut;
    default: return Errc::Io;
  }
}

class RadosChunkStore final : public ChunkStore {
 public:
  RadosChunkStore(std::unique_ptr<librados::Rados> cluster, librados::IoCtx io, std::string where,
                  const RadosOptions& options)
      : cluster_(std::move(cluster)),
        io_(std::move(io)),
        where_(std::move(where)),
        grace_(options.delete_grace),
        still_named_(options.still_named) {}
  ~RadosChunkStore() override {
    (void)make_durable();
    {
      MutexLock lock(mu_);
      // No reader of this store is left; readers elsewhere have had the grace period.
      delete_doomed(Clock::now() - grace_);
    }
    io_.close();
    cluster_->shutdown();
  }

  Result<void> put(const ChunkId& id, const StoredChunk& chunk) override {
    librados::bufferlist bl;
    char header[k_header_bytes] = {};
    std::memcpy(header, k_magic, 4);
    header[4] = static_cast<char>(k_object_format);
    header[5] = static_cast<char>(chunk.codec);
    put_le(header + 8, chunk.raw_size, 4);
    put_le(header + 12, chunk.checksum, 8);
    bl.append(header, k_header_bytes);
    bl.append(chunk.stored.data(), static_cast<unsigned>(chunk.stored.size()));
    MutexLock lock(mu_);
    // Made exclusively: an id stored already keeps its first copy (the
    // write fails with EEXIST, which is success here). One removed here and
    // not yet deleted is written anew and kept.
    const bool was_removed = unhide(id);
    librados::ObjectWriteOperation op;
    if (!was_removed) op.create(true);
    op.write_full(bl);
    librados::AioCompletion* done = librados::Rados::aio_create_completion();
    const int r = io_.aio_operate(to_hex(id), done, &op);
    if (r < 0) {
      done->release();
      return failure(r, id, "writing");
    }
    in_flight_.push_back({id, done});
    // Bounded: a long flush does not pile up every chunk's buffer.
    if (in_flight_.size() >= k_max_in_flight) return wait_all();
    return {};
  }

  Result<void> make_durable() override {
    MutexLock lock(mu_);
    return wait_all();
  }

  Result<StoredChunk> get(const ChunkId& id) override {
    ANYFS_CHECK(wait_for(id));
    if (hidden(id)) return failure(-ENOENT, id, "reading");
    librados::bufferlist bl;
    // 0: the whole object.
    const int r = io_.read(to_hex(id), bl, 0, 0);
    if (r < 0) return failure(r, id, "reading");
    if (bl.length() < k_header_bytes)
      return fail(Errc::Corrupt, where_, fmt::format("chunk {}: object shorter than its header", to_hex(id)));
    std::string all = bl.to_str();
    if (std::memcmp(all.data(), k_magic, 4) != 0)
      return fail(Errc::Corrupt, where_, fmt::format("chunk {}: not an AnyFS chunk object", to_hex(id)));
    if (static_cast<std::uint8_t>(all[4]) > k_object_format)
      return fail(Errc::Unsupported, where_,
                  fmt::format("chunk {}: object format {} is newer than this anyfs reads", to_hex(id),
                              static_cast<int>(static_cast<std::uint8_t>(all[4]))));
    StoredChunk out;
    out.codec = static_cast<Codec>(static_cast<std::uint8_t>(all[5]));
    out.raw_size = static_cast<std::uint32_t>(get_le(all.data() + 8, 4));
    out.checksum = get_le(all.data() + 12, 8);
    out.stored = all.substr(k_header_bytes);
    return out;
  }

  Result<bool> has(const ChunkId& id) override {
    ANYFS_CHECK(wait_for(id));
    if (hidden(id)) return false;
    std::uint64_t size = 0;
    std::time_t mtime = 0;
    const int r = io_.stat(to_hex(id), &size, &mtime);
    if (r == -ENOENT) return false;
    if (r < 0) return failure(r, id, "looking up");
    return true;
  }

  Result<void> remove(const ChunkId& id) override {
    ANYFS_CHECK(wait_for(id));
    if (hidden(id)) return failure(-ENOENT, id, "removing");
    std::uint64_t size = 0;
    std::time_t mtime = 0;
    const int r = io_.stat(to_hex(id), &size, &mtime);
    if (r < 0) return failure(r, id, "removing");
    MutexLock lock(mu_);
    removed_.insert(id);
    return {};
  }

  // Rule 3: objects of this namespace that no record names — left by a
  // crash between a put and the records' commit — are deleted, and counted
  // with their stored bytes. Without `still_named` nothing is known to be
  // unnamed, and nothing is deleted.
  Result<void> sweep_unnamed(std::uint64_t& removed, std::uint64_t& bytes) override {
    if (!still_named_) return {};
    for (const ChunkId& id : ANYFS_TRY(list())) {
      if (ANYFS_TRY(still_named_(id))) continue;
      std::uint64_t size = 0;
      std::time_t mtime = 0;
      int r = io_.stat(to_hex(id), &size, &mtime);
      if (r == 0) r = io_.remove(to_hex(id));
      if (r == -ENOENT) continue;  // gone meanwhile
      if (r < 0) return failure(r, id, "sweeping");
      removed += 1;
      bytes += size > k_header_bytes ? size - k_header_bytes : 0;
    }
    return {};
  }

  // The removals of the transaction that committed start their grace period;
  // those whose grace has passed are deleted.
  void committed() override {
    MutexLock lock(mu_);
    const auto now = Clock::now();
    for (const ChunkId& id : removed_) {
      doomed_.push_back({now, id});
      doomed_ids_.insert(id);
    }
    removed_.clear();
    delete_doomed(now - grace_);
  }

  Result<std::vector<ChunkId>> list() override {
    ANYFS_CHECK(make_durable());
    std::vector<ChunkId> out;
    try {
      for (auto it = io_.nobjects_begin(); it != io_.nobjects_end(); ++it) {
        const auto id = chunk_id_from_hex(it->get_oid());
        if (id && !hidden(*id)) out.push_back(*id);
      }
    } catch (const std::exception& e) {
      return fail(Errc::Io, where_, std::string("listing objects: ") + e.what());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  static constexpr std::size_t k_max_in_flight = 64;
  using Clock = std::chrono::steady_clock;
  struct Pending {
    ChunkId id;
    librados::AioCompletion* done;
  };
  struct Doomed {
    Clock::time_point at;  // when its removal committed
    ChunkId id;
  };

  // Removed here and not deleted yet: gone for this store's callers.
  bool hidden(const ChunkId& id) {
    MutexLock lock(mu_);
    return removed_.contains(id) || doomed_ids_.contains(id);
  }
  // Takes `id` off the lists of removals; whether it was on one.
  bool unhide(const ChunkId& id) REQUIRES(mu_) {
    const bool removed = removed_.erase(id) > 0;
    if (doomed_ids_.erase(id) == 0) return removed;
    std::erase_if(doomed_, [&](const Doomed& d) { return d.id == id; });
    return true;
  }
  // Deletes the doomed objects whose removal committed at or before `before`,
  // unless the records name them again. A failure leaves the object for gc.
  void delete_doomed(Clock::time_point before) REQUIRES(mu_) {
    while (!doomed_.empty() && doomed_.front().at <= before) {
      const ChunkId id = doomed_.front().id;
      doomed_.pop_front();
      doomed_ids_.erase(id);
      if (still_named_) {
        auto named = still_named_(id);
        if (!named || *named) continue;
      }
      (void)io_.remove(to_hex(id));
    }
  }

  std::unexpected<Error> failure(int r, const ChunkId& id, std::string_view doing) const {
    return std::unexpected(
        Error(errc_of(r), where_, fmt::format("{} chunk {}: {}", doing, to_hex(id), std::strerror(-r))));
  }

  // Waits for every write in flight; the first failure is the result.
  Result<void> wait_all() REQUIRES(mu_) {
    Result<void> result;
    for (auto& p : in_flight_) {
      p.done->wait_for_complete();
      const int r = p.done->get_return_value();
      p.done->release();
      if (r < 0 && r != -EEXIST && result) result = failure(r, p.id, "writing");
    }
    in_flight_.clear();
    return result;
  }

  // A read or removal of a chunk being written waits for its write.
  Result<void> wait_for(const ChunkId& id) {
    MutexLock lock(mu_);
    for (const auto& p : in_flight_)
      if (p.id == id) return wait_all();
    return {};
  }

  std::unique_ptr<librados::Rados> cluster_;
  librados::IoCtx io_;
  const std::string where_;
  const std::chrono::milliseconds grace_;
  const std::function<Result<bool>(const ChunkId&)> still_named_;
  Mutex mu_;
  std::vector<Pending> in_flight_ GUARDED_BY(mu_);
  std::set<ChunkId> removed_ GUARDED_BY(mu_);   // in the transaction not committed yet
  std::deque<Doomed> doomed_ GUARDED_BY(mu_);   // committed, waiting out the grace period
  std::set<ChunkId> doomed_ids_ GUARDED_BY(mu_);  // the same ids, for lookups on every put and get
};

}  // namespace

Result<std::unique_ptr<ChunkStore>> open_rados_chunk_store(const RadosOptions& options) {
  const std::string where = fmt::format("rados://{}{}{}", options.pool, options.ns.empty() ? "" : "/", options.ns);
  auto cluster = std::make_unique<librados::Rados>();
  int r = cluster->init2(options.client.c_str(), "ceph", 0);
  if (r < 0) return fail(Errc::Io, where, fmt::format("cannot set up a RADOS client: {}", std::strerror(-r)));
  r = cluster->conf_read_file(options.conf_path.empty() ? nullptr : options.conf_path.c_str());
  if (r < 0)
    return fail(Errc::Io, where,
                fmt::format("cannot read the Ceph configuration {}: {}",
                            options.conf_path.empty() ? "(CEPH_CONF or the default)" : options.conf_path,
                            std::strerror(-r)));
  const std::string timeout = std::to_string(options.timeout_s);
  for (const char* key : {"client_mount_timeout", "rados_mon_op_timeout", "rados_osd_op_timeout"})
    (void)cluster->conf_set(key, timeout.c_str());
  r = cluster->connect();
  if (r < 0) return fail(Errc::Io, where, fmt::format("cannot connect to the Ceph cluster: {}", std::strerror(-r)));
  librados::IoCtx io;
  r = cluster->ioctx_create(options.pool.c_str(), io);
  if (r < 0) {
    cluster->shutdown();
    return fail(r == -ENOENT ? Errc::NotFound : Errc::Io, where,
                r == -ENOENT ? "no such RADOS pool" : fmt::format("cannot open the RADOS pool: {}", std::strerror(-r)));
  }
  io.set_namespace(options.ns);
  return std::unique_ptr<ChunkStore>(std::make_unique<RadosChunkStore>(std::move(cluster), std::move(io), where, options));
}

}  // namespace anyfs
