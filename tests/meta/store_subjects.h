// The record stores the meta suites run on: SQLite (a file in a temporary
// directory) and PostgreSQL (a schema of its own on the test server), each a
// MetaStore with its HistoryStore over one connection.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "meta/history_store.h"
#include "meta/meta_store.h"

namespace anyfs::testing {

struct StoreSubject {
  std::shared_ptr<void> keep;  // the connection and what it needs
  std::unique_ptr<MetaStore> meta;
  std::unique_ptr<HistoryStore> history;
};

struct StoreFactory {
  std::string name;
  std::function<StoreSubject()> make;  // meta is null when it could not be made
};

// Test names say the engine, not the factory's bytes.
inline void PrintTo(const StoreFactory& f, std::ostream* os) { *os << f.name; }

extern const StoreFactory k_sqlite_stores;
extern const StoreFactory k_postgres_stores;

}  // namespace anyfs::testing
