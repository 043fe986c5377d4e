// Dataset properties (DESIGN.md §7): the names this build knows, their defaults,
// how each value is checked, and the settings a dataset derives from them.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "anyfs/error.h"
#include "chunk/chunker.h"
#include "chunk/codec.h"
#include "chunk/placement.h"

namespace anyfs {

enum class SyncMode { Standard, Always, Disabled };

struct PropertyInfo {
  std::string_view name;
  std::string_view default_value;
  std::string_view help;  // the accepted values, for errors and --help
};

// Every known property, in display order.
const std::vector<PropertyInfo>& known_properties();

// Checks `value` for property `name` and returns it in canonical form.
// Errors: InvalidArgument naming the property and what it accepts.
Result<std::string> check_property(std::string_view name, std::string_view value);

// What a dataset's properties mean for its writes.
struct DatasetSettings {
  CompressionSpec compression;
  ChunkerOptions chunking;
  Placement placement;  // where new chunks go in a pool of volumes
  bool verify_reads = false;  // checksum=verify: also check SHA-256 on every read
  SyncMode sync = SyncMode::Standard;
  std::chrono::milliseconds txg_timeout{1000};
  // history: off (only what snapshots hold), a window, or everything.
  enum class History { Off, Window, All } history = History::Off;
  std::chrono::seconds history_window{0};  // History::Window
  // atime: when reading moves a file's access time.
  enum class Atime { Off, On, Relatime } atime = Atime::Relatime;
  // readonly=on: the dataset's files refuse every change (snapshots and
  // receive still apply; access times stay).
  bool read_only = false;
};

// "90s", "30m", "24h", "7d", "2w" → seconds (1s .. 100 years).
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

// Builds the settings from (name, value) pairs already checked; missing names
// take their defaults.
DatasetSettings settings_from(const std::vector<std::pair<std::string, std::string>>& values);

}  // namespace anyfs
