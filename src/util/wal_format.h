// SQLite's write-ahead log file, read the way SQLite's recovery reads it (the
// format is SQLite's documented one: a 32-byte header, then frames of a 24-byte
// header and one page, each frame's checksum continuing the one before it).
// The pages a pool's newest commits hold live here until a checkpoint copies
// them into the pool file, so whatever checks pages must check these too:
// verify reads the newest version of every page from here when there is one,
// and the page-checksum VFS checks each frame SQLite reads against its frame
// checksum.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "anyfs/error.h"

namespace anyfs::sql {

inline constexpr std::uint32_t k_wal_header_bytes = 32;
inline constexpr std::uint32_t k_wal_frame_header_bytes = 24;

// The running checksum of a WAL: two 32-bit sums over 32-bit words.
struct WalSum {
  std::uint32_t a = 0, b = 0;
  bool operator==(const WalSum&) const = default;
};

// The two sums stored big-endian at `bytes` (a header's or a frame's checksum,
// or a frame's salts).
WalSum stored_wal_sum(const unsigned char* bytes);

// Continues `sum` over `bytes` (a multiple of 8 long), reading words in the
// byte order the log's magic number names (`big_endian`).
WalSum wal_sum(WalSum sum, const unsigned char* bytes, std::size_t size, bool big_endian);

struct WalHeader {
  std::uint32_t page_size = 0;
  bool big_endian = false;       // the byte order of the checksums' words
  std::uint32_t salt1 = 0, salt2 = 0;
  WalSum sum;                    // the header's checksum: the first frame continues it
};

// Parses and checks a WAL header (32 bytes); false if it is not a valid one.
bool parse_wal_header(const unsigned char* bytes, WalHeader& out);

// The frame's page bytes start at this offset of the log (frames count from 0).
inline std::uint64_t wal_frame_data_offset(std::uint32_t page_size, std::uint64_t frame) {
  return k_wal_header_bytes + frame * (k_wal_frame_header_bytes + std::uint64_t{page_size}) +
         k_wal_frame_header_bytes;
}

// Whether a frame (its 24-byte header and page) continues the log after a
// frame whose checksum was `previous`: salts equal to the header's and the
// stored checksum equal to the computed one. Sets `sum` to the frame's.
bool wal_frame_valid(const WalHeader& header, WalSum previous, const unsigned char* frame_header,
                     const unsigned char* page, WalSum& sum);

struct WalFrame {
  std::uint64_t index = 0;  // from 0
  std::uint32_t page = 0;   // the database page it holds (from 1)
};

// What recovery would take from a log: the frames up to the last commit.
struct WalContents {
  bool present = false;            // a log with a valid header
  WalHeader header;
  std::uint32_t database_pages = 0;  // the database size as of the last commit (0: no commit)
  std::vector<WalFrame> frames;      // the committed frames, oldest first
  // The first frame whose checksum fails among those the shared index counts
  // as committed, or followed by two more commits: damage SQLite's recovery
  // would take for the end of the log, dropping every commit from it on.
  std::optional<std::uint64_t> broken_frame;
};

// Reads the log of the database at `database` (its "-wal" file; absent or
// empty: nothing). A frame the shared-memory index beside it counts as
// committed whose checksum fails is damage, not the end of the log. Errors: Io.
Result<WalContents> read_wal(const std::string& database);

// The committed frame count the shared-memory index beside a WAL database
// (`path` + "-shm") records for the log whose header is `header`; 0 if there
// is none or it belongs to another generation of the log.
std::uint64_t wal_index_committed_frames(const std::string& path, const WalHeader& header);

}  // namespace anyfs::sql
