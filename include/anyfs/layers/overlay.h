// Overlay: a writable upper Fs over a read-only lower Fs, as Linux overlayfs.
//
// Reads see the upper entry where there is one, else the lower. The first write,
// truncate, chmod/chown/utimens, xattr change, link or rename of a lower object
// copies it up (content, mode, owner, times, xattrs; parents first). Removing a
// lower name leaves a whiteout in the upper; a directory created where a lower
// one was removed is opaque (hides the lower contents). Renaming a directory that
// has lower contents copies its whole subtree up first.
//
// Whiteouts and opaque markers are ordinary upper entries named ".wh.NAME" and
// ".wh..wh..opq" (the aufs convention), so any Fs can be the upper; names
// starting with ".wh." are therefore refused with Errc::InvalidArgument. Inode
// numbers come from the layer that holds the object (upper ones even, lower ones
// odd, so they never collide), so a copy-up changes a file's inode number, and
// hard links between lower files are not preserved by copy-up.
#pragma once

#include <memory>

#include "anyfs/fs.h"

namespace anyfs {

std::shared_ptr<Fs> make_overlay(std::shared_ptr<Fs> upper, std::shared_ptr<Fs> lower);

}  // namespace anyfs
