#include "util/page_checksum_vfs.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "host/fd.h"

namespace anyfs::sql {
namespace {

thread_local std::uint32_t t_last_bad_page = 0;

std::uint64_t page_sum(const unsigned char* page, std::size_t size) {
  return XXH3_64bits(page, size - k_page_checksum_bytes);
}

std::uint64_t stored_sum(const unsigned char* page, std::size_t size) {
  std::uint64_t v = 0;
  for (int i = k_page_checksum_bytes - 1; i >= 0; --i) v = (v << 8) | page[size - k_page_checksum_bytes + i];
  return v;
}

void stamp(unsigned char* page, std::size_t size) {
  std::uint64_t v = page_sum(page, size);
  for (int i = 0; i < k_page_checksum_bytes; ++i) page[size - k_page_checksum_bytes + i] = static_cast<unsigned char>(v >> (8 * i));
}

bool page_ok(const unsigned char* page, std::size_t size) { return page_sum(page, size) == stored_sum(page, size); }

// The page size and reserved-byte count in a database header (its first 100 bytes).
std::uint32_t header_page_size(const unsigned char* header) {
  std::uint32_t size = (std::uint32_t{header[16]} << 8) | header[17];
  return size == 1 ? 65536 : size;
}
bool header_checksummed(const unsigned char* header) { return header[20] == k_page_checksum_bytes; }

struct Shim {
  sqlite3_vfs vfs{};
  sqlite3_vfs* base = nullptr;
  std::string name;
  sqlite3_io_methods methods{};  // filled from the first file the base opens
  std::once_flag methods_once;
};

struct File {
  sqlite3_file head;    // pMethods: the shim's methods
  sqlite3_file* real;   // the base VFS's file, right after this struct
  Shim* shim;
  bool main_db;
  bool on;              // the header says 8 reserved bytes
  std::uint32_t page_size;
  std::vector<bool>* checked;  // pages verified since opening or last rewrite
};

File* of(sqlite3_file* f) { return reinterpret_cast<File*>(f); }

// Learns the page size and whether pages carry checksums from a header passing by.
void observe_header(File* f, const void* buf, int amt, sqlite3_int64 off) {
  if (!f->main_db || off != 0 || amt < 100) return;
  const auto* h = static_cast<const unsigned char*>(buf);
  if (std::memcmp(h, "SQLite format 3", 16) != 0) return;
  f->page_size = header_page_size(h);
  f->on = header_checksummed(h);
}

bool is_page(const File* f, int amt, sqlite3_int64 off) {
  return f->on && f->page_size != 0 && static_cast<std::uint32_t>(amt) == f->page_size && off % f->page_size == 0;
}

std::size_t page_index(const File* f, sqlite3_int64 off) { return static_cast<std::size_t>(off / f->page_size); }

// Checks a page unless this connection checked it already; false on a mismatch.
bool check(File* f, const void* data, sqlite3_int64 off) {
  const std::size_t index = page_index(f, off);
  auto& seen = *f->checked;
  if (index < seen.size() && seen[index]) return true;
  if (!page_ok(static_cast<const unsigned char*>(data), f->page_size)) {
    t_last_bad_page = static_cast<std::uint32_t>(index + 1);
    return false;
  }
  if (index >= seen.size()) seen.resize(index + 1 + index / 2);
  seen[index] = true;
  return true;
}

int x_close(sqlite3_file* file) {
  File* f = of(file);
  int rc = f->real->pMethods->xClose(f->real);
  delete f->checked;
  f->checked = nullptr;
  return rc;
}

int x_read(sqlite3_file* file, void* buf, int amt, sqlite3_int64 off) {
  File* f = of(file);
  int rc = f->real->pMethods->xRead(f->real, buf, amt, off);
  if (rc != SQLITE_OK) return rc;
  observe_header(f, buf, amt, off);
  if (is_page(f, amt, off) && !check(f, buf, off)) return SQLITE_IOERR_DATA;
  return SQLITE_OK;
}

int x_write(sqlite3_file* file, const void* buf, int amt, sqlite3_int64 off) {
  File* f = of(file);
  observe_header(f, buf, amt, off);
  if (!is_page(f, amt, off)) return f->real->pMethods->xWrite(f->real, buf, amt, off);
  // Stamped in a copy: the caller's buffer may be a page SQLite still uses.
  thread_local std::unique_ptr<unsigned char[]> copy;
  thread_local std::size_t copy_size = 0;
  if (copy_size < f->page_size) {
    copy = std::make_unique<unsigned char[]>(f->page_size);
    copy_size = f->page_size;
  }
  std::memcpy(copy.get(), buf, f->page_size);
  stamp(copy.get(), f->page_size);
  const std::size_t index = page_index(f, off);
  if (index < f->checked->size()) (*f->checked)[index] = false;
  return f->real->pMethods->xWrite(f->real, copy.get(), amt, off);
}

int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
  File* f = of(file);
  f->checked->clear();
  return f->real->pMethods->xTruncate(f->real, size);
}
int x_sync(sqlite3_file* file, int flags) { return of(file)->real->pMethods->xSync(of(file)->real, flags); }
int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
  return of(file)->real->pMethods->xFileSize(of(file)->real, size);
}
int x_lock(sqlite3_file* file, int lock) { return of(file)->real->pMethods->xLock(of(file)->real, lock); }
int x_unlock(sqlite3_file* file, int lock) { return of(file)->real->pMethods->xUnlock(of(file)->real, lock); }
int x_check_reserved_lock(sqlite3_file* file, int* out) {
  return of(file)->real->pMethods->xCheckReservedLock(of(file)->real, out);
}
int x_file_control(sqlite3_file* file, int op, void* arg) {
  File* f = of(file);
  if (op == SQLITE_FCNTL_VFSNAME) {
    int rc = f->real->pMethods->xFileControl(f->real, op, arg);
    if (rc == SQLITE_OK) {
      char** name = static_cast<char**>(arg);
      *name = sqlite3_mprintf("%s/%z", f->shim->name.c_str(), *name);
    }
    return rc;
  }
  return f->real->pMethods->xFileControl(f->real, op, arg);
}
int x_sector_size(sqlite3_file* file) { return of(file)->real->pMethods->xSectorSize(of(file)->real); }
int x_device_characteristics(sqlite3_file* file) {
  return of(file)->real->pMethods->xDeviceCharacteristics(of(file)->real);
}
int x_shm_map(sqlite3_file* file, int page, int size, int extend, void volatile** out) {
  return of(file)->real->pMethods->xShmMap(of(file)->real, page, size, extend, out);
}
int x_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  return of(file)->real->pMethods->xShmLock(of(file)->real, offset, n, flags);
}
void x_shm_barrier(sqlite3_file* file) { of(file)->real->pMethods->xShmBarrier(of(file)->real); }
int x_shm_unmap(sqlite3_file* file, int delete_flag) {
  return of(file)->real->pMethods->xShmUnmap(of(file)->real, delete_flag);
}

// Mapped pages are checked like read ones; a bad one is handed back and refused.
int x_fetch(sqlite3_file* file, sqlite3_int64 off, int amt, void** out) {
  File* f = of(file);
  int rc = f->real->pMethods->xFetch(f->real, off, amt, out);
  if (rc != SQLITE_OK || *out == nullptr) return rc;
  if (is_page(f, amt, off) && !check(f, *out, off)) {
    f->real->pMethods->xUnfetch(f->real, off, *out);
    *out = nullptr;
    return SQLITE_IOERR_DATA;
  }
  return SQLITE_OK;
}
int x_unfetch(sqlite3_file* file, sqlite3_int64 off, void* p) {
  return of(file)->real->pMethods->xUnfetch(of(file)->real, off, p);
}

int x_open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  Shim* shim = static_cast<Shim*>(vfs->pAppData);
  File* f = of(file);
  f->head.pMethods = nullptr;
  f->real = reinterpret_cast<sqlite3_file*>(f + 1);
  f->shim = shim;
  f->main_db = (flags & SQLITE_OPEN_MAIN_DB) != 0;
  f->on = false;
  f->page_size = 0;
  f->checked = nullptr;
  int rc = shim->base->xOpen(shim->base, name, f->real, flags, out_flags);
  if (f->real->pMethods == nullptr) return rc;
  std::call_once(shim->methods_once, [&] {
    const sqlite3_io_methods* real = f->real->pMethods;
    shim->methods = sqlite3_io_methods{
        real->iVersion, x_close, x_read, x_write, x_truncate, x_sync, x_file_size, x_lock, x_unlock,
        x_check_reserved_lock, x_file_control, x_sector_size, x_device_characteristics, x_shm_map, x_shm_lock,
        x_shm_barrier, x_shm_unmap, x_fetch, x_unfetch};
    if (real->iVersion < 3) shim->methods.iVersion = real->iVersion;
  });
  f->checked = new std::vector<bool>();
  f->head.pMethods = &shim->methods;
  return rc;
}

// Everything but opening files is the base VFS's.
int x_delete(sqlite3_vfs* v, const char* name, int sync_dir) {
  sqlite3_vfs* b = static_cast<Shim*>(v->pAppData)->base;
  return b->xDelete(b, name, sync_dir);
}
int x_access(sqlite3_vfs* v, const char* name, int flags, int* out) {
  sqlite3_vfs* b = static_cast<Shim*>(v->pAppData)->base;
  return b->xAccess(b, name, flags, out);
}
int x_full_pathname(sqlite3_vfs* v, const char* name, int n, char* out) {
  sqlite3_vfs* b = static_cast<Shim*>(v->pAppData)->base;
  return b->xFullPathname(b, name, n, out);
}
void* x_dl_open(sqlite3_vfs* v, const char* name) {
  sqlite3_vfs* b = static_cast<Shim*>(v->pAppData)->base;
  return b->xDlOpen(b, name);
}
void x_dl_error(sqlite3_vfs* v, int n, char* out) {
  sqlite3_vfs* b = static_cast<Shim*>(v->pAppData)->base;
  b->xDlError(b, n, out);
}
void (*x_dl_sym(sqlite3_vfs* v, void* handle, const char* sym))(void) {
  sqlite3_vfs* b = static_cast<Shim*>(v->pAppData)->base;
  return b->xDlSym(b, handle, sym);
}
void x_dl_close(sqlite3_vfs* v, void* handle) {
  sqlite3_vfs* b = static_cast<Shim*>(v->pAppData)->base;
  b->xDlClose(b, handle);
}
int x_randomness(sqlite3_vfs* v, int n, char* out) {
  sqlite3_vfs* b = static_cast<Shim*>(v->pAppData)->base;
  return b->xRandomness(b, n, out);
}
int x_sleep(sqlite3_vfs* v, int micros) {
  sqlite3_vfs* b = static_cast<Shim*>(v->pAppData)->base;
  return b->xSleep(b, micros);
}
int x_current_time(sqlite3_vfs* v, double* out) {
  sqlite3_vfs* b = static_cast<Shim*>(v->pAppData)->base;
  return b->xCurrentTime(b, out);
}
int x_get_last_error(sqlite3_vfs* v, int n, char* out) {
  sqlite3_vfs* b = static_cast<Shim*>(v->pAppData)->base;
  return b->xGetLastError ? b->xGetLastError(b, n, out) : 0;
}
int x_current_time_int64(sqlite3_vfs* v, sqlite3_int64* out) {
  sqlite3_vfs* b = static_cast<Shim*>(v->pAppData)->base;
  return b->xCurrentTimeInt64(b, out);
}

}  // namespace

Result<std::string> page_checksum_vfs(std::string_view base_name) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<Shim>, std::less<>> shims;  // never freed: SQLite keeps the pointers
  std::lock_guard lock(mu);
  if (auto it = shims.find(base_name); it != shims.end()) return it->second->name;
  sqlite3_vfs* base = sqlite3_vfs_find(base_name.empty() ? nullptr : std::string(base_name).c_str());
  if (base == nullptr) return fail(Errc::NotFound, std::string(base_name), "no such SQLite VFS");
  auto shim = std::make_unique<Shim>();
  shim->base = base;
  shim->name = "anyfs-checksum+" + std::string(base->zName);
  sqlite3_vfs& v = shim->vfs;
  v.iVersion = 2;
  v.szOsFile = static_cast<int>(sizeof(File)) + base->szOsFile;
  v.mxPathname = base->mxPathname;
  v.zName = shim->name.c_str();
  v.pAppData = shim.get();
  v.xOpen = x_open;
  v.xDelete = x_delete;
  v.xAccess = x_access;
  v.xFullPathname = x_full_pathname;
  v.xDlOpen = x_dl_open;
  v.xDlError = x_dl_error;
  v.xDlSym = x_dl_sym;
  v.xDlClose = x_dl_close;
  v.xRandomness = x_randomness;
  v.xSleep = x_sleep;
  v.xCurrentTime = x_current_time;
  v.xGetLastError = x_get_last_error;
  v.xCurrentTimeInt64 = x_current_time_int64;
  if (int rc = sqlite3_vfs_register(&v, 0); rc != SQLITE_OK)
    return fail(Errc::Io, shim->name, std::string("cannot register the VFS: ") + sqlite3_errstr(rc));
  std::string name = shim->name;
  shims.emplace(std::string(base_name), std::move(shim));
  return name;
}

std::uint32_t last_bad_page() { return t_last_bad_page; }

Result<bool> has_page_checksums(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail_errno(errno, path, "open");
  Fd guard(fd);
  unsigned char header[100];
  if (::pread(fd, header, sizeof header, 0) != static_cast<ssize_t>(sizeof header)) return false;
  return std::memcmp(header, "SQLite format 3", 16) == 0 && header_checksummed(header);
}

Result<PageScan> scan_page_checksums(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail_errno(errno, path, "open");
  Fd guard(fd);
  PageScan scan;
  unsigned char header[100];
  if (::pread(fd, header, sizeof header, 0) != static_cast<ssize_t>(sizeof header)) return scan;
  if (std::memcmp(header, "SQLite format 3", 16) != 0 || !header_checksummed(header)) return scan;
  scan.checksummed = true;
  const std::uint32_t page_size = header_page_size(header);
  const std::uint32_t count = (std::uint32_t{header[28]} << 24) | (std::uint32_t{header[29]} << 16) |
                              (std::uint32_t{header[30]} << 8) | header[31];
  std::vector<unsigned char> page(page_size);
  for (std::uint32_t i = 0; i < count; ++i) {
    ssize_t n = ::pread(fd, page.data(), page_size, static_cast<off_t>(i) * page_size);
    if (n < 0) return fail_errno(errno, path, "read page " + std::to_string(i + 1));
    if (static_cast<std::uint32_t>(n) < page_size) break;  // past the end: the truncation check's business
    ++scan.pages;
    if (!page_ok(page.data(), page_size)) scan.bad.push_back(i + 1);
  }
  return scan;
}

}  // namespace anyfs::sql
