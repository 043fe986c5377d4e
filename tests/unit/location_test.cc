// The text a user gives for locations, snapshots and --at (pool/location.h).
#include "pool/location.h"
#include "util/clock.h"
#include "util/time_text.h"

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
  EXPECT_EQ(parse_as_of("sometime").error().code, Errc::InvalidArgument);
}

// Issue 15: the times `date -Ins` and logs print, zones, and relative times.
TEST(ParseTime, ReadsFractionsZonesAndRelativeTimes) {
  constexpr std::int64_t s = 1'000'000'000;
  EXPECT_EQ(*parse_time_ns("2026-12-02T05:26:03.706875814Z", 0), 1796189163LL * s + 706875814);
  EXPECT_EQ(*parse_time_ns("2026-12-02T05:26:03,5Z", 0), 1796189163LL * s + 500000000);
  EXPECT_EQ(*parse_time_ns("2026-12-02T06:26:03+01:00", 0), 1796189163LL * s);
  EXPECT_EQ(*parse_time_ns("2026-12-02 00:26:03-0500", 0), 1796189163LL * s);
  EXPECT_EQ(*parse_time_ns("2026-12-02T05:26Z", 0), 1796189160LL * s);
  EXPECT_EQ(*parse_time_ns("@1796189163.25", 0), 1796189163LL * s + 250000000);
  const std::int64_t now = 1796189163LL * s;
  EXPECT_EQ(*parse_time_ns("now", now), now);
  EXPECT_EQ(*parse_time_ns("90 seconds ago", now), now - 90 * s);
  EXPECT_EQ(*parse_time_ns("90s ago", now), now - 90 * s);
  EXPECT_EQ(*parse_time_ns("1 minute ago", now), now - 60 * s);
  EXPECT_EQ(*parse_time_ns("2 hours ago", now), now - 7200 * s);
  EXPECT_EQ(*parse_time_ns("an hour ago", now), now - 3600 * s);
  EXPECT_EQ(*parse_time_ns("3 days ago", now), now - 3 * 86400 * s);
  EXPECT_EQ(*parse_time_ns("1 week ago", now), now - 7 * 86400 * s);
  EXPECT_EQ(*parse_time_ns("Yesterday", now), now - 86400 * s);
  for (const char* bad : {"", "2026-13-01", "2026-12-02T25:00Z", "2026-12-02T05:26:03Zjunk", "5 fortnights ago",
                          "ago", "-3 days ago", "@", "@-5", "2026-12-02T05:26:03+1", "tomorrow"})
    EXPECT_FALSE(parse_time_ns(bad, now)) << bad;
  EXPECT_NEAR(static_cast<double>(parse_as_of("2 hours ago")->time_ns.value_or(0)), static_cast<double>(wall_clock_ns() - 7200 * s), 5.0 * s);
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
