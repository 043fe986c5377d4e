// Where a command points inside a pool (docs/CLI.md, "Locations"):
//   /path                 the root dataset, live
//   DATASET:/path         a named dataset, live
//   DATASET@SNAP:/path    a dataset as of one of its snapshots
//   @SNAP:/path           the root dataset as of a snapshot
// A path always starts with "/"; anything before the first ":/" names the
// dataset (and snapshot). `--at TID|TIME` is parsed by parse_as_of.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "anyfs/error.h"
#include "anyfs/history.h"

namespace anyfs {

struct Location {
  std::string dataset;                  // "" for the root dataset
  std::optional<std::string> snapshot;  // set for DATASET@SNAP: and @SNAP:
  std::string path = "/";
};

// Errors: InvalidArgument naming the accepted forms.
Result<Location> parse_location(std::string_view text);

// A dataset name: components of [A-Za-z0-9_.-] joined by "/", 1..200 bytes.
Result<void> check_dataset_name(std::string_view name);

// A dataset's name as messages show it: "(root)" for the root dataset.
std::string show_dataset(std::string_view name);

// "a/b/c" → "a/b"; "a" → "" (the root dataset).
std::string parent_dataset(std::string_view name);

// Whether dataset `name` is `top` or one of its descendants.
bool within_dataset(std::string_view name, std::string_view top);

// --at: a TID ("1234" or "tid:1234") or a time ("2026-11-21T10:00:00Z",
// "2026-11-21 10:00:00", a Unix time "@1763720000"). Sets tid or time_ns.
Result<AsOf> parse_as_of(std::string_view text);

// A snapshot or bookmark name: [A-Za-z0-9_.-], 1..200 bytes.
Result<void> check_snapshot_name(std::string_view name);

// "DATASET@SNAP" or "@SNAP" (the root dataset). Errors: InvalidArgument.
struct SnapshotSpec {
  std::string dataset;
  std::string name;
};
Result<SnapshotSpec> parse_snapshot_spec(std::string_view text);

}  // namespace anyfs
