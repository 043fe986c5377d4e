#include "pool/space_guard.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

namespace anyfs {
namespace {

constexpr std::uint64_t k_mib = 1ull << 20;

std::string mib(std::uint64_t bytes) { return fmt::format("{:.1f} MiB", double(bytes) / double(k_mib)); }

}  // namespace

void SpaceGuard::attach(const std::string& path) {
  path_ = path;
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) != 0 || fs.f_frsize == 0) return;
  const std::uint64_t total = std::uint64_t{fs.f_blocks} * fs.f_frsize;
  // ZFS keeps 1/32 of a pool back; a floor of 8 MiB covers the metadata a
  // removal of a large file writes (its chunk rows' leaf pages, the freelist).
  // removal of a large file writes (its chunk rows' leaf pages, the freelist);
  // a file system of a few MiB keeps 1/8 of itself.
  reserve_ = std::clamp<std::uint64_t>(total / 32, std::min(8 * k_mib, total / 8), 1024 * k_mib);
  // On a small file system a group of 128 MiB would hold a log as large as
  // the data: groups are cut at 1/16 of it there.
  txg_limit_ = std::clamp<std::uint64_t>(total / 16, std::min(4 * k_mib, total / 16), 128 * k_mib);
  log_slack_ = std::min(8 * k_mib, total / 8);
  attached_ = true;
}

std::uint64_t SpaceGuard::available(bool fresh) {
  const auto now = std::chrono::steady_clock::now();
  // statvfs costs a system call: read again every 50 ms, or sooner once what
  // was admitted since could matter.
  if (fresh || now - read_at_ > std::chrono::milliseconds(50) || admitted_since_ > reserve_ / 4) {
    struct statvfs fs {};
    if (::statvfs(path_.c_str(), &fs) == 0) available_ = std::uint64_t{fs.f_bavail} * fs.f_frsize;
    read_at_ = now;
    admitted_since_ = 0;
  }
  return available_ - std::min(available_, admitted_since_);
}

Result<void> SpaceGuard::admit(std::uint64_t bytes, const PoolSpace& pool, bool fresh) {
  if (!attached_) return {};
  const std::uint64_t free = available(fresh);
  const std::uint64_t log_growth = wal_limit() - std::min(wal_limit(), pool.wal_bytes);
  // Data committed in the last group may still wait in the log for its
  // checkpoint: a group's worth more.
  const std::uint64_t data = pool.pending_bytes + bytes + txg_limit_;
  const std::uint64_t file_growth = data - std::min(data, pool.free_bytes);
  const std::uint64_t need = reserve_ + log_growth + file_growth;
  if (free < need)
    return fail(Errc::NoSpace, path_,
                fmt::format("no room for {} more bytes: {} free on the file system, {} kept in reserve so that "
                            "files can always be removed; remove files or destroy snapshots to make room",
                            bytes, mib(free), mib(reserve_)));
  admitted_since_ += bytes;
  return {};
}

}  // namespace anyfs
