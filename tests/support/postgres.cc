#include "support/postgres.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>

#include "meta/pg/pg_schema.h"

namespace anyfs::testing {

std::string postgres_url() {
  if (const char* url = std::getenv("ANYFS_PG_URL")) return url;
  const char* dir = std::getenv("ANYFS_PG_DIR");
  std::ifstream port_file(std::string(dir != nullptr ? dir : "") + "/port");
  std::string port;
  if (dir == nullptr || !(port_file >> port)) {
    ADD_FAILURE() << "no PostgreSQL for this test: run it through ctest (its `postgres` fixture runs "
                     "scripts/pg up), or start one with `scripts/pg up DIR` and set ANYFS_PG_DIR=DIR";
    return "postgresql://postgres@127.0.0.1:1/anyfs";
  }
  return "postgresql://postgres@127.0.0.1:" + port + "/anyfs";
}

PostgresSchema::PostgresSchema() {
  static std::atomic<int> counter{0};
  name_ = "t" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  auto db = pg::Db::connect(postgres_url());
  if (!db) {
    ADD_FAILURE() << db.error().to_string();
    return;
  }
  db_ = std::move(*db);
  auto made = pg::create_or_use_schema(*db_, name_);
  if (!made) ADD_FAILURE() << made.error().to_string();
}

PostgresSchema::~PostgresSchema() {
  if (db_ == nullptr) return;
  (void)db_->exec("ROLLBACK");
  (void)pg::drop_schema(*db_, name_);
}

std::unique_ptr<pg::Db> PostgresSchema::connect() const {
  auto db = pg::Db::connect(postgres_url());
  if (!db) {
    ADD_FAILURE() << db.error().to_string();
    return nullptr;
  }
  auto used = pg::create_or_use_schema(**db, name_);
  if (!used) ADD_FAILURE() << used.error().to_string();
  return std::move(*db);
}

}  // namespace anyfs::testing
