// The throwaway PostgreSQL the tests use: started by ctest's `postgres`
// fixture (scripts/pg up DIR, DIR in ANYFS_PG_DIR), never mocked. Each test
// takes a schema of its own, dropped when it ends.
#pragma once

#include <memory>
#include <string>

#include "meta/pg/pg_db.h"

namespace anyfs::testing {

// The server's URL (postgresql://postgres@127.0.0.1:PORT/anyfs); fails the
// test, saying how to start it, when no server was started.
std::string postgres_url();

// A connection whose search path is a new schema (gone with the object).
class PostgresSchema {
 public:
  PostgresSchema();
  ~PostgresSchema();
  bool has_db() const { return db_ != nullptr; }
  pg::Db& db() { return *db_; }
  const std::string& name() const { return name_; }
  // Another connection to the same schema (a second client).
  std::unique_ptr<pg::Db> connect() const;

 private:
  std::string name_;
  std::unique_ptr<pg::Db> db_;
};

}  // namespace anyfs::testing
