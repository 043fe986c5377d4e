// The fixture of the pool tests (pool_test.cc, pool_verify_test.cc): a pool
// in a temporary directory, made and opened with the defaults.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "anyfs/pool.h"
#include "support/must.h"
#include "support/temp_dir.h"

namespace anyfs::testing {

class PoolTest : public ::testing::Test {
 protected:
  std::string path() const { return dir_.str() + "/p.anyfs"; }
  std::shared_ptr<Pool> create(PoolCreateOptions options = {}) { return must(Pool::create(path(), options)); }
  std::shared_ptr<Pool> open(bool read_only = false) { PoolOpenOptions o;
    o.read_only = read_only;
    return must(Pool::open(path(), o)); }
  TempDir dir_;
};

}  // namespace anyfs::testing
