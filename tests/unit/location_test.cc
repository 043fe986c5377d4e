// The text a user gives for locations, snapshots and --at (pool/location.h).
#include "pool/location.h"

#include <gtest/gtest.h>

#include "support/result_matchers.h"

namespace anyfs {
namespace {

TEST(ParseLocation, AcceptsEveryDocumentedForm) {
  auto full = parse_location("data/set@snap:/dir/file");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->dataset, "data/set");
  EXPECT_EQ(full->snapshot, "snap");
  EXPECT_EQ(full->path, "/dir/file");
  auto root_snap = parse_location("@first:/");
  ASSERT_TRUE(root_snap);
  EXPECT_EQ(root_snap->dataset, "");
  EXPECT_EQ(root_snap->snapshot, "first");
  EXPECT_EQ(parse_location("/plain")->path, "/plain");
  EXPECT_EQ(parse_location("").error().code, Errc::InvalidArgument);
  EXPECT_EQ(parse_location("relative").error().code, Errc::InvalidArgument);
}

TEST(ParseAsOf, ReadsTidsUnixTimesAndDates) {
  EXPECT_EQ(parse_as_of("1234")->tid, 1234u);
  EXPECT_EQ(parse_as_of("tid:7")->tid, 7u);
  EXPECT_EQ(parse_as_of("@1763720000")->time_ns, 1763720000LL * 1'000'000'000);
  EXPECT_EQ(parse_as_of("2026-11-21T10:00:00Z")->time_ns, 1795255200LL * 1'000'000'000);
  EXPECT_EQ(parse_as_of("yesterday").error().code, Errc::InvalidArgument);
}

// Found by location_fuzz: a year past 2262 overflowed the nanosecond count
// (undefined behaviour; in practice a time in the distant past).
TEST(ParseAsOf, ATimeBeyondTheNanosecondRangeIsRefusedNotOverflowed) {
  for (const char* text : {"6026-11-21T10:00:00Z", "@9999999999", "@18446744073709551615", "2263-01-01"}) {
    auto r = parse_as_of(text);
    ASSERT_FALSE(r) << text << " gave time_ns " << r->time_ns.value_or(0);
    EXPECT_EQ(r.error().code, Errc::InvalidArgument) << text;
    EXPECT_NE(r.error().message.find("2262"), std::string::npos) << r.error().message;
  }
  EXPECT_TRUE(parse_as_of("2262-01-01T00:00:00Z"));
}

}  // namespace
}  // namespace anyfs
