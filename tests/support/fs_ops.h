// The operations of the differential test and the fuzzer, as data: an Op names
// a call of the Fs API with its arguments; apply() runs it on any Fs and turns
// the result into a string that compares across implementations (the kernel
// through HostFs is the oracle). dump() gives a canonical listing of a tree.
#pragma once

#include <cstdint>
#include <string>

#include "anyfs/fs.h"

namespace anyfs::testing {

enum class OpKind {
  WriteFile,
  Append,
  Mkdir,
  Remove,
  Rename,
  Link,
  Symlink,
  Truncate,
  Chmod,
  SetXattr,
  RemoveXattr,
  ReadFile,
  Stat,
  Lstat,
  ReadDir,
  Readlink,
  GetXattr,
  ListXattr,
  OpenWrite,
  ReadRange,
  Count
};

struct Op {
  OpKind kind;
  std::string a, b, data;  // paths (Symlink: a is the link, b its target), xattr name in b, bytes
  std::uint64_t n = 0;     // offset or size
  std::uint32_t mode = 0;
  std::uint32_t flags = 0;  // RenameFlags, XattrFlags or OpenFlags

  std::string to_string() const;
};

// Runs `op` on `fs`: "ok…" with what it returned, or "err:NAME".
std::string apply(Fs& fs, const Op& op);

// Kinds, modes, link counts, sizes, contents, targets and xattrs of every object
// under "/", one line each. Inode numbers and times are left out (they differ by design).
std::string dump(Fs& fs);

}  // namespace anyfs::testing
