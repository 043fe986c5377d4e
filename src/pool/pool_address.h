// Where a pool lives, as a user names it (issue 19; docs/CLI.md, "Pools"):
//   PATH                                   a pool file (and its volume files)
//   postgresql://[USER@]HOST[:PORT]/DB?chunks=rados://RPOOL[&schema=NAME][&ceph_conf=PATH]
//   postgresql://…/DB?chunks=PATH          records on PostgreSQL, chunks in a local volume file
// `postgres://` is accepted too. Other query parameters (sslmode,
// connect_timeout…) are libpq's and go to it unchanged. One database holds
// several pools, each in its own schema (default `anyfs`); one RADOS pool
// holds several, each in a namespace named by the pool's uuid.
#pragma once

#include <string>
#include <string_view>

#include "anyfs/error.h"

namespace anyfs {

struct PoolAddress {
  enum class Kind { File, Postgres };
  Kind kind = Kind::File;
  std::string path;         // File: the pool file
  std::string server;       // Postgres: the libpq URL without AnyFS's parameters
  std::string schema = "anyfs";
  std::string chunks_path;  // chunks=PATH (a volume file)
  std::string rados_pool;   // chunks=rados://RPOOL
  std::string ceph_conf;    // ceph_conf=PATH ("" = CEPH_CONF or Ceph's default)
};

// Errors: InvalidArgument saying what is wrong and the accepted forms (no
// chunks= for a PostgreSQL pool, an unknown chunks scheme, an empty RADOS
// pool, a bad schema name, a parameter given twice, bad %-escapes).
Result<PoolAddress> parse_pool_address(std::string_view text);

}  // namespace anyfs
