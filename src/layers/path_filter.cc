#include "anyfs/layers/path_filter.h"

#include "fs/path.h"
#include "layers/mapping_fs.h"

namespace anyfs {
namespace {

class PathFilterFs final : public MappingFs {
 public:
  PathFilterFs(std::shared_ptr<Fs> inner, const PathFilterOptions& options)
      : MappingFs(std::move(inner), "/"), default_(options.default_action), denied_error_(options.denied_error) {
    for (const auto& rule : options.rules) rules_.push_back({rule.action, path::Glob(rule.glob)});
  }

 protected:
  Result<void> check(std::string_view canonical) override {
    if (visible(canonical)) return {};
    return fail(denied_error_, std::string(canonical),
                denied_error_ == Errc::NotFound ? "no such file or directory" : "denied by a path rule");
  }

  // The first rule matching the path or one of its ancestors decides.
  bool visible(std::string_view canonical) override {
    auto parts = path::components(canonical);
    if (parts.empty()) return true;  // the root is always visible
    for (const auto& rule : rules_)
      for (std::size_t n = parts.size(); n > 0; --n)
        if (rule.glob.matches(parts, n)) return rule.action == FilterAction::Allow;
    return default_ == FilterAction::Allow;
  }

 private:
  struct Rule {
    FilterAction action;
    path::Glob glob;
  };
  std::vector<Rule> rules_;
  const FilterAction default_;
  const Errc denied_error_;
};

}  // namespace

Result<std::shared_ptr<Fs>> make_path_filter(std::shared_ptr<Fs> inner, PathFilterOptions options) {
  for (const auto& rule : options.rules)
    if (rule.glob.empty()) return fail(Errc::InvalidArgument, "", "a path rule has an empty glob");
  if (options.denied_error != Errc::NotFound && options.denied_error != Errc::Permission)
    return fail(Errc::InvalidArgument, "", "denied_error must be NotFound or Permission");
  return std::shared_ptr<Fs>(std::make_shared<PathFilterFs>(std::move(inner), options));
}

}  // namespace anyfs
