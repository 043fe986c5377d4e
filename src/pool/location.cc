#include "pool/location.h"

#include "util/clock.h"
#include "util/time_text.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <limits>

namespace anyfs {
namespace {

constexpr std::string_view k_forms = "expected /path, DATASET:/path, DATASET@SNAP:/path or @SNAP:/path";

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.';
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

}  // namespace

Result<void> check_snapshot_name(std::string_view name) {
  if (name.empty() || name.size() > 200) return fail(Errc::InvalidArgument, std::string(name), "bad snapshot name");
  for (char c : name)
    if (!name_char(c))
      return fail(Errc::InvalidArgument, std::string(name), "a snapshot name holds only A-Z a-z 0-9 _ - .");
  return {};
}

Result<SnapshotSpec> parse_snapshot_spec(std::string_view text) {
  std::size_t at = text.find('@');
  if (at == std::string_view::npos)
    return fail(Errc::InvalidArgument, std::string(text), "expected DATASET@SNAPSHOT or @SNAPSHOT");
  SnapshotSpec out{std::string(text.substr(0, at)), std::string(text.substr(at + 1))};
  if (!out.dataset.empty()) ANYFS_CHECK(check_dataset_name(out.dataset));
  ANYFS_CHECK(check_snapshot_name(out.name));
  return out;
}

std::string show_dataset(std::string_view name) { return name.empty() ? "(root)" : std::string(name); }

std::string parent_dataset(std::string_view name) {
  const auto slash = name.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(name.substr(0, slash));
}

bool within_dataset(std::string_view name, std::string_view top) {
  if (top.empty()) return true;
  return name == top || (name.size() > top.size() && name.starts_with(top) && name[top.size()] == '/');
}

Result<void> check_dataset_name(std::string_view name) {
  if (name.empty() || name.size() > 200)
    return fail(Errc::InvalidArgument, std::string(name), "a dataset name is 1..200 bytes");
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t slash = name.find('/', start);
    std::string_view part = name.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.empty() || part == "." || part == "..")
      return fail(Errc::InvalidArgument, std::string(name), "empty, '.' or '..' component in a dataset name");
    for (char c : part)
      if (!name_char(c))
        return fail(Errc::InvalidArgument, std::string(name),
                    "a dataset name holds only A-Z a-z 0-9 _ - . and / between components");
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return {};
}

Result<Location> parse_location(std::string_view text) {
  Location out;
  if (text.empty()) return fail(Errc::InvalidArgument, "", fmt::format("empty location: {}", k_forms));
  if (text.front() == '/') {
    out.path = std::string(text);
    return out;
  }
  std::size_t colon = text.find(":/");
  if (colon == std::string_view::npos)
    return fail(Errc::InvalidArgument, std::string(text), fmt::format("not a location: {}", k_forms));
  std::string_view head = text.substr(0, colon);
  out.path = std::string(text.substr(colon + 1));
  std::size_t at = head.find('@');
  std::string_view dataset = head.substr(0, at);
  if (at != std::string_view::npos) {
    std::string_view snap = head.substr(at + 1);
    ANYFS_CHECK(check_snapshot_name(snap));
    out.snapshot = std::string(snap);
  }
  if (!dataset.empty()) ANYFS_CHECK(check_dataset_name(dataset));
  else if (!out.snapshot)
    return fail(Errc::InvalidArgument, std::string(text), fmt::format("empty dataset name: {}", k_forms));
  out.dataset = std::string(dataset);
  return out;
}


Result<AsOf> parse_as_of(std::string_view text) {
  AsOf out;
  std::string_view body = text;
  if (body.starts_with("tid:")) body.remove_prefix(4);
  if (auto tid = parse_u64(body)) {
    out.tid = *tid;
    return out;
  }
  auto t = parse_time_ns(text, wall_clock_ns());
  if (!t) return fail(Errc::InvalidArgument, std::string(text), fmt::format("expected a TID (1234) or {}", k_time_forms));
  out.time_ns = *t;
  return out;
}

}  // namespace anyfs
