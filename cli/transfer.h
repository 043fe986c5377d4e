// Moving files between the host and an Fs: single files (put, get, cat) and
// whole trees (import, export), streamed in bounded pieces so that a file of any
// size costs a fixed amount of memory.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

#include "anyfs/fs.h"

namespace anyfs::cli {

// Copies a host file (or standard input for "-") to `path`; returns the bytes.
Result<std::uint64_t> copy_in(const std::string& source, Fs& fs, const std::string& path, std::uint32_t mode);

// Writes the regular file at `path` to `out`.
Result<void> copy_out(Fs& fs, const std::string& path, std::ostream& out);

struct TreeCounts {
  std::uint64_t files = 0, dirs = 0, symlinks = 0, hardlinks = 0, bytes = 0, skipped = 0;
};

// Called after each object with the running counts (for a progress bar).
using ProgressFn = std::function<void(const TreeCounts&)>;
// Called for each object skipped (sockets, devices, FIFOs), with why.
using WarnFn = std::function<void(const std::string& path, const std::string& why)>;

// Copies the host directory `host_dir` to `dest` (created if missing), keeping
// modes, owners (when permitted), times, symlinks, hard links and xattrs.
Result<TreeCounts> import_tree(const std::string& host_dir, Fs& fs, const std::string& dest, const ProgressFn& progress,
                               const WarnFn& warn);

// Copies `src` (a directory or a file) out to the host directory `host_dir`
// (created if missing), keeping the same.
Result<TreeCounts> export_tree(Fs& fs, const std::string& src, const std::string& host_dir,
                               const ProgressFn& progress, const WarnFn& warn);

}  // namespace anyfs::cli
