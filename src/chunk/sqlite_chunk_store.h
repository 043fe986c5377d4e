// The SQLite ChunkStore: chunks as rows of a `chunks` table (schema in
// meta/schema.cc), in the pool file itself for a single-file pool.
#pragma once

#include <memory>

#include "chunk/chunk_store.h"

namespace anyfs {
namespace sql {
class Db;
}

// A ChunkStore over `db`, which must outlive it and hold the pool schema.
std::unique_ptr<ChunkStore> make_sqlite_chunk_store(sql::Db& db);

}  // namespace anyfs
