#include "pool/properties.h"

#include <fmt/format.h>

#include <charconv>
#include <optional>

namespace anyfs {
namespace {

// "64K", "1M", "65536" → bytes.
std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  std::string_view unit(end, text.data() + text.size() - end);
  if (unit.empty()) return value;
  if (unit == "K" || unit == "k") return value << 10;
  if (unit == "M" || unit == "m") return value << 20;
  return std::nullopt;
}

std::string format_size(std::uint64_t bytes) {
  if (bytes % (1 << 20) == 0) return fmt::format("{}M", bytes >> 20);
  if (bytes % (1 << 10) == 0) return fmt::format("{}K", bytes >> 10);
  return fmt::format("{}", bytes);
}

std::string format_duration(std::chrono::seconds d) {
  auto n = d.count();
  if (n % (7 * 86400) == 0) return fmt::format("{}w", n / (7 * 86400));
  if (n % 86400 == 0) return fmt::format("{}d", n / 86400);
  if (n % 3600 == 0) return fmt::format("{}h", n / 3600);
  if (n % 60 == 0) return fmt::format("{}m", n / 60);
  return fmt::format("{}s", n);
}

}  // namespace

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data() || end + 1 != text.data() + text.size() || value < 1) return std::nullopt;
  std::int64_t unit = 0;
  switch (*end) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: return std::nullopt;
  }
  if (value > 100ll * 366 * 86400 / unit) return std::nullopt;
  return std::chrono::seconds(value * unit);
}

const std::vector<PropertyInfo>& known_properties() {
  static const std::vector<PropertyInfo> k_all = {
      {"compression", "zstd-3", "off, lz4, zstd or zstd-N (N 1..19)"},
      {"checksum", "on", "on (XXH3 of stored bytes on every read) or verify (also SHA-256 of the content)"},
      {"chunking", "cdc", "cdc (content-defined) or fixed"},
      {"placement", "linear",
       "where new chunks go in a pool of volumes: linear (fill in order), stripe (spread by chunk id) or mirror=N "
       "(N copies on different volumes, 2..8)"},
      {"recordsize", "64K", "the average chunk size, a power of two from 4K to 1M"},
      {"sync", "standard", "standard, always or disabled"},
      {"txg_timeout", "1", "seconds between automatic commits, 1..600"},
      {"atime", "relatime",
       "relatime (reading moves the access time when it is older than the last change or a day old), on (every "
       "open or read moves it) or off"},
      {"readonly", "off",
       "on refuses every change to the dataset's files (a mirror target is read-only until promoted), or off"},
      {"history", "off",
       "off (only what snapshots hold), all, or a window such as 90s, 30m, 24h, 7d, 2w (every state inside it)"},
  };
  return k_all;
}

Result<std::string> check_property(std::string_view name, std::string_view value) {
  const PropertyInfo* info = nullptr;
  for (const auto& p : known_properties())
    if (p.name == name) info = &p;
  if (info == nullptr) {
    std::string names;
    for (const auto& p : known_properties()) names += (names.empty() ? "" : ", ") + std::string(p.name);
    return fail(Errc::InvalidArgument, "", fmt::format("unknown property '{}' (known: {})", name, names));
  }
  auto bad = [&] {
    return fail(Errc::InvalidArgument, "", fmt::format("bad value '{}' for {}: expected {}", value, name, info->help));
  };
  if (name == "compression") {
    auto spec = CompressionSpec::parse(value);
    if (!spec) return bad();
    return spec->to_string();
  }
  if (name == "checksum") {
    if (value != "on" && value != "verify") return bad();
    return std::string(value);
  }
  if (name == "chunking") {
    if (value != "cdc" && value != "fixed") return bad();
    return std::string(value);
  }
  if (name == "recordsize") {
    auto size = parse_size(value);
    if (!size || *size < 4096 || *size > (1u << 20) || (*size & (*size - 1)) != 0) return bad();
    return format_size(*size);
  }
  if (name == "placement") {
    auto placement = Placement::parse(value);
    if (!placement) return bad();
    return placement->to_string();
  }
  if (name == "sync") {
    if (value != "standard" && value != "always" && value != "disabled") return bad();
    return std::string(value);
  }
  if (name == "atime") {
    if (value != "on" && value != "off" && value != "relatime") return bad();
    return std::string(value);
  }
  if (name == "readonly") {
    if (value != "on" && value != "off") return bad();
    return std::string(value);
  }
  if (name == "history") {
    if (value == "off" || value == "all") return std::string(value);
    auto window = parse_duration(value);
    if (!window) return bad();
    return format_duration(*window);
  }
  // txg_timeout
  int seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || end != value.data() + value.size() || seconds < 1 || seconds > 600) return bad();
  return std::to_string(seconds);
}

DatasetSettings settings_from(const std::vector<std::pair<std::string, std::string>>& values) {
  auto get = [&](std::string_view name) -> std::string {
    for (const auto& [n, v] : values)
      if (n == name) return v;
    for (const auto& p : known_properties())
      if (p.name == name) return std::string(p.default_value);
    return {};
  };
  DatasetSettings s;
  s.compression = CompressionSpec::parse(get("compression")).value_or(CompressionSpec{});
  s.verify_reads = get("checksum") == "verify";
  s.placement = Placement::parse(get("placement")).value_or(Placement{});
  std::uint64_t avg = parse_size(get("recordsize")).value_or(64 * 1024);
  s.chunking.avg_size = avg;
  s.chunking.min_size = avg / 4;
  s.chunking.max_size = avg * 4;
  s.chunking.fixed = get("chunking") == "fixed";
  std::string sync = get("sync");
  s.sync = sync == "always" ? SyncMode::Always : sync == "disabled" ? SyncMode::Disabled : SyncMode::Standard;
  s.txg_timeout = std::chrono::seconds(std::stoi(get("txg_timeout")));
  s.read_only = get("readonly") == "on";
  std::string atime = get("atime");
  s.atime = atime == "on" ? DatasetSettings::Atime::On
            : atime == "off" ? DatasetSettings::Atime::Off
                             : DatasetSettings::Atime::Relatime;
  if (s.read_only) s.atime = DatasetSettings::Atime::Off;  // reading changes nothing either
  std::string history = get("history");
  if (history == "all") {
    s.history = DatasetSettings::History::All;
  } else if (auto window = parse_duration(history)) {
    s.history = DatasetSettings::History::Window;
    s.history_window = *window;
  }
  return s;
}

}  // namespace anyfs
