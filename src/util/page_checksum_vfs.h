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
// A file is checked only when its header says 8 reserved bytes: pools made
// before page checksums (0 reserved bytes) pass through unchanged. Pages in
// the WAL are covered by SQLite's own frame checksums when the WAL is
// recovered, and are stamped when a checkpoint copies them into the file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "anyfs/error.h"

namespace anyfs::sql {

inline constexpr int k_page_checksum_bytes = 8;

// The name of the checksumming VFS over `base` ("" for SQLite's default),
// registered on first use. Thread-safe. Errors: NotFound (no such VFS).
Result<std::string> page_checksum_vfs(std::string_view base);

// The page (1-based) whose checksum failed last on this thread; 0 if none.
std::uint32_t last_bad_page();

// Whether the header of the database file at `path` says its pages carry
// checksums. Errors: Io.
Result<bool> has_page_checksums(const std::string& path);

// What a direct scan of a database file's pages found.
struct PageScan {
  bool checksummed = false;        // the header says 8 reserved bytes
  std::uint64_t pages = 0;         // pages checked
  std::vector<std::uint32_t> bad;  // pages whose checksum does not match
};

// Reads every page of the file at `path` (as many as its header says) and
// checks each one's checksum. Errors: Io.
Result<PageScan> scan_page_checksums(const std::string& path);

}  // namespace anyfs::sql
