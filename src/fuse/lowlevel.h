// The table of libfuse low-level operations over a Server (lowlevel.cc).
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "fuse/server.h"

namespace anyfs::fuse {

fuse_lowlevel_ops operations();

// The userdata handed to fuse_session_new: the server and the cache time.
void* session_data(Server& server, double timeout);
void free_session_data(void* data);

}  // namespace anyfs::fuse
