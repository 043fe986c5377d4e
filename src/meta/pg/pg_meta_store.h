// The MetaStore on PostgreSQL (issue 19): the same TID-versioned records as
// the SQLite store (meta/meta_store.h), in the tables of meta/pg/pg_schema.h,
// over one connection whose search path names the pool's schema.
#pragma once

#include <memory>

#include "meta/meta_store.h"

namespace anyfs::pg {
class Db;
}

namespace anyfs {

std::unique_ptr<MetaStore> make_pg_meta_store(pg::Db& db);

}  // namespace anyfs
