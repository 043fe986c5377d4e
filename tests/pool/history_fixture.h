// The fixture of the history tests (history_test.cc, clone_test.cc): a pool
// in a temporary directory, trees read whole, verify, row counts.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "anyfs/pool.h"
#include "support/must.h"
#include "support/random_tree.h"
#include "support/raw_sql.h"
#include "support/temp_dir.h"

namespace anyfs::testing {

class HistoryTest : public ::testing::Test {
 protected:
  std::string path() const { return dir_.str() + "/p.anyfs"; }
  std::shared_ptr<Pool> create(std::vector<std::pair<std::string, std::string>> props = {}) {
    PoolCreateOptions o;
    o.properties = std::move(props);
    return must(Pool::create(path(), o));
  }
  std::shared_ptr<Pool> open(bool read_only = false) {
    PoolOpenOptions o;
    o.read_only = read_only;
    return must(Pool::open(path(), o));
  }
  static Tree tree_of(Fs& fs) {
    Tree t;
    must(read_tree(fs, "/", t));
    return t;
  }
  static Tree tree_at(Pool& pool, const std::string& ds, const AsOf& at) {
    return tree_of(*must(pool.dataset_at(ds, at)));
  }
  static void expect_verified(Pool& pool) {
    auto report = must(pool.verify());
    for (const auto& p : report.problems) ADD_FAILURE() << p;
  }
  std::int64_t rows(const std::string& table, const std::string& where = "1") {
    return raw_sql_int(path(), "SELECT count(*) FROM " + table + " WHERE " + where);
  }
  TempDir dir_;
};


}  // namespace anyfs::testing
