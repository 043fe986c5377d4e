// The volume files of a pool and their upkeep (DESIGN.md §6): what
// Pool::add_volume, volumes, remove_volume, scrub and health take and report.
// docs/CLI.md ("Volumes", "Scrub", "Status") describes them as the command
// shows them.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace anyfs {

// A volume file of a pool: where, and the most it may grow to.
struct VolumeSpec {
  std::string path;
  std::uint64_t cap_bytes = 0;  // 0: grows as it needs (thin)
};

// A volume of a pool, as `Pool::volumes` reports it.
struct VolumeStatus {
  std::string uuid;
  std::string path;
  std::uint64_t cap_bytes = 0;   // 0: no cap
  std::uint64_t size_bytes = 0;  // the file's size
  std::uint64_t chunks = 0;      // chunk copies it holds
  // "online"; "draining" (being emptied by remove_volume: takes no new
  // chunks); "faulted" (cannot be used: `fault` says why).
  std::string state = "online";
  std::string fault;
  // Errors met on it since it was added (reads, checksums, writes) and bad
  // copies on it rewritten from a good one.
  std::uint64_t read_errors = 0;
  std::uint64_t checksum_errors = 0;
  std::uint64_t write_errors = 0;
  std::uint64_t repaired = 0;
};

// Stops a long run between two steps: set to k_pause or k_cancel from any
// thread (a signal handler included).
enum StopRequest : int { k_go_on = 0, k_pause = 1, k_cancel = 2 };

// A scrub, under way or done (Pool::scrub, Pool::health).
struct ScrubReport {
  // "running" (under way in some process, or stopped by a crash or kill:
  // runs on when scrub is called again), "paused", "cancelled", "finished".
  std::string state;
  std::uint64_t chunks_total = 0;  // chunks in the pool when it started
  std::uint64_t chunks_done = 0;
  std::uint64_t bytes_read = 0;    // stored bytes of every copy read
  std::uint64_t bad_copies = 0;    // copies failing a checksum or unreadable
  std::uint64_t repaired = 0;      // of them, rewritten from a good copy
  std::uint64_t lost = 0;          // chunks with no good copy
  // Where the lost chunks are used: "DATASET:/path" (the root dataset's
  // without "DATASET:"), or "chunk HEX" when only history or snapshots hold it.
  std::vector<std::string> damaged;
  // Volumes holding bad copies that could not be rewritten (the volume's own
  // pages around them are damaged) nor moved (no other volume may take
  // them): `volume replace VOLUME NEW` rebuilds such a volume from the other
  // copies. Counted in bad_copies, not in repaired.
  std::vector<std::string> unrepaired_volumes;
  std::int64_t started_ns = 0;  // wall clock
  std::int64_t ended_ns = 0;    // 0 while not finished
  double seconds = 0;           // spent reading, over every run of it
  bool resumed = false;         // this run went on from an earlier one's progress
  std::int64_t pid = 0;         // the process running it (state "running")
  bool ok() const { return lost == 0; }
};

struct ScrubOptions {
  double rate_bytes_per_s = 0;  // at most this many stored bytes read a second; 0: no limit
  bool repair = true;           // rewrite bad copies (needs the pool writable)
  bool restart = false;         // start over rather than resume a stopped scrub
  const std::atomic<int>* stop = nullptr;  // polled between chunks (StopRequest)
  std::function<void(const ScrubReport&)> progress = nullptr;  // called now and then
};

// A drain of a volume (Pool::remove_volume).
struct EvacuationReport {
  std::string path;   // the volume drained
  std::string onto;   // the volume it drained onto ("": any other)
  // "removed" (emptied, taken out, its file deleted), "stopped" (resumes
  // when called again), "aborted" (back in use).
  std::string state;
  std::uint64_t chunks_total = 0;  // copies on it when this run started
  std::uint64_t chunks_moved = 0;
  std::uint64_t bytes_moved = 0;   // stored bytes
  std::uint64_t chunks_left = 0;
  double seconds = 0;
  bool resumed = false;  // the volume was draining already
};

struct RemoveVolumeOptions {
  std::string to = {};  // drain onto this volume only (added when the pool does not list it yet)
  std::uint64_t to_cap_bytes = 0;  // its cap, when added here
  bool abort = false;  // end a drain: the volume takes chunks again
  std::uint64_t step_bytes = 4u << 20;  // stored bytes moved per commit (each step is durable)
  const std::atomic<int>* stop = nullptr;  // polled between steps (StopRequest)
  std::function<void(const EvacuationReport&)> progress = nullptr;
};

// `zpool status` for one pool.
struct PoolHealth {
  // "ONLINE": every volume usable. "DEGRADED": a volume cannot be used but
  // every chunk has a copy elsewhere. "FAULTED": chunks have no usable copy
  // (reads of them fail; the pool opens read-only).
  std::string state = "ONLINE";
  std::string reason;  // why not ONLINE; why read-only when it had to be
  bool read_only = false;  // it cannot be written as it is (opened writable, it opens read-only)
  std::uint64_t chunks_without_copy = 0;
  std::vector<VolumeStatus> volumes;
  std::optional<ScrubReport> scrub;             // under way or the last one
  std::optional<EvacuationReport> evacuation;   // a drain under way
};

}  // namespace anyfs
