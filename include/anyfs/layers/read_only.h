// ReadOnly: every call that would change the tree fails with Errc::ReadOnly
// before it reaches the Fs below; reads pass through unchanged.
#pragma once

#include <memory>

#include "anyfs/fs.h"

namespace anyfs {

std::shared_ptr<Fs> make_read_only(std::shared_ptr<Fs> inner);

}  // namespace anyfs
