// pg::Db (meta/pg/pg_db.h) against a real PostgreSQL: values round-trip in
// binary, and the server's failures reach the caller as the Errc the stores
// above act on — a conflict between two clients is Again (retry), a duplicate
// Exists, a dead server or connection a clear Io naming it.
#include "meta/pg/pg_db.h"

#include <gtest/gtest.h>

#include <limits>

#include "meta/pg/pg_schema.h"
#include "support/must.h"
#include "support/postgres.h"
#include "support/result_matchers.h"

namespace anyfs::testing {
namespace {

TEST(PgDbTest, ValuesRoundTripInBinary) {
  PostgresSchema schema;
  ASSERT_TRUE(schema.has_db());
  pg::Db& db = schema.db();
  ASSERT_OK(db.exec("CREATE TABLE t(n bigint, b bytea, s text, i integer, f boolean)"));
  const std::string blob("\0\x01\xff", 3);
  for (const std::int64_t n : {std::int64_t{0}, std::int64_t{-1}, std::numeric_limits<std::int64_t>::max(),
                               std::numeric_limits<std::int64_t>::min()})
    ASSERT_OK(db.run("INSERT INTO t VALUES($1, $2, $3, 7, true)", {n, pg::Bytes{blob}, std::string_view("h\xc3\xa9")}));
  auto rows = must(db.run("SELECT n, b, s, i, f FROM t ORDER BY n"));
  ASSERT_EQ(rows.size(), 4);
  EXPECT_EQ(rows.i64(0, 0), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(rows.i64(3, 0), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(rows.bytes(1, 1), blob);
  EXPECT_EQ(rows.str(1, 2), "h\xc3\xa9");
  EXPECT_EQ(rows.i64(1, 3), 7);
  EXPECT_EQ(rows.i64(1, 4), 1);
  auto updated = must(db.run("UPDATE t SET i = 8 WHERE n < $1", {std::int64_t{0}}));
  EXPECT_EQ(updated.affected(), 2u);
}

TEST(PgDbTest, ADuplicateKeyIsExists) {
  PostgresSchema schema;
  ASSERT_TRUE(schema.has_db());
  ASSERT_OK(schema.db().exec("CREATE TABLE u(k text PRIMARY KEY)"));
  ASSERT_OK(schema.db().run("INSERT INTO u VALUES($1)", {std::string_view("a")}));
  auto again = schema.db().run("INSERT INTO u VALUES($1)", {std::string_view("a")});
  ASSERT_ERR(again, Exists);
  EXPECT_NE(again.error().message.find("duplicate key"), std::string::npos) << again.error().message;
}

TEST(PgDbTest, TwoClientsThatConflictGetAgainAndARetrySucceeds) {
  PostgresSchema schema;
  ASSERT_TRUE(schema.has_db());
  pg::Db& a = schema.db();
  auto b = schema.connect();
  ASSERT_NE(b, nullptr);
  ASSERT_OK(a.exec("CREATE TABLE c(k integer PRIMARY KEY, v bigint); INSERT INTO c VALUES(1, 0)"));
  ASSERT_OK(a.exec("BEGIN ISOLATION LEVEL SERIALIZABLE"));
  ASSERT_OK(b->exec("BEGIN ISOLATION LEVEL SERIALIZABLE"));
  ASSERT_OK(a.run("SELECT v FROM c WHERE k = 1"));
  ASSERT_OK(b->run("SELECT v FROM c WHERE k = 1"));
  ASSERT_OK(a.run("UPDATE c SET v = v + 1 WHERE k = 1"));
  ASSERT_OK(a.exec("COMMIT"));
  auto lost = b->run("UPDATE c SET v = v + 1 WHERE k = 1");
  ASSERT_ERR(lost, Again);
  EXPECT_TRUE(pg::retryable(lost.error()));
  ASSERT_OK(b->exec("ROLLBACK"));
  // Run again from its start, it goes through.
  ASSERT_OK(b->exec("BEGIN ISOLATION LEVEL SERIALIZABLE"));
  ASSERT_OK(b->run("UPDATE c SET v = v + 1 WHERE k = 1"));
  ASSERT_OK(b->exec("COMMIT"));
  EXPECT_EQ(must(a.run("SELECT v FROM c WHERE k = 1")).i64(0, 0), 2);
}

// Most pools are used by a role that is not a superuser: connecting must not
// need a superuser's rights (setting lc_messages does).
TEST(PgDbTest, AnOrdinaryRoleCanConnect) {
  PostgresSchema schema;
  ASSERT_TRUE(schema.has_db());
  const std::string role = "r_" + schema.name();
  ASSERT_OK(schema.db().exec("CREATE ROLE " + role + " LOGIN"));
  std::string url = postgres_url();
  url.replace(url.find("postgres@"), 9, role + "@");
  auto db = pg::Db::connect(url);
  ASSERT_OK(db);
  EXPECT_EQ(must((*db)->run("SELECT 41 + 1")).i64(0, 0), 42);
  db->reset();
  ASSERT_OK(schema.db().exec("DROP ROLE " + role));
}

TEST(PgDbTest, NoServerIsAClearIoError) {
  auto db = pg::Db::connect("postgresql://postgres@127.0.0.1:1/anyfs?connect_timeout=2");
  ASSERT_ERR(db, Io);
  EXPECT_NE(db.error().message.find("cannot connect to PostgreSQL"), std::string::npos) << db.error().message;
}

TEST(PgDbTest, AConnectionTheServerEndedIsAnIoErrorSayingSo) {
  PostgresSchema schema;
  ASSERT_TRUE(schema.has_db());
  auto victim = schema.connect();
  ASSERT_NE(victim, nullptr);
  const auto pid = must(victim->run("SELECT pg_backend_pid()")).i64(0, 0);
  ASSERT_OK(schema.db().run("SELECT pg_terminate_backend($1::integer)", {pid}));
  auto after = victim->run("SELECT 1");
  ASSERT_ERR(after, Io);
  EXPECT_NE(after.error().message.find("connection"), std::string::npos) << after.error().message;
}

TEST(PgDbTest, SchemaNamesAreCheckedAndANewerFormatIsRefused) {
  PostgresSchema schema;
  ASSERT_TRUE(schema.has_db());
  ASSERT_ERR(pg::check_schema_name("Bad-Name"), InvalidArgument);
  ASSERT_ERR(pg::check_schema_name("pg_x"), InvalidArgument);
  ASSERT_ERR(pg::check_schema_name("1x"), InvalidArgument);
  ASSERT_OK(pg::check_schema_name("pool_1"));
  ASSERT_OK(schema.db().run("UPDATE settings SET value = $1 WHERE key = 'format'", {pg::Bytes{"99"}}));
  auto other = pg::Db::connect(postgres_url());
  ASSERT_OK(other);
  auto used = pg::create_or_use_schema(**other, schema.name());
  ASSERT_ERR(used, Unsupported);
  EXPECT_NE(used.error().message.find("newer"), std::string::npos) << used.error().message;
}

}  // namespace
}  // namespace anyfs::testing
