// A small random workload and the model it must match: files and directories
// by path, changed one random operation at a time on an Fs and on the model
// alike (crash and history tests), and read back for comparison.
#pragma once

#include <map>
#include <random>
#include <string>

#include "anyfs/fs.h"
#include "anyfs/pool.h"

namespace anyfs::testing {

// What a tree holds: files by path with their bytes; directories with "/" as content.
using Tree = std::map<std::string, std::string>;

// File content: mostly small, sometimes a few hundred KB; text or random bytes.
std::string random_content(std::mt19937_64& rng);

// Applies one random operation (mkdir, write, pwrite, truncate, rename, remove)
// to both `fs` and `model`. Returns false once an operation fails (the model
// is then left as it was), storing its error in `failure` if given.
bool random_step(Fs& fs, Tree& model, std::mt19937_64& rng, Error* failure = nullptr);

// One step of the large-file workload (files /f0../f5 of up to a few hundred
// KB: pwrite overwrites across chunk boundaries, rename storms that replace
// files, reflinks, truncates, gc) on `fs` and `model` alike. gc commits before
// it sweeps, so it is a sync point: `pending` is set before it, `durable`
// after it. Returns false once an operation fails, storing its error in
// `failure` if given.
bool big_file_step(Pool& pool, Dataset& fs, Tree& model, std::mt19937_64& rng, Tree& durable, Tree& pending,
                   Error* failure = nullptr);

// Reads the tree under `dir` into `out`.
Result<void> read_tree(Fs& fs, const std::string& dir, Tree& out);

// "/a(12) /d/ ..." for failure messages.
std::string describe(const Tree& t);

}  // namespace anyfs::testing
