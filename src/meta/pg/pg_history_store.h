// The HistoryStore on PostgreSQL (issue 19): datasets' history bounds,
// transaction-group ends, snapshots and bookmarks, prune, rollback and diff
// over the tables of meta/pg/pg_schema.h, sharing the MetaStore's connection.
#pragma once

#include <memory>

#include "meta/history_store.h"

namespace anyfs::pg {
class Db;
}

namespace anyfs {

std::unique_ptr<HistoryStore> make_pg_history_store(pg::Db& db, MetaStore& meta);

}  // namespace anyfs
