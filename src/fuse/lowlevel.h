// The table of libfuse low-level operations over a Server (lowlevel.cc).
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "fuse/server.h"

namespace anyfs::fuse {

fuse_lowlevel_ops operations();

// The userdata handed to fuse_session_new: the server, the cache time, and
// whether to ask for the kernel's writeback cache.
void* session_data(Server& server, double timeout, bool writeback);
// The session the data serves, once fuse_session_new made it.
void attach_session(void* data, fuse_session* se);
void free_session_data(void* data);

}  // namespace anyfs::fuse
