// HostFs: a real host directory as the root of an Fs.
//
// Every path is resolved by the kernel with openat2(RESOLVE_IN_ROOT |
// RESOLVE_NO_MAGICLINKS) from a descriptor of the root, so no path, "..", or
// symlink — absolute or relative, present at the start or swapped in during the
// call — reaches outside the root: ".." stops at the root and an absolute symlink
// target starts at the root, exactly as in every other Fs. Operations that name an
// entry work on (descriptor of the parent, single name) pairs; operations that
// follow a path act on a descriptor of the object itself.
//
// Modes given to mkdir/open/symlink are applied exactly (the process umask does
// not apply). Where the kernel lacks openat2 (before Linux 5.6), opening fails
// with Errc::Unsupported rather than running unconfined.
#pragma once

#include <memory>
#include <string>

#include "anyfs/fs.h"

namespace anyfs {

// Opens the existing directory `root` as an Fs. Errors: NotFound, NotDir,
// Permission, Unsupported (no openat2).
Result<std::shared_ptr<Fs>> open_host_fs(const std::string& root);

}  // namespace anyfs
