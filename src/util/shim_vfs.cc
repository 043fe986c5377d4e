#include "util/shim_vfs.h"

namespace anyfs::sql {
namespace {

const sqlite3_io_methods* m(sqlite3_file* f) { return real_file(f)->pMethods; }

int f_close(sqlite3_file* f) { return m(f)->xClose(real_file(f)); }
int f_read(sqlite3_file* f, void* buf, int amt, sqlite3_int64 off) { return m(f)->xRead(real_file(f), buf, amt, off); }
int f_write(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
  return m(f)->xWrite(real_file(f), buf, amt, off);
}
int f_truncate(sqlite3_file* f, sqlite3_int64 size) { return m(f)->xTruncate(real_file(f), size); }
int f_sync(sqlite3_file* f, int flags) { return m(f)->xSync(real_file(f), flags); }
int f_file_size(sqlite3_file* f, sqlite3_int64* size) { return m(f)->xFileSize(real_file(f), size); }
int f_lock(sqlite3_file* f, int level) { return m(f)->xLock(real_file(f), level); }
int f_unlock(sqlite3_file* f, int level) { return m(f)->xUnlock(real_file(f), level); }
int f_check_reserved(sqlite3_file* f, int* out) { return m(f)->xCheckReservedLock(real_file(f), out); }
int f_file_control(sqlite3_file* f, int op, void* arg) { return m(f)->xFileControl(real_file(f), op, arg); }
int f_sector_size(sqlite3_file* f) { return m(f)->xSectorSize(real_file(f)); }
int f_device(sqlite3_file* f) { return m(f)->xDeviceCharacteristics(real_file(f)); }
int f_shm_map(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return m(f)->xShmMap(real_file(f), page, size, extend, out);
}
int f_shm_lock(sqlite3_file* f, int offset, int n, int flags) { return m(f)->xShmLock(real_file(f), offset, n, flags); }
void f_shm_barrier(sqlite3_file* f) { m(f)->xShmBarrier(real_file(f)); }
int f_shm_unmap(sqlite3_file* f, int delete_flag) { return m(f)->xShmUnmap(real_file(f), delete_flag); }
int f_fetch(sqlite3_file* f, sqlite3_int64 off, int amt, void** out) {
  return m(f)->xFetch(real_file(f), off, amt, out);
}
int f_unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) { return m(f)->xUnfetch(real_file(f), off, p); }

int v_delete(sqlite3_vfs* v, const char* name, int sync_dir) { return base_vfs(v)->xDelete(base_vfs(v), name, sync_dir); }
int v_access(sqlite3_vfs* v, const char* name, int flags, int* out) {
  return base_vfs(v)->xAccess(base_vfs(v), name, flags, out);
}
int v_full_pathname(sqlite3_vfs* v, const char* name, int n, char* out) {
  return base_vfs(v)->xFullPathname(base_vfs(v), name, n, out);
}
void* v_dl_open(sqlite3_vfs* v, const char* name) { return base_vfs(v)->xDlOpen(base_vfs(v), name); }
void v_dl_error(sqlite3_vfs* v, int n, char* out) { base_vfs(v)->xDlError(base_vfs(v), n, out); }
void (*v_dl_sym(sqlite3_vfs* v, void* handle, const char* sym))(void) {
  return base_vfs(v)->xDlSym(base_vfs(v), handle, sym);
}
void v_dl_close(sqlite3_vfs* v, void* handle) { base_vfs(v)->xDlClose(base_vfs(v), handle); }
int v_randomness(sqlite3_vfs* v, int n, char* out) { return base_vfs(v)->xRandomness(base_vfs(v), n, out); }
int v_sleep(sqlite3_vfs* v, int micros) { return base_vfs(v)->xSleep(base_vfs(v), micros); }
int v_current_time(sqlite3_vfs* v, double* out) { return base_vfs(v)->xCurrentTime(base_vfs(v), out); }
int v_get_last_error(sqlite3_vfs* v, int n, char* out) {
  sqlite3_vfs* b = base_vfs(v);
  return b->xGetLastError ? b->xGetLastError(b, n, out) : 0;
}
int v_current_time_int64(sqlite3_vfs* v, sqlite3_int64* out) {
  return base_vfs(v)->xCurrentTimeInt64(base_vfs(v), out);
}

}  // namespace

void start_shim_file(sqlite3_file* f, int shim_size) {
  ShimFile* s = shim_file(f);
  s->head.pMethods = nullptr;
  s->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + shim_size);
}

sqlite3_io_methods forwarding_io_methods(int version) {
  sqlite3_io_methods out{version,        f_close,          f_read,       f_write,   f_truncate,     f_sync,
                         f_file_size,    f_lock,           f_unlock,     f_check_reserved,          f_file_control,
                         f_sector_size,  f_device,         f_shm_map,    f_shm_lock, f_shm_barrier, f_shm_unmap,
                         f_fetch,        f_unfetch};
  if (version < 3) out.xFetch = nullptr, out.xUnfetch = nullptr;
  if (version < 2) out.xShmMap = nullptr, out.xShmLock = nullptr, out.xShmBarrier = nullptr, out.xShmUnmap = nullptr;
  return out;
}

void init_shim_vfs(ShimVfs& shim, sqlite3_vfs* base, const char* name, int file_size,
                   int (*open)(sqlite3_vfs*, sqlite3_filename, sqlite3_file*, int, int*)) {
  shim.base = base;
  sqlite3_vfs& v = shim.vfs;
  v = sqlite3_vfs{};
  v.iVersion = 2;
  v.szOsFile = file_size + base->szOsFile;
  v.mxPathname = base->mxPathname;
  v.zName = name;
  v.pAppData = &shim;
  v.xOpen = open;
  v.xDelete = v_delete;
  v.xAccess = v_access;
  v.xFullPathname = v_full_pathname;
  v.xDlOpen = v_dl_open;
  v.xDlError = v_dl_error;
  v.xDlSym = v_dl_sym;
  v.xDlClose = v_dl_close;
  v.xRandomness = v_randomness;
  v.xSleep = v_sleep;
  v.xCurrentTime = v_current_time;
  v.xGetLastError = v_get_last_error;
  v.xCurrentTimeInt64 = v_current_time_int64;
}

}  // namespace anyfs::sql
