// verify through the C++ API: record damage of every kind named, a flipped
// chunk byte Corrupt on read and in verify, content that no longer matches
// its id caught by checksum=verify.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "anyfs/pool.h"
#include "chunk/hash.h"
#include "pool/pool_fixture.h"
#include "support/must.h"
#include "support/random_bytes.h"
#include "support/raw_sql.h"
#include "support/result_matchers.h"
#include "util/page_checksum_vfs.h"

namespace anyfs::testing {
namespace {

// Flips one byte of the first chunk's stored bytes in place, as bit rot would.
// Through the page-checksum VFS: the pages stay valid and the chunk's own
// checksum has to catch the change.
void flip_chunk_byte(const std::string& path, int offset) {
  sqlite3* db = nullptr;
  const std::string vfs = sql::page_checksum_vfs("").value();
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, vfs.c_str()), SQLITE_OK);
  sqlite3_blob* blob = nullptr;
  ASSERT_EQ(sqlite3_blob_open(db, "main", "chunks", "data", 1, 1, &blob), SQLITE_OK) << sqlite3_errmsg(db);
  char byte = 0;
  ASSERT_EQ(sqlite3_blob_read(blob, &byte, 1, offset), SQLITE_OK);
  byte = static_cast<char>(byte ^ 0x10);
  ASSERT_EQ(sqlite3_blob_write(blob, &byte, 1, offset), SQLITE_OK);
  sqlite3_blob_close(blob);
  sqlite3_close(db);
}

TEST_F(PoolTest, VerifyFindsRecordDamage) {
  {
    auto pool = create();
    auto fs = must(pool->dataset());
    ASSERT_OK(fs->mkdir("/d"));
    ASSERT_OK(fs->write_file("/d/f", random_bytes(50'000, 5)));
  }
  raw_sql(path(), "UPDATE inodes SET nlink = 5 WHERE kind = 0; DELETE FROM chunk_refs;");
  auto pool = open();
  auto report = must(pool->verify());
  ASSERT_FALSE(report.ok());
  std::string all;
  for (auto& p : report.problems) all += p + "\n";
  EXPECT_NE(all.find("nlink 5 but 1 names"), std::string::npos) << all;
  EXPECT_NE(all.find("has no reference count"), std::string::npos) << all;
}

// Each invariant verify checks, broken on its own in the records: verify
// names it. /d holds the file f (one chunk) and the directory s.
TEST_F(PoolTest, VerifyNamesEachKindOfRecordDamage) {
  // Names are stored as blobs.
  auto is = [](const char* name) { return std::string("name = CAST('") + name + "' AS BLOB)"; };
  auto ino = [&](const char* name) { return "(SELECT ino FROM dirents WHERE " + is(name) + ")"; };
  const std::string d = ino("d"), s = ino("s"), f = ino("f");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"UPDATE dirents SET parent = " + f + " WHERE " + is("s"), "which is not a live directory"},
      {"UPDATE dirents SET ino = 999999 WHERE " + is("f"), "names inode 999999, which does not exist"},
      {"UPDATE dirents SET kind = 2 WHERE " + is("f"), "says symlink but inode"},
      {"UPDATE inodes SET nlink = 5 WHERE kind = 0", "nlink 5 but 1 names"},
      {"UPDATE inodes SET nlink = 7 WHERE ino = " + d, "has nlink 7 but 1 subdirectories"},
      {"UPDATE inodes SET size = 9 WHERE ino = " + d, "records 9 entries but holds 2"},
      {"INSERT INTO dirents SELECT ds, 1, tid_to, CAST('again' AS BLOB), tid_from, ino, kind FROM dirents WHERE " +
           is("s"),
       "has 2 names"},
      {"INSERT INTO extents SELECT ds, ino, tid_to, offset + 1, tid_from, length, chunk, chunk_offset FROM extents",
       "overlap at offset 1"},
      {"UPDATE extents SET ino = " + s, "which is not a live file"},
      {"UPDATE inodes SET size = 10 WHERE kind = 0", "runs past its size 10"},
      {"UPDATE extents SET length = 0", "empty extent"},
      {"UPDATE chunk_refs SET refs = refs + 1", "reference count 2 but 1 extent rows name it"},
      {"DELETE FROM chunk_refs", "has no reference count"},
      {"DELETE FROM chunks", "referenced but missing"},
      {"UPDATE extents SET chunk_offset = chunk_offset + 100000", "extents read up to byte"},
  };
  for (const auto& [damage, expected] : cases) {
    SCOPED_TRACE(damage);
    std::filesystem::remove(path());
    {
      auto pool = create({.properties = {{"compression", "off"}, {"recordsize", "128K"}}});
      auto fs = must(pool->dataset());
      ASSERT_OK(fs->mkdir("/d"));
      ASSERT_OK(fs->mkdir("/d/s"));
      ASSERT_OK(fs->write_file("/d/f", random_bytes(20'000, 5)));
      ASSERT_TRUE(must(pool->verify()).ok());
    }
    raw_sql(path(), damage);
    auto pool = open();
    auto report = must(pool->verify());
    std::string all;
    for (auto& p : report.problems) all += p + "\n";
    EXPECT_NE(all.find(expected), std::string::npos) << all;
  }
}

TEST_F(PoolTest, AFlippedChunkByteIsCorruptOnReadAndInVerify) {
  {
    auto pool = create({.properties = {{"compression", "off"}}});
    ASSERT_OK(must(pool->dataset())->write_file("/f", random_bytes(30'000, 6)));
  }
  flip_chunk_byte(path(), 100);
  auto pool = open();
  auto read = must(pool->dataset())->read_file("/f");
  ASSERT_ERR(read, Corrupt);
  EXPECT_NE(read.error().path.find("chunk "), std::string::npos) << read.error().to_string();
  auto report = must(pool->verify());
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.problems.front().find("checksum mismatch"), std::string::npos) << report.problems.front();
}

}  // namespace
}  // namespace anyfs::testing
