// PathFilter: ordered allow/deny glob rules decide which paths exist.
//
// Every path is first resolved (symlinks and "..", on the Fs below) to its
// canonical form; the rules are then tried in order and the first that matches
// the path or one of its ancestors decides. So a rule for a directory covers
// everything under it, and a symlink cannot lead around a rule. No rule
// matching means `default_action`. The root is always visible.
//
// Denied paths are invisible: left out of listings, and any call naming one
// fails with Errc::NotFound (or Errc::Permission, if you choose) — including
// creating a denied name. Globs: '*' and '?' within a component, '**' across
// components, '[a-z]' classes; a pattern without a leading '/' matches at any
// depth ("*.key" denies every .key file).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "anyfs/fs.h"

namespace anyfs {

enum class FilterAction { Allow, Deny };

struct PathRule {
  FilterAction action;
  std::string glob;
};

struct PathFilterOptions {
  std::vector<PathRule> rules;
  FilterAction default_action = FilterAction::Allow;
  Errc denied_error = Errc::NotFound;  // NotFound (hidden) or Permission
};

// Errors: InvalidArgument (an empty glob, or denied_error other than NotFound /
// Permission).
Result<std::shared_ptr<Fs>> make_path_filter(std::shared_ptr<Fs> inner, PathFilterOptions options);

}  // namespace anyfs
