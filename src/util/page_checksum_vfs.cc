#include "util/page_checksum_vfs.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <memory>
#include <mutex>

#include "util/fd.h"
#include "util/shim_vfs.h"
#include "util/wal_format.h"

namespace anyfs::sql {
namespace {

thread_local BadPlace t_last_bad{};

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

struct Shim : ShimVfs {
  std::string name;
  sqlite3_io_methods methods{};  // filled from the first file the base opens
  std::once_flag methods_once;
};

struct File : ShimFile {
  Shim* shim;
  bool main_db;
  bool wal;             // a write-ahead log: its frames are checked by their frame checksums
  bool wal_big_endian;  // learnt from the log's header with its page size
  std::uint32_t wal_page_size;
  // Frames this connection rewrote in place (a page changed again in the
  // transaction that wrote it): their frame checksums are stale until SQLite
  // rewrites them as the transaction commits, so reads of them are not checked.
  std::set<std::uint64_t>* rewritten;
  sqlite3_int64 last_write_end;
  bool on;              // the header says 8 reserved bytes
  std::uint32_t page_size;
  // Mapped pages: the second (see epoch) in which each was last verified, 0 if
  // not since opening or its last rewrite.
  std::vector<std::uint32_t>* checked;
};

File* of(sqlite3_file* f) { return static_cast<File*>(shim_file(f)); }

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

// Checks a page; false on a mismatch.
bool check(const File* f, const void* data, sqlite3_int64 off) {
  if (page_ok(static_cast<const unsigned char*>(data), f->page_size)) return true;
  t_last_bad = {false, page_index(f, off) + 1};
  return false;
}

// Reads exactly `amt` bytes of the real file: SQLITE_OK or the read's error.
int read_real(File* f, void* out, int amt, sqlite3_int64 off) {
  return f->real->pMethods->xRead(f->real, out, amt, off);
}

// Learns a log's page size and checksum byte order from its header; false if
// it has no valid header (yet).
bool learn_wal_header(File* f) {
  unsigned char head[k_wal_header_bytes];
  WalHeader header;
  if (read_real(f, head, sizeof head, 0) != SQLITE_OK || !parse_wal_header(head, header)) return false;
  f->wal_page_size = header.page_size;
  f->wal_big_endian = header.big_endian;
  return true;
}

// A page SQLite reads out of the write-ahead log is checked against its
// frame's checksum, which continues the checksum of the frame before it (or
// of the log's header): SQLite checks these only when it recovers a log, so
// without this a page that went bad in the log would be served, or copied into
// the pool file under a fresh page checksum by the next checkpoint. Returns
// SQLITE_IOERR_DATA for a frame whose checksum fails, a read's error as it
// came; reads that are not a frame's page pass.
int check_wal_page(File* f, const void* data, int amt, sqlite3_int64 off) {
  const auto page_size = static_cast<std::uint32_t>(amt);
  if (amt < 512 || (page_size & (page_size - 1)) != 0) return SQLITE_OK;
  const std::uint64_t frame_size = k_wal_frame_header_bytes + std::uint64_t{page_size};
  const std::uint64_t first = wal_frame_data_offset(page_size, 0);
  if (off < static_cast<sqlite3_int64>(first) || (static_cast<std::uint64_t>(off) - first) % frame_size != 0)
    return SQLITE_OK;
  const std::uint64_t frame = (static_cast<std::uint64_t>(off) - first) / frame_size;
  if (f->rewritten->contains(frame)) return SQLITE_OK;
  if (f->wal_page_size != page_size && (!learn_wal_header(f) || f->wal_page_size != page_size))
    return SQLITE_OK;  // not a frame of this log's page size
  WalHeader header;
  header.page_size = page_size;
  header.big_endian = f->wal_big_endian;
  // The checksum this frame continues: the header's for the first frame, else
  // the one stored in the frame before.
  WalSum previous;
  if (frame == 0) {
    unsigned char head[k_wal_header_bytes];
    if (int rc = read_real(f, head, sizeof head, 0); rc != SQLITE_OK) return rc;
    if (!parse_wal_header(head, header)) return SQLITE_OK;  // a log being restarted: SQLite's business
    previous = header.sum;
  } else {
    unsigned char sums[8];
    if (int rc = read_real(f, sums, sizeof sums, off - static_cast<sqlite3_int64>(frame_size) - 8); rc != SQLITE_OK)
      return rc;
    previous = stored_wal_sum(sums);
  }
  unsigned char frame_header[k_wal_frame_header_bytes];
  if (int rc = read_real(f, frame_header, sizeof frame_header, off - k_wal_frame_header_bytes); rc != SQLITE_OK)
    return rc;
  // SQLite reads only frames its index holds, so the salts are not compared —
  // except that a transaction which rewrote one of its frames in place writes
  // its later frames with zero salts and checksums, and fills them in as it
  // commits: until then they carry nothing to check.
  const WalSum salts = stored_wal_sum(frame_header + 8);
  if (salts == WalSum{} && stored_wal_sum(frame_header + 16) == WalSum{}) return SQLITE_OK;
  header.salt1 = salts.a;
  header.salt2 = salts.b;
  WalSum sum;
  if (wal_frame_valid(header, previous, frame_header, static_cast<const unsigned char*>(data), sum)) return SQLITE_OK;
  t_last_bad = {true, frame};
  return SQLITE_IOERR_DATA;
}

// The current second of the monotonic clock, from 1.
std::uint32_t epoch() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::uint32_t>(ts.tv_sec) + 1;
}

// A mapped page is SQLite's cache and the OS's at once: SQLite fetches it on
// every use, so checking each fetch would cost ~1 µs a page access. It is
// checked on its first fetch and again on the first fetch of every later
// second, so bytes that go bad under the map are found within a second of use.
bool check_mapped(File* f, const void* data, sqlite3_int64 off) {
  const std::size_t index = page_index(f, off);
  auto& seen = *f->checked;
  const std::uint32_t now = epoch();
  if (index < seen.size() && seen[index] == now) return true;
  if (!check(f, data, off)) return false;
  if (index >= seen.size()) seen.resize(index + 1 + index / 2);
  seen[index] = now;
  return true;
}

int x_close(sqlite3_file* file) {
  File* f = of(file);
  int rc = f->real->pMethods->xClose(f->real);
  delete f->checked;
  f->checked = nullptr;
  delete f->rewritten;
  f->rewritten = nullptr;
  return rc;
}

int x_read(sqlite3_file* file, void* buf, int amt, sqlite3_int64 off) {
  File* f = of(file);
  int rc = f->real->pMethods->xRead(f->real, buf, amt, off);
  if (rc != SQLITE_OK) return rc;
  observe_header(f, buf, amt, off);
  if (is_page(f, amt, off) && !check(f, buf, off)) return SQLITE_IOERR_DATA;
  if (f->wal) return check_wal_page(f, buf, amt, off);
  return SQLITE_OK;
}

// Notes the frames of a log that SQLite rewrites in place (see File::rewritten):
// a frame's page written without its frame header right before it.
void observe_wal_write(File* f, int amt, sqlite3_int64 off) {
  const sqlite3_int64 previous_end = f->last_write_end;
  f->last_write_end = off + amt;
  if (off == 0) {
    f->rewritten->clear();  // a new log: frames start again
    return;
  }
  if (f->wal_page_size == 0 && !learn_wal_header(f)) return;
  const std::uint64_t frame_size = k_wal_frame_header_bytes + std::uint64_t{f->wal_page_size};
  const std::uint64_t first = wal_frame_data_offset(f->wal_page_size, 0);
  const auto at = static_cast<std::uint64_t>(off);
  if (amt == static_cast<int>(f->wal_page_size) && at >= first && (at - first) % frame_size == 0) {
    if (previous_end != off) f->rewritten->insert((at - first) / frame_size);
  } else if (amt == static_cast<int>(k_wal_frame_header_bytes) && at + k_wal_frame_header_bytes >= first &&
             (at + k_wal_frame_header_bytes - first) % frame_size == 0) {
    f->rewritten->erase((at + k_wal_frame_header_bytes - first) / frame_size);
  }
}

int x_write(sqlite3_file* file, const void* buf, int amt, sqlite3_int64 off) {
  File* f = of(file);
  if (f->wal) observe_wal_write(f, amt, off);
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
  if (index < f->checked->size()) (*f->checked)[index] = 0;
  return f->real->pMethods->xWrite(f->real, copy.get(), amt, off);
}

int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
  File* f = of(file);
  f->checked->clear();
  if (f->wal) f->rewritten->clear();
  return f->real->pMethods->xTruncate(f->real, size);
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

// Mapped pages are checked like read ones; a bad one is handed back and refused.
int x_fetch(sqlite3_file* file, sqlite3_int64 off, int amt, void** out) {
  File* f = of(file);
  int rc = f->real->pMethods->xFetch(f->real, off, amt, out);
  if (rc != SQLITE_OK || *out == nullptr) return rc;
  if (is_page(f, amt, off) && !check_mapped(f, *out, off)) {
    f->real->pMethods->xUnfetch(f->real, off, *out);
    *out = nullptr;
    return SQLITE_IOERR_DATA;
  }
  return SQLITE_OK;
}

int x_open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  Shim* shim = static_cast<Shim*>(vfs->pAppData);
  start_shim_file(file, sizeof(File));
  File* f = of(file);
  f->shim = shim;
  f->main_db = (flags & SQLITE_OPEN_MAIN_DB) != 0;
  f->wal = (flags & SQLITE_OPEN_WAL) != 0;
  f->wal_big_endian = false;
  f->wal_page_size = 0;
  f->rewritten = nullptr;
  f->last_write_end = -1;
  f->on = false;
  f->page_size = 0;
  f->checked = nullptr;
  int rc = shim->base->xOpen(shim->base, name, f->real, flags, out_flags);
  if (f->real->pMethods == nullptr) return rc;
  std::call_once(shim->methods_once, [&] {
    shim->methods = forwarding_io_methods(std::min(f->real->pMethods->iVersion, 3));
    shim->methods.xClose = x_close;
    shim->methods.xRead = x_read;
    shim->methods.xWrite = x_write;
    shim->methods.xTruncate = x_truncate;
    shim->methods.xFileControl = x_file_control;
    if (shim->methods.iVersion >= 3) shim->methods.xFetch = x_fetch;
  });
  f->checked = new std::vector<std::uint32_t>();
  f->rewritten = new std::set<std::uint64_t>();
  f->head.pMethods = &shim->methods;
  return rc;
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
  shim->name = "anyfs-checksum+" + std::string(base->zName);
  init_shim_vfs(*shim, base, shim->name.c_str(), static_cast<int>(sizeof(File)), x_open);
  sqlite3_vfs& v = shim->vfs;
  if (int rc = sqlite3_vfs_register(&v, 0); rc != SQLITE_OK)
    return fail(Errc::Io, shim->name, std::string("cannot register the VFS: ") + sqlite3_errstr(rc));
  std::string name = shim->name;
  shims.emplace(std::string(base_name), std::move(shim));
  return name;
}

BadPlace last_bad_place() { return t_last_bad; }

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
  std::uint32_t count = (std::uint32_t{header[28]} << 24) | (std::uint32_t{header[29]} << 16) |
                        (std::uint32_t{header[30]} << 8) | header[31];
  // The newest version of a page is in the log when a committed frame holds
  // it: there its frame checksum has been checked (read_wal), and the copy in
  // the file (older, or never written: a checkpoint the disk had no room for)
  // is not what SQLite reads.
  WalContents wal = ANYFS_TRY(read_wal(path));
  scan.broken_frame = wal.broken_frame;
  std::vector<bool> in_wal;
  if (wal.present && wal.header.page_size == page_size && wal.database_pages != 0) {
    count = wal.database_pages;
    in_wal.resize(count + 1);
    for (const auto& frame : wal.frames)
      if (frame.page <= count) in_wal[frame.page] = true;
    scan.wal_frames = wal.frames.size();
  }
  std::vector<unsigned char> page(page_size);
  for (std::uint32_t i = 0; i < count; ++i) {
    if (i + 1 == lock_byte_page(page_size)) continue;
    if (i + 1 < in_wal.size() && in_wal[i + 1]) {
      ++scan.pages;
      continue;
    }
    ssize_t n = ::pread(fd, page.data(), page_size, static_cast<off_t>(i) * page_size);
    if (n < 0) return fail_errno(errno, path, "read page " + std::to_string(i + 1));
    if (static_cast<std::uint32_t>(n) < page_size) break;  // past the end: the truncation check's business
    ++scan.pages;
    if (!page_ok(page.data(), page_size)) scan.bad.push_back(i + 1);
  }
  return scan;
}

}  // namespace anyfs::sql
