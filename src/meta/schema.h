// The on-disk schema of a pool file (docs/FORMAT.md): how it is created, how a
// file is recognised as a pool, and how an older format is migrated.
#pragma once

#include <cstdint>

#include "anyfs/error.h"

namespace anyfs {
namespace sql {
class Db;
}

// "ANYF": PRAGMA application_id of every pool file.
inline constexpr std::int32_t k_application_id = 0x414e5946;
// PRAGMA user_version: the format this build writes.
inline constexpr int k_format_version = 6;

// Creates every table of the current format in an empty database.
Result<void> create_schema(sql::Db& db);

// Checks that `db` is a pool this build can use, migrating an older format when
// `writable`. Errors: Corrupt ("not an AnyFS pool"), Unsupported (a newer format,
// naming both versions).
Result<void> check_schema(sql::Db& db, bool writable);

}  // namespace anyfs
