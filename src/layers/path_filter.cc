#include "anyfs/layers/path_filter.h"

#include "fs/path.h"
#include "layers/mapping_fs.h"

namespace anyfs {
namespace {

class PathFilterFs final : public MappingFs {
 public:
  PathFilterFs(std::shared_ptr<Fs> inner, PathFilterOptions options)
      : MappingFs(std::move(inner), "/"), options_(std::move(options)) {}

 protected:
  Result<void> check(std::string_view canonical) override {
    if (visible(canonical)) return {};
    return fail(options_.denied_error, std::string(canonical),
                options_.denied_error == Errc::NotFound ? "no such file or directory" : "denied by a path rule");
  }

  bool visible(std::string_view canonical) override {
    if (canonical == "/") return true;
    for (const auto& rule : options_.rules)
      if (matches(rule.glob, canonical)) return rule.action == FilterAction::Allow;
    return options_.default_action == FilterAction::Allow;
  }

 private:
  // A rule matches a path or any of its ancestors (below the root).
  static bool matches(std::string_view glob, std::string_view canonical) {
    std::string p(canonical);
    while (p != "/") {
      if (path::glob_match(glob, p)) return true;
      p = path::parent(p);
    }
    return false;
  }

  const PathFilterOptions options_;
};

}  // namespace

Result<std::shared_ptr<Fs>> make_path_filter(std::shared_ptr<Fs> inner, PathFilterOptions options) {
  for (const auto& rule : options.rules)
    if (rule.glob.empty()) return fail(Errc::InvalidArgument, "", "a path rule has an empty glob");
  if (options.denied_error != Errc::NotFound && options.denied_error != Errc::Permission)
    return fail(Errc::InvalidArgument, "", "denied_error must be NotFound or Permission");
  return std::shared_ptr<Fs>(std::make_shared<PathFilterFs>(std::move(inner), std::move(options)));
}

}  // namespace anyfs
