// The conformance suite: one parametrised GoogleTest suite that every Fs runs.
//
// To add an Fs, add one line to instances.cc:
//   ANYFS_CONFORMANCE(MyFs, "MyFs", [](const std::string& dir) { return Subject{...}; });
//
// Tests create their starting state through seed() (for most Fs the same object as
// fs(); for an overlay the lower layer, so that reads and copy-up are exercised)
// and then act through fs().
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "anyfs/fs.h"
#include "support/result_matchers.h"
#include "support/temp_dir.h"

namespace anyfs::testing {

struct Subject {
  std::shared_ptr<Fs> fs;    // the Fs under test
  std::shared_ptr<Fs> seed;  // where starting content is written (defaults to fs)
};

struct FsFactory {
  std::string name;
  // Makes a fresh subject; `dir` is an empty host directory it may use.
  std::function<Subject(const std::string& dir)> make;
  bool writable = true;  // false: mutating calls are expected to fail with ReadOnly
  // Why this machine cannot run the subject (the tests then skip, saying so);
  // empty when it can.
  std::function<std::string()> unavailable = {};
};

class FsConformance : public ::testing::TestWithParam<FsFactory> {
 protected:
  void SetUp() override;

  Fs& fs() { return *subject_.fs; }
  Fs& seed() { return *subject_.seed; }
  const std::string& outside_dir() const { return outside_; }
  bool writable() const { return GetParam().writable; }

  // seed().write_file with an assertion.
  void put(const std::string& p, const std::string& data);
  std::string get(const std::string& p);

  TempDir tmp_;
  std::string outside_;  // a host directory above the subject's root, with marker files
  Subject subject_;
};

// The differential suite (differential_test.cc) shares the fixture.
class FsDifferential : public FsConformance {};

std::string factory_name(const ::testing::TestParamInfo<FsFactory>& info);
inline void PrintTo(const FsFactory& f, std::ostream* os) { *os << f.name; }

}  // namespace anyfs::testing

// Skips the rest of the test for a read-only subject.
#define REQUIRE_WRITABLE() \
  if (!writable()) GTEST_SKIP() << "read-only subject"

#define ANYFS_CONFORMANCE(suffix, ...)                                                           \
  INSTANTIATE_TEST_SUITE_P(suffix, FsConformance, ::testing::Values(__VA_ARGS__), factory_name); \
  INSTANTIATE_TEST_SUITE_P(suffix, FsDifferential, ::testing::Values(__VA_ARGS__), factory_name)
