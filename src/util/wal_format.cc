#include "util/wal_format.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "util/fd.h"

namespace anyfs::sql {
namespace {

constexpr std::uint32_t k_magic = 0x377f0682;  // | 1: big-endian checksum words
constexpr std::uint32_t k_wal_version = 3007000;

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
std::uint32_t le32(const unsigned char* p) {
  return (std::uint32_t{p[3]} << 24) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[1]} << 8) | p[0];
}

// Reads exactly `size` bytes at `offset`; false at the end of the file.
Result<bool> read_at(int fd, unsigned char* out, std::size_t size, std::uint64_t offset, const std::string& path) {
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, out + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno(errno, path, "read");
    if (n == 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// After frame `bad` (whose bytes are in `frame`) fails its checksum: the
// commits the frames after it make, chained from the checksum stored in it.
// A crash can tear only the last transaction, whose frames reach the disk
// unordered before its sync; a transaction that committed after the bad frame
// was synced after it, so two commits after it mean the frame was written
// whole and went bad later.
Result<int> commits_after(int fd, const WalHeader& header, std::vector<unsigned char>& frame, std::uint64_t bad,
                          const std::string& path) {
  if (be32(frame.data() + 8) != header.salt1 || be32(frame.data() + 12) != header.salt2) return 0;
  WalSum sum = stored_wal_sum(frame.data() + 16);
  int commits = 0;
  for (std::uint64_t i = bad + 1;; ++i) {
    const std::uint64_t at = wal_frame_data_offset(header.page_size, i) - k_wal_frame_header_bytes;
    if (!ANYFS_TRY(read_at(fd, frame.data(), frame.size(), at, path))) break;
    WalSum next;
    if (!wal_frame_valid(header, sum, frame.data(), frame.data() + k_wal_frame_header_bytes, next)) break;
    sum = next;
    if (be32(frame.data() + 4) != 0) commits++;
  }
  return commits;
}

}  // namespace

WalSum stored_wal_sum(const unsigned char* bytes) { return {be32(bytes), be32(bytes + 4)}; }

WalSum wal_sum(WalSum sum, const unsigned char* bytes, std::size_t size, bool big_endian) {
  for (std::size_t i = 0; i + 8 <= size; i += 8) {
    std::uint32_t x0 = big_endian ? be32(bytes + i) : le32(bytes + i);
    std::uint32_t x1 = big_endian ? be32(bytes + i + 4) : le32(bytes + i + 4);
    sum.a += x0 + sum.b;
    sum.b += x1 + sum.a;
  }
  return sum;
}

bool parse_wal_header(const unsigned char* bytes, WalHeader& out) {
  const std::uint32_t magic = be32(bytes);
  if ((magic & ~1u) != k_magic || be32(bytes + 4) != k_wal_version) return false;
  out.big_endian = (magic & 1) != 0;
  out.page_size = be32(bytes + 8);
  if (out.page_size == 1) out.page_size = 65536;  // as in the database header
  if (out.page_size < 512 || out.page_size > 65536 || (out.page_size & (out.page_size - 1)) != 0) return false;
  out.salt1 = be32(bytes + 16);
  out.salt2 = be32(bytes + 20);
  out.sum = wal_sum({}, bytes, 24, out.big_endian);
  return out.sum == stored_wal_sum(bytes + 24);
}

bool wal_frame_valid(const WalHeader& header, WalSum previous, const unsigned char* frame_header,
                     const unsigned char* page, WalSum& sum) {
  if (be32(frame_header + 8) != header.salt1 || be32(frame_header + 12) != header.salt2) return false;
  if (be32(frame_header) == 0) return false;  // no page 0
  sum = wal_sum(previous, frame_header, 8, header.big_endian);
  sum = wal_sum(sum, page, header.page_size, header.big_endian);
  return sum == stored_wal_sum(frame_header + 16);
}

Result<WalContents> read_wal(const std::string& database) {
  WalContents out;
  const std::string path = database + "-wal";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return out;
    return fail_errno(errno, path, "open");
  }
  Fd guard(fd);
  unsigned char head[k_wal_header_bytes];
  if (!ANYFS_TRY(read_at(fd, head, sizeof head, 0, path)) || !parse_wal_header(head, out.header)) return out;
  out.present = true;
  const std::uint64_t committed_hint = wal_index_committed_frames(database, out.header);
  const std::uint32_t page_size = out.header.page_size;
  std::vector<unsigned char> frame(k_wal_frame_header_bytes + page_size);
  std::vector<WalFrame> pending;  // valid frames since the last commit
  WalSum sum = out.header.sum;
  for (std::uint64_t i = 0;; ++i) {
    const std::uint64_t at = wal_frame_data_offset(page_size, i) - k_wal_frame_header_bytes;
    if (!ANYFS_TRY(read_at(fd, frame.data(), frame.size(), at, path))) break;
    WalSum next;
    if (!wal_frame_valid(out.header, sum, frame.data(), frame.data() + k_wal_frame_header_bytes, next)) {
      if (i < committed_hint || ANYFS_TRY(commits_after(fd, out.header, frame, i, path)) >= 2) out.broken_frame = i;
      break;
    }
    sum = next;
    pending.push_back({i, be32(frame.data())});
    if (const std::uint32_t size_after = be32(frame.data() + 4); size_after != 0) {
      out.database_pages = size_after;
      out.frames.insert(out.frames.end(), pending.begin(), pending.end());
      pending.clear();
    }
  }
  return out;
}

std::uint64_t wal_index_committed_frames(const std::string& path, const WalHeader& header) {
  int fd = ::open((path + "-shm").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  Fd guard(fd);
  // Two copies of a 48-byte header in native byte order; equal unless a
  // writer is between updating them. The salts are the log header's bytes.
  unsigned char index[96];
  if (::pread(fd, index, sizeof index, 0) != static_cast<ssize_t>(sizeof index)) return 0;
  if (std::memcmp(index, index + 48, 48) != 0 || index[12] == 0) return 0;
  unsigned char salts[8];
  for (int i = 0; i < 4; ++i) {
    salts[i] = static_cast<unsigned char>(header.salt1 >> (24 - 8 * i));
    salts[4 + i] = static_cast<unsigned char>(header.salt2 >> (24 - 8 * i));
  }
  if (std::memcmp(index + 32, salts, 8) != 0) return 0;
  std::uint32_t frames = 0;
  std::memcpy(&frames, index + 16, 4);
  return frames;
}

}  // namespace anyfs::sql
