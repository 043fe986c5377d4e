// How AnyFS's SQLite files are made and opened — the pool file
// (meta/sqlite_pool_file.cc) and volume files (meta/volume_file.cc) alike.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "anyfs/error.h"
#include "util/sqlite.h"

namespace anyfs::sql {

// A new database at `path` (which must hold none yet) with `page_size` pages,
// room for page checksums at the end of each page when asked (set before the
// first page is written) and a write-ahead log. Errors: Io, Exists-like
// failures of SQLite as Io.
// `vfs`: a registered SQLite VFS to open through (tests); "" = the default.
Result<std::unique_ptr<Db>> create_database(const std::string& path, std::uint32_t page_size, bool page_checksums,
                                            const std::string& vfs = "");

// Per-connection settings: WAL (atomic commits, readers beside the writer),
// full fsync on commit, a page cache and a memory map for reads, deleted rows
// not overwritten.
Result<void> configure_connection(Db& db, bool read_only, std::uint64_t mmap_bytes);

}  // namespace anyfs::sql
