// The SQLite ChunkStore: chunks as rows of a `chunks` table (schema in
// meta/schema.cc), in the pool file itself for a single-file pool.
#pragma once

#include <memory>

#include "chunk/chunk_store.h"

namespace anyfs {
namespace sql {
class Db;
}

// A ChunkStore over `db`, which must outlive it and hold the `chunks` table.
std::unique_ptr<ChunkStore> make_sqlite_chunk_store(sql::Db& db);

// Creates the `chunks` table: a row per chunk — its id (SHA-256), codec, raw
// size, the XXH3 of the stored bytes and the stored bytes — in a pool file
// and in every volume file alike.
Result<void> create_chunk_table(sql::Db& db);

}  // namespace anyfs
