#include "util/time_text.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <ctime>
#include <limits>
#include <optional>
#include <string>

namespace anyfs {
namespace {

constexpr std::int64_t k_ns = 1'000'000'000;

Result<void> bad(std::string_view text) {
  return fail(Errc::InvalidArgument, std::string(text), fmt::format("expected {}", k_time_forms));
}

// Reads exactly `digits` digits at `at`.
std::optional<int> digits(std::string_view s, std::size_t& at, std::size_t count) {
  if (at + count > s.size()) return std::nullopt;
  int v = 0;
  for (std::size_t i = 0; i < count; ++i) {
    char c = s[at + i];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  at += count;
  return v;
}

bool eat(std::string_view s, std::size_t& at, char c) {
  if (at < s.size() && s[at] == c) {
    ++at;
    return true;
  }
  return false;
}

// Seconds × 10^9 + fraction, if it fits in 1677..2262.
std::optional<std::int64_t> to_ns(std::int64_t secs, std::int64_t frac_ns) {
  constexpr std::int64_t k_limit = std::numeric_limits<std::int64_t>::max() / k_ns - 1;
  if (secs > k_limit || secs < -k_limit) return std::nullopt;
  return secs * k_ns + frac_ns;
}

// ".706875814" → nanoseconds (digits past nine are dropped).
std::optional<std::int64_t> fraction(std::string_view s, std::size_t& at) {
  std::int64_t ns = 0, scale = k_ns / 10;
  std::size_t start = at;
  while (at < s.size() && std::isdigit(static_cast<unsigned char>(s[at]))) {
    ns += (s[at] - '0') * scale;
    scale /= 10;
    ++at;
  }
  if (at == start) return std::nullopt;
  return ns;
}

// 2026-12-02[(T| )HH:MM[:SS[.frac]]][Z|±HH[:]MM]
std::optional<std::int64_t> absolute(std::string_view s) {
  std::size_t at = 0;
  std::tm tm{};
  auto y = digits(s, at, 4);
  if (!y || !eat(s, at, '-')) return std::nullopt;
  auto mo = digits(s, at, 2);
  if (!mo || !eat(s, at, '-')) return std::nullopt;
  auto d = digits(s, at, 2);
  if (!d || *mo < 1 || *mo > 12 || *d < 1 || *d > 31) return std::nullopt;
  tm.tm_year = *y - 1900;
  tm.tm_mon = *mo - 1;
  tm.tm_mday = *d;
  std::int64_t frac = 0;
  if (eat(s, at, 'T') || eat(s, at, 't') || eat(s, at, ' ')) {
    auto h = digits(s, at, 2);
    if (!h || !eat(s, at, ':')) return std::nullopt;
    auto mi = digits(s, at, 2);
    if (!mi || *h > 23 || *mi > 59) return std::nullopt;
    tm.tm_hour = *h;
    tm.tm_min = *mi;
    if (eat(s, at, ':')) {
      auto sec = digits(s, at, 2);
      if (!sec || *sec > 60) return std::nullopt;
      tm.tm_sec = *sec;
      if (eat(s, at, '.') || eat(s, at, ',')) {
        auto f = fraction(s, at);
        if (!f) return std::nullopt;
        frac = *f;
      }
    }
  }
  std::optional<std::int64_t> offset;  // seconds east of UTC
  if (eat(s, at, 'Z') || eat(s, at, 'z')) {
    offset = 0;
  } else if (at < s.size() && (s[at] == '+' || s[at] == '-')) {
    const int sign = s[at++] == '-' ? -1 : 1;
    auto oh = digits(s, at, 2);
    if (!oh) return std::nullopt;
    eat(s, at, ':');
    auto om = digits(s, at, 2);
    if (!om || *oh > 23 || *om > 59) return std::nullopt;
    offset = sign * (*oh * 3600 + *om * 60);
  }
  if (at != s.size()) return std::nullopt;
  std::int64_t secs;
  if (offset) {
    secs = static_cast<std::int64_t>(timegm(&tm)) - *offset;
  } else {
    tm.tm_isdst = -1;
    secs = static_cast<std::int64_t>(mktime(&tm));
  }
  return to_ns(secs, frac);
}

// @SECONDS[.frac]
std::optional<std::int64_t> unix_seconds(std::string_view s) {
  if (!s.starts_with('@')) return std::nullopt;
  s.remove_prefix(1);
  std::int64_t secs = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), secs);
  if (ec != std::errc() || end == s.data()) return std::nullopt;
  std::size_t at = static_cast<std::size_t>(end - s.data());
  std::int64_t frac = 0;
  if (eat(s, at, '.')) {
    auto f = fraction(s, at);
    if (!f) return std::nullopt;
    frac = *f;
  }
  if (at != s.size() || secs < 0) return std::nullopt;
  return to_ns(secs, frac);
}

std::optional<std::int64_t> unit_seconds(std::string_view u) {
  if (u.size() > 1 && u.back() == 's' && u != "s") u.remove_suffix(1);  // plurals
  if (u == "s" || u == "sec" || u == "second") return 1;
  if (u == "m" || u == "min" || u == "minute") return 60;
  if (u == "h" || u == "hr" || u == "hour") return 3600;
  if (u == "d" || u == "day") return 86400;
  if (u == "w" || u == "wk" || u == "week") return 7 * 86400;
  return std::nullopt;
}

// "now", "yesterday", "N UNIT ago", "NUNIT ago", "a/an UNIT ago".
std::optional<std::int64_t> relative(std::string_view s, std::int64_t now_ns) {
  std::string low;
  for (char c : s) low.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (low == "now") return now_ns;
  if (low == "yesterday") return now_ns - 86400 * k_ns;
  std::string_view t = low;
  if (!t.ends_with(" ago")) return std::nullopt;
  t.remove_suffix(4);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  std::int64_t count = 0;
  std::size_t at = 0;
  if (t.starts_with("an ")) {
    count = 1;
    at = 3;
  } else if (t.starts_with("a ")) {
    count = 1;
    at = 2;
  } else {
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), count);
    if (ec != std::errc() || end == t.data() || count < 0) return std::nullopt;
    at = static_cast<std::size_t>(end - t.data());
  }
  while (at < t.size() && t[at] == ' ') ++at;
  auto unit = unit_seconds(t.substr(at));
  if (!unit) return std::nullopt;
  if (count > std::numeric_limits<std::int64_t>::max() / k_ns / *unit) return std::nullopt;
  return now_ns - count * *unit * k_ns;
}

}  // namespace

Result<std::int64_t> parse_time_ns(std::string_view text, std::int64_t now_ns) {
  std::string_view s = text;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (auto t = unix_seconds(s)) return *t;
  if (auto t = relative(s, now_ns)) return *t;
  if (auto t = absolute(s)) return *t;
  ANYFS_CHECK(bad(text));
  return 0;
}

}  // namespace anyfs
