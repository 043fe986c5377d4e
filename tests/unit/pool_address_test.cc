// How a user names a pool (pool/pool_address.h): a file path, or records on
// PostgreSQL with chunks on RADOS or in a local volume file; every malformed
// address is refused saying why.
#include "pool/pool_address.h"

#include <gtest/gtest.h>

#include "support/must.h"
#include "support/result_matchers.h"

namespace anyfs::testing {
namespace {

TEST(PoolAddressTest, APathIsAPoolFile) {
  const auto a = must(parse_pool_address("/srv/p.anyfs"));
  EXPECT_EQ(a.kind, PoolAddress::Kind::File);
  EXPECT_EQ(a.path, "/srv/p.anyfs");
  EXPECT_EQ(must(parse_pool_address("relative/p")).path, "relative/p");
  ASSERT_ERR(parse_pool_address(""), InvalidArgument);
}

TEST(PoolAddressTest, PostgresWithRadosChunksKeepsLibpqsOwnParameters) {
  const auto a = must(parse_pool_address(
      "postgresql://me@db.example:5433/fs?sslmode=disable&chunks=rados://data&schema=team_a&ceph_conf=%2Fetc%2Fc.conf"
      "&connect_timeout=5"));
  EXPECT_EQ(a.kind, PoolAddress::Kind::Postgres);
  EXPECT_EQ(a.server, "postgresql://me@db.example:5433/fs?sslmode=disable&connect_timeout=5");
  EXPECT_EQ(a.schema, "team_a");
  EXPECT_EQ(a.rados_pool, "data");
  EXPECT_EQ(a.ceph_conf, "/etc/c.conf");
  EXPECT_TRUE(a.chunks_path.empty());
}

TEST(PoolAddressTest, PostgresWithLocalChunksAndTheDefaultSchema) {
  const auto a = must(parse_pool_address("postgres://127.0.0.1/fs?chunks=/var/lib/anyfs/chunks.vol"));
  EXPECT_EQ(a.server, "postgres://127.0.0.1/fs");
  EXPECT_EQ(a.schema, "anyfs");
  EXPECT_EQ(a.chunks_path, "/var/lib/anyfs/chunks.vol");
  EXPECT_TRUE(a.rados_pool.empty());
}

TEST(PoolAddressTest, MalformedAddressesAreRefusedSayingWhy) {
  auto says = [](std::string_view text, std::string_view why) {
    auto a = parse_pool_address(text);
    ASSERT_ERR(a, InvalidArgument) << text;
    EXPECT_NE(a.error().message.find(why), std::string::npos) << text << ": " << a.error().message;
  };
  says("postgresql://h/db", "says where its chunks go");
  says("postgresql://h/db?chunks=", "chunks= is empty");
  says("postgresql://h/db?chunks=s3://bucket", "rados://RPOOL or the PATH");
  says("postgresql://h/db?chunks=rados://", "names one RADOS pool");
  says("postgresql://h/db?chunks=rados://a/b", "names one RADOS pool");
  says("postgresql://h/db?chunks=rados://a&schema=Bad-Name", "schema=");
  says("postgresql://h/db?chunks=rados://a&schema=pg_x", "schema=");
  says("postgresql://h/db?chunks=rados://a&chunks=rados://b", "given twice");
  says("postgresql://h/db?chunks=/c.vol&ceph_conf=/x", "ceph_conf= is for chunks=rados://");
  says("postgresql://h/db?chunks=%zz", "%-escape");
  says("postgresql://h/db?chunks=%4", "%-escape");
}

}  // namespace
}  // namespace anyfs::testing
