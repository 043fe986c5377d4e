#include "support/ceph.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>

namespace anyfs::testing {

std::string ceph_conf() {
  const char* dir = std::getenv("ANYFS_CEPH_DIR");
  const std::string conf = std::string(dir != nullptr ? dir : "") + "/ceph.conf";
  if (dir == nullptr || !std::filesystem::exists(conf)) {
    ADD_FAILURE() << "no Ceph cluster for this test: run it through ctest (its `ceph` fixture runs "
                     "scripts/ceph up), or start one with `scripts/ceph up DIR` and set ANYFS_CEPH_DIR=DIR";
    return {};
  }
  return conf;
}

std::string fresh_rados_namespace() {
  static std::atomic<int> counter{0};
  return "test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

}  // namespace anyfs::testing
