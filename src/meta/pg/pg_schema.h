// The record tables of a pool on PostgreSQL (issue 19; docs/FORMAT.md,
// "PostgreSQL pools"): the same TID-versioned rows as a pool file's, in a
// schema of their own so that one database can hold several pools (and each
// test a throwaway one). Names, xattrs, symlink targets and chunk ids are
// bytea, so any byte string a file system allows round-trips.
#pragma once

#include <string>
#include <string_view>

#include "anyfs/error.h"

namespace anyfs::pg {

class Db;

// The format of the PostgreSQL tables this build writes (settings 'format').
inline constexpr int k_pg_format_version = 1;

// Whether `name` may name a pool's schema: [a-z0-9_], 1..63 bytes, not
// starting with a digit or "pg_". Errors: InvalidArgument.
Result<void> check_schema_name(std::string_view name);

// Makes the schema (when missing) with every table of the current format and
// makes it the connection's search path. Errors: Unsupported (a newer format
// than this build writes), Io.
Result<void> create_or_use_schema(Db& db, const std::string& schema);

// Drops a schema and everything in it (tests' throwaway pools).
Result<void> drop_schema(Db& db, const std::string& schema);

}  // namespace anyfs::pg
