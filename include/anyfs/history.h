// What a pool remembers (DESIGN.md §3, §7): the values Pool's history calls take
// and return — points in time, snapshots, bookmarks, the transaction log, file
// versions and differences between two states. See docs/SEMANTICS.md, "History".
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "anyfs/types.h"

namespace anyfs {

// A point in a dataset's history: exactly one of the three is set. A TID means
// the state committed by the transaction group that contains it; a time, the
// last state committed at or before it.
struct AsOf {
  std::optional<std::uint64_t> tid;
  std::optional<std::int64_t> time_ns;  // Unix time in nanoseconds
  std::optional<std::string> snapshot;

  static AsOf at_tid(std::uint64_t t) { return {t, std::nullopt, std::nullopt}; }
  static AsOf at_time(std::int64_t ns) { return {std::nullopt, ns, std::nullopt}; }
  static AsOf at_snapshot(std::string name) { return {std::nullopt, std::nullopt, std::move(name)}; }
};

struct SnapshotInfo {
  std::string dataset;
  std::string name;
  std::uint64_t tid = 0;       // the state it holds: everything committed up to this TID
  std::int64_t time_ns = 0;    // when it was taken
  // Logical bytes of file data that this snapshot alone still holds (written
  // after the previous snapshot, overwritten or removed before the next one):
  // what destroying it gives back, before dedup.
  std::uint64_t unique_bytes = 0;
  // Its identity (32 hex digits), random when taken and kept by its
  // bookmarks and by a snapshot received from it: an incremental stream
  // names its base by guid.
  std::string guid = {};
};

// A bookmark names a TID of a dataset without holding any data (the base of an
// incremental send after its snapshot is gone).
struct BookmarkInfo {
  std::string dataset;
  std::string name;
  std::uint64_t tid = 0;
  std::int64_t time_ns = 0;
  std::string guid = {};  // the guid of the snapshot it was made from
};

struct DatasetInfo {
  std::string name;                  // "" is the root dataset
  std::uint64_t created_tid = 0;
  std::string origin;                // a clone's origin, "DATASET@SNAP"; empty otherwise
  std::uint64_t snapshots = 0;
  // The oldest TID every later state of which can be read (history on); unset
  // when only snapshots can be read.
  std::optional<std::uint64_t> history_from;
};

struct LogQuery {
  std::optional<std::string> dataset;  // unset: every dataset
  std::string path;                    // only operations naming this path or one below it
  std::int64_t since_ns = std::numeric_limits<std::int64_t>::min();
  std::int64_t until_ns = std::numeric_limits<std::int64_t>::max();
  std::size_t limit = 100;             // newest first
};

struct LogEntry {
  std::uint64_t tid = 0;
  std::int64_t time_ns = 0;
  std::string dataset;
  std::string op;      // create, write, rename, snapshot, ...
  std::string detail;  // the path(s) or names the operation was about
};

// One kept version of a file (`history PATH`).
struct FileVersion {
  std::uint64_t tid = 0;        // read it with AsOf::at_tid(tid)
  std::int64_t time_ns = 0;     // when that state was committed (0 if no longer known)
  std::uint64_t until_tid = 0;  // replaced at this TID; 0 while live
  FileKind kind = FileKind::Regular;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::uint32_t mode = 0;
};

struct DiffEntry {
  enum class Change { Added, Removed, Modified, Renamed };
  Change change = Change::Modified;
  FileKind kind = FileKind::Regular;
  std::string path;      // where it is in the newer state (the older one for Removed)
  std::string old_path;  // Renamed: where it was
};
const char* to_string(DiffEntry::Change change);

struct PruneReport {
  std::uint64_t rows_removed = 0;   // closed record versions physically removed
  std::uint64_t refs_released = 0;  // chunk references given back (gc frees the chunks)
};

}  // namespace anyfs
