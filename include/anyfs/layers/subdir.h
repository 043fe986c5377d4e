// Subdir: a subtree of another Fs as the root. Paths, ".." and symlinks resolve
// inside the subtree (an absolute symlink target starts at the subtree's root).
// The subtree is resolved at creation; later renames of it are not followed.
// Confinement holds against any path given to this layer; a concurrent change to
// the Fs below made through another route can race with a resolution (as with
// chroot), so give untrusted writers only the Subdir.
#pragma once

#include <memory>
#include <string_view>

#include "anyfs/fs.h"

namespace anyfs {

// Errors: NotFound, NotDir (the subtree is missing or not a directory).
Result<std::shared_ptr<Fs>> make_subdir(std::shared_ptr<Fs> inner, std::string_view root);

}  // namespace anyfs
