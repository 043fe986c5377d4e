// What every fuzz target uses to state a property: FUZZ_CHECK(cond) << "why"
// prints the message and aborts, so libFuzzer saves the input that broke it.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

namespace anyfs::fuzz {

class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* cond) { out_ << file << ":" << line << ": " << cond << ": "; }
  [[noreturn]] ~CheckFailure() {
    std::fprintf(stderr, "property broken: %s\n", out_.str().c_str());
    std::abort();
  }
  template <class T>
  CheckFailure& operator<<(const T& v) {
    out_ << v;
    return *this;
  }

 private:
  std::ostringstream out_;
};

}  // namespace anyfs::fuzz

// (A loop, not if/else, so that it nests under an if without a dangling else;
// the body aborts, so it never runs twice.)
#define FUZZ_CHECK(cond) \
  for (bool anyfs_fuzz_ok_ = bool(cond); !anyfs_fuzz_ok_; anyfs_fuzz_ok_ = true) \
  ::anyfs::fuzz::CheckFailure(__FILE__, __LINE__, #cond)
