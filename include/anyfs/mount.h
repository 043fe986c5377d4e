// Serving a dataset to the kernel with FUSE (libfuse3, low-level API): any
// program can then use it as a directory. docs/MOUNT.md describes the behaviour
// (permissions, caching, the .anyfs/snapshots view, locks, what is not done).
#pragma once

#include <memory>
#include <string>

#include "anyfs/error.h"
#include "anyfs/pool.h"

namespace anyfs {

struct MountOptions {
  // Serve read-only: the kernel refuses every change with EROFS. A view of the
  // past is always read-only.
  bool read_only = false;
  // Let users other than the one mounting in (FUSE's allow_other; a non-root
  // user needs user_allow_other in /etc/fuse.conf).
  bool allow_other = false;
  // Let device nodes be opened (-o dev) and set-user-ID / set-group-ID take
  // effect (-o suid), for a root filesystem or a chroot in a pool. Like every
  // Linux filesystem, only root may mount so; FUSE's default is nodev,nosuid.
  bool devices = false;
  bool setuid = false;
  // List .anyfs in the root directory (it can always be looked up by name).
  bool snapdir_visible = false;
  // How long the kernel may keep names and attributes (seconds). The mount is
  // the pool's only writer, so every change passes through the kernel, which
  // updates its cache from the replies; a longer time only saves round trips.
  double cache_seconds = 10.0;
  // Let the kernel cache writes (FUSE writeback cache): small writes reach the
  // daemon merged into large ones. Off: every write() is a request.
  bool writeback_cache = true;
  // Threads serving requests at most.
  unsigned max_threads = 8;
  // Print every request (libfuse's debug output) on stderr.
  bool debug = false;
  // Shown as the mount's source in /proc/mounts ("anyfs:" + this).
  std::string source = "pool";
};

// A live FUSE mount. Requests are served on background threads from start()
// until the filesystem is unmounted (by stop(), `umount`, `fusermount3 -u` or
// the destructor); the pool and dataset stay open that long.
class Mount {
 public:
  virtual ~Mount() = default;

  // Mounts `dataset` (of `pool`, whose snapshots of it appear under
  // .anyfs/snapshots) at `mountpoint`, an existing directory, and starts
  // serving; it returns once the kernel has the mount. Errors: NotFound /
  // NotDir (mountpoint), Permission (no access to /dev/fuse), Io (the kernel
  // refused the mount), Busy (already mounted here).
  static Result<std::unique_ptr<Mount>> start(std::shared_ptr<Pool> pool, std::shared_ptr<Dataset> dataset,
                                               const std::string& mountpoint, const MountOptions& options = {});

  // Blocks until the filesystem is unmounted and the serving threads are done.
  virtual Result<void> wait() = 0;

  // Unmounts (lazily: processes still inside keep what they hold until they
  // let go) and waits as wait() does. A second call does nothing.
  virtual Result<void> stop() = 0;

  virtual const std::string& mountpoint() const = 0;
};

// Unmounts the FUSE mount at `mountpoint` (umount2 as root, else fusermount3
// -u); `lazy` detaches it even while in use (it ends when the last user
// leaves). Errors: Busy (in use, without `lazy`), NotFound (no fusermount3),
// InvalidArgument (nothing mounted there, as root).
Result<void> unmount(const std::string& mountpoint, bool lazy);

// Whether this process can open /dev/fuse (tests skip when it cannot, saying why).
Result<void> fuse_available();

}  // namespace anyfs
