#include "conformance/fs_conformance.h"

#include <filesystem>
#include <fstream>

namespace anyfs::testing {

void FsConformance::SetUp() {
  if (GetParam().unavailable)
    if (std::string why = GetParam().unavailable(); !why.empty()) GTEST_SKIP() << why;
  outside_ = tmp_.str();
  // Markers outside the subject's root: an escape would read "OUTSIDE".
  std::ofstream(outside_ + "/f") << "OUTSIDE";
  std::ofstream(outside_ + "/secret") << "OUTSIDE";
  std::filesystem::create_directory(outside_ + "/root");
  subject_ = GetParam().make(outside_ + "/root");
  if (!subject_.seed) subject_.seed = subject_.fs;
}

void FsConformance::put(const std::string& p, const std::string& data) { ASSERT_OK(seed().write_file(p, data)); }

std::string FsConformance::get(const std::string& p) {
  auto r = fs().read_file(p);
  if (!r) return "<" + std::string(errc_name(r.error().code)) + ">";
  return *r;
}

std::string factory_name(const ::testing::TestParamInfo<FsFactory>& info) { return info.param.name; }

}  // namespace anyfs::testing
