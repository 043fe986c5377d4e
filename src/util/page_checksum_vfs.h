// Page checksums for pool files: a SQLite VFS shim over another VFS that keeps
// an XXH3-64 of each page in the page's last 8 bytes (SQLite's "reserved
// bytes", which SQLite itself never uses). Every full page written to a
// database file is stamped; every page read from it is checked — each read()
// (a copy into SQLite's cache), and a page of the memory map on its first use
// and again on its first use in each later second (SQLite fetches mapped pages
// on every use) — so a flipped bit in any stored byte (metadata, chunk rows,
// chunk data) is found on read and by verify instead of being served. A
// mismatch is SQLITE_IOERR_DATA, which error_from turns into Corrupt naming
// the page.
//
// Pages in the write-ahead log carry no page checksum of their own (SQLite
// writes them there before the shim could stamp them, and covers them with
// its frame checksums instead): a page read from the log is checked against
// its frame's checksum, and is stamped when a checkpoint copies it into the
// file. The page scan below reads the newest version of every page, from the
// log where it is there.
//
// A file is checked only when its header says 8 reserved bytes: pools made
// before page checksums (0 reserved bytes) pass through unchanged. Pages in
// the WAL: see below.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "anyfs/error.h"

namespace anyfs::sql {

inline constexpr int k_page_checksum_bytes = 8;

// SQLite's lock-byte page: the page holding byte offset 2^30 of a database
// file, where the file locks live. SQLite never writes or reads it, so in a
// file past 1 GiB it holds whatever the file system gives (no checksum):
// anything that checks pages by number skips it.
inline constexpr std::uint32_t lock_byte_page(std::uint32_t page_size) { return (1u << 30) / page_size + 1; }

// The name of the checksumming VFS over `base` ("" for SQLite's default),
// registered on first use. Thread-safe. Errors: NotFound (no such VFS).
Result<std::string> page_checksum_vfs(std::string_view base);

// Where a checksum failed last on this thread: a page of the database file
// (from 1), or a frame of its write-ahead log (from 0); number 0 and not
// `wal` if none.
struct BadPlace {
  bool wal = false;
  std::uint64_t number = 0;
};
BadPlace last_bad_place();

// Whether the header of the database file at `path` says its pages carry
// checksums. Errors: Io.
Result<bool> has_page_checksums(const std::string& path);

// What a direct scan of a database file's pages found.
struct PageScan {
  bool checksummed = false;        // the header says 8 reserved bytes
  std::uint64_t pages = 0;         // pages checked (in the file or in the log)
  std::uint64_t wal_frames = 0;    // committed frames of the log, checked by their frame checksums
  std::vector<std::uint32_t> bad;  // pages in the file whose checksum does not match
  // A frame the live connections count as committed whose frame checksum
  // fails (see read_wal).
  std::optional<std::uint64_t> broken_frame;
};

// Checks the newest version of every page of the database at `path` (as many
// as its newest commit says), skipping the lock-byte page: a page a committed
// frame of the log holds by its frame checksum, any other by its page
// checksum in the file. Run it inside a read transaction of a connection to
// the database, so that no checkpoint moves pages while it reads. Errors: Io.
Result<PageScan> scan_page_checksums(const std::string& path);

}  // namespace anyfs::sql
