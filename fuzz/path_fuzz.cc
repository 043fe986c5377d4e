// Path rules (fs/path.h) on arbitrary bytes: nothing crashes, and the rules
// agree with each other — split only accepts what validate accepts, its parts
// are names, normalize is idempotent and stays under "/", a compiled Glob
// matches exactly what glob_match does.
#include <fuzzer/FuzzedDataProvider.h>

#include "fs/path.h"
#include "fuzz/fuzz_check.h"

using namespace anyfs;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const std::string p = in.ConsumeRandomLengthString(5000);
  const std::string pattern = in.ConsumeRandomLengthString(300);

  auto valid = path::validate(p);
  auto parts = path::split(p);
  FUZZ_CHECK(bool(valid) == bool(parts)) << "validate and split disagree on " << p.size() << " bytes";
  if (parts) {
    for (const auto& part : *parts) {
      FUZZ_CHECK(part == ".." || path::validate_name(part)) << "split gave a bad name '" << part << "'";
    }
    auto joined = path::join(*parts);
    FUZZ_CHECK(path::split(joined).value_or(std::vector<std::string>{"?"}) == *parts || joined.size() >= 4095)
        << "join then split changed the parts of '" << p << "'";
    auto entry = path::check_names_entry(p);
    if (entry && !parts->empty()) FUZZ_CHECK(parts->back() != "..") << "entry check passed a '..' leaf: " << p;
  }

  const std::string norm = path::normalize(p);
  FUZZ_CHECK(!norm.empty() && norm.front() == '/') << "normalize('" << p << "') = '" << norm << "'";
  FUZZ_CHECK(path::normalize(norm) == norm) << "normalize is not idempotent on '" << p << "'";
  FUZZ_CHECK(path::is_within(norm, "/")) << "'" << norm << "' is not under /";
  for (auto c : path::components(norm)) FUZZ_CHECK(c != "." && c != "..") << "normalized path keeps '" << c << "'";
  if (norm != "/") {
    FUZZ_CHECK(path::is_within(norm, path::parent(norm))) << "'" << norm << "' is not within its parent";
    FUZZ_CHECK(path::child(path::parent(norm), path::base_name(norm)) == norm) << "parent/base of '" << norm << "'";
  }

  auto name_ok = path::validate_name(pattern);
  if (name_ok) FUZZ_CHECK(path::split(path::child("/", pattern)).value() == std::vector<std::string>{pattern});
  (void)path::validate_symlink_target(pattern);

  // The compiled glob and the one-shot matcher are the same function.
  const path::Glob glob(pattern);
  const auto comps = path::components(norm);
  FUZZ_CHECK(glob.matches(comps, comps.size()) == path::glob_match(pattern, norm))
      << "Glob and glob_match disagree: pattern '" << pattern << "' path '" << norm << "'";
  return 0;
}
