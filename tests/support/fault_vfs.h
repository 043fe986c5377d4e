// A SQLite VFS that can lose power and fail I/O on request, for crash and fault
// tests (registered as "anyfs-fault"; open a pool through it with
// PoolOpenOptions::vfs). It passes everything to the default VFS and remembers
// every write and truncate not yet covered by a sync of its file, so that a
// power cut can put each file back to what its last sync made durable — or, in
// torn mode, to that plus a random prefix of the unsynced writes, the last one
// possibly cut short at a sector boundary.
//
// After the cut the "machine is off": every further I/O through this VFS fails,
// nothing more reaches the files, and the test reopens them with the default VFS.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "anyfs/pool.h"

namespace anyfs::testing {

class FaultVfs {
 public:
  // The one instance, registered with SQLite on first use.
  static FaultVfs& get();
  static constexpr const char* k_name = "anyfs-fault";

  // Forgets all counters, plans and recorded writes; powers the machine on.
  void reset();

  // Cut power when the `n`th sync (1-based, counted from reset) is asked for: the
  // sync does not happen. With `torn`, a random prefix of the unsynced writes
  // (chosen by `seed`) survives, the last perhaps cut short.
  void cut_at_sync(std::uint64_t n, bool torn = false, std::uint64_t seed = 0);

  // The `n`th write (1-based) fails with the SQLite result `code` (SQLITE_FULL,
  // SQLITE_IOERR_WRITE), writing nothing; later writes go through again.
  void fail_write(std::uint64_t n, int code);

  // The I/O operations faults can hit, and the faults (as the OS reports them:
  // EIO, ENOSPC, EMFILE), each turned into what SQLite's own VFS would return.
  enum class Op { Read, Write, Sync, Truncate, Open };
  enum class Fault { Eio, NoSpace, TooManyFiles };
  static const char* name(Op op);
  static const char* name(Fault fault);
  // The `n`th operation of kind `op` (1-based, counted from reset) fails with
  // `fault` and does nothing; the ones after it go through (the fault clears).
  void fail_nth(Op op, std::uint64_t n, Fault fault);
  // Operations of kind `op` since reset.
  std::uint64_t count(Op op) const;
  // Whether the planned fault has been injected.
  bool fault_injected() const;

  // The `n`th read of a pool file (1-based, counted from reset; not the WAL)
  // returns its bytes with one bit flipped, chosen by `seed`: bit rot seen
  // at read time (a bad cable, a bad cache). The file itself is unchanged.
  void flip_nth_read(std::uint64_t n, std::uint64_t seed);
  // Reads of pool files since reset, and whether the planned flip happened.
  std::uint64_t pool_reads() const;
  bool flip_injected() const;

  std::uint64_t syncs() const;
  std::uint64_t writes() const;
  bool power_lost() const;

 private:
  FaultVfs() = default;
};

// A pool opened through the fault VFS, and its root dataset.
struct FaultPool {
  std::shared_ptr<Pool> pool;
  std::shared_ptr<Dataset> fs;
};
// Errors: whatever stopped the open or the dataset (a planned fault, perhaps).
Result<FaultPool> open_through_fault_vfs(const std::string& pool_path);

}  // namespace anyfs::testing
