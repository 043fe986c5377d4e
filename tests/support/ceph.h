// The throwaway Ceph cluster the tests use: started by ctest's `ceph`
// fixture (scripts/ceph up DIR, DIR in ANYFS_CEPH_DIR), never mocked.
#pragma once

#include <string>

namespace anyfs::testing {

// The cluster's ceph.conf; fails the test, saying how to start one, when
// none was started.
std::string ceph_conf();

// A RADOS namespace no other test uses (the pool is shared).
std::string fresh_rados_namespace();

}  // namespace anyfs::testing
