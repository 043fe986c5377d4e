// Times as people write them, for every option that takes one (--at,
// history ranges): RFC 3339 / ISO 8601 with fractions and zones, dates, Unix
// seconds, and relative times as git reads them ("90 seconds ago", "2 hours
// ago", "yesterday", "now").
#pragma once

#include <cstdint>
#include <string_view>

#include "anyfs/error.h"

namespace anyfs {

// Nanoseconds since 1970 for `text`, relative forms counted back from
// `now_ns`. A time without a zone is local time. Accepted:
//   2026-12-02T05:26:03.706875814Z   2026-12-02 05:26:03+01:00   2026-12-02T05:26
//   2026-12-02                       @1796188800  @1796188800.5
//   now  yesterday  90 seconds ago  2 hours ago  an hour ago  3 days ago  1 week ago
//   (units: second, minute, hour, day, week, each also plural or short: s, sec, min, h, d, w)
// Errors: InvalidArgument naming the text and the forms accepted; times
// outside 1677..2262.
Result<std::int64_t> parse_time_ns(std::string_view text, std::int64_t now_ns);

// The accepted forms in a few words, for --help and errors.
inline constexpr std::string_view k_time_forms =
    "a time (2026-11-21T10:00:00.5Z, 2026-11-21 10:00+01:00, 2026-11-21), @UNIXSECONDS, or a relative time "
    "(90 seconds ago, 2 hours ago, yesterday, now), between 1677 and 2262";

}  // namespace anyfs
