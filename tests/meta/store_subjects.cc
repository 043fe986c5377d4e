#include "meta/store_subjects.h"

#include "meta/pg/pg_history_store.h"
#include "meta/pg/pg_meta_store.h"
#include "meta/schema.h"
#include "support/postgres.h"
#include "support/temp_dir.h"
#include "util/sqlite.h"

namespace anyfs::testing {

const StoreFactory k_sqlite_stores{"SQLite", [] {
                                     auto dir = std::make_shared<TempDir>();
                                     sql::OpenOptions o;
                                     o.create = true;
                                     auto db = sql::Db::open(dir->str() + "/meta.db", o);
                                     if (!db || !create_schema(**db)) return StoreSubject{};
                                     std::shared_ptr<sql::Db> shared(std::move(*db));
                                     StoreSubject s;
                                     s.meta = make_sqlite_meta_store(*shared);
                                     s.history = make_sqlite_history_store(*shared, *s.meta);
                                     s.keep = std::make_shared<std::pair<std::shared_ptr<TempDir>,
                                                                         std::shared_ptr<sql::Db>>>(dir, shared);
                                     return s;
                                   }};

const StoreFactory k_postgres_stores{"PostgreSQL", [] {
                                       auto schema = std::make_shared<PostgresSchema>();
                                       if (!schema->has_db()) return StoreSubject{};
                                       StoreSubject s;
                                       s.meta = make_pg_meta_store(schema->db());
                                       s.history = make_pg_history_store(schema->db(), *s.meta);
                                       s.keep = schema;
                                       return s;
                                     }};

}  // namespace anyfs::testing
