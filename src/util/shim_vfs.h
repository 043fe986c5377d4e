// A SQLite VFS over another VFS that passes on every call it does not replace:
// the shared part of the page-checksum shim and the tests' fault-injecting VFS.
//
// A shim's open file begins with ShimFile (the shim's own fields may follow in
// a struct derived from it), and the base VFS's file lies right after the
// shim's struct: szOsFile is sizeof(that struct) + base->szOsFile.
#pragma once

#include <sqlite3.h>

namespace anyfs::sql {

struct ShimFile {
  sqlite3_file head;   // pMethods: the shim's methods (null until the base file is open)
  sqlite3_file* real;  // the base VFS's file
};

inline ShimFile* shim_file(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f); }
inline sqlite3_file* real_file(sqlite3_file* f) { return shim_file(f)->real; }

// Points `f`'s real file at the bytes after the shim's `shim_size`-byte struct
// and clears the head; call first in xOpen.
void start_shim_file(sqlite3_file* f, int shim_size);

// I/O methods of version `version` (1 to 3) whose every entry forwards to the
// real file; a shim replaces the entries it needs.
sqlite3_io_methods forwarding_io_methods(int version);

// A shim VFS: `vfs.pAppData` points at this struct (or one derived from it).
struct ShimVfs {
  sqlite3_vfs vfs{};
  sqlite3_vfs* base = nullptr;
};

inline sqlite3_vfs* base_vfs(sqlite3_vfs* v) { return static_cast<ShimVfs*>(v->pAppData)->base; }

// Fills `shim.vfs` (version 2) as a VFS named `name` over `base` whose files
// are `file_size` bytes of shim struct before the base's file, opened by
// `open`; every other call goes to `base`. The caller may replace entries,
// then registers it with sqlite3_vfs_register. `name` must outlive the VFS.
void init_shim_vfs(ShimVfs& shim, sqlite3_vfs* base, const char* name, int file_size,
                   int (*open)(sqlite3_vfs*, sqlite3_filename, sqlite3_file*, int, int*));

}  // namespace anyfs::sql
