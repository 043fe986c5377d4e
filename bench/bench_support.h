// What the workload benchmarks (pool_bench, history_bench) share: timing, fatal
// errors, medians, text-like content and the one-line report of a ratio.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "anyfs/error.h"

namespace anyfs::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

template <class T>
T must(Result<T> r, const char* what) {
  if (!r) {
    std::fprintf(stderr, "%s: %s\n", what, r.error().to_string().c_str());
    std::exit(1);
  }
  return std::move(*r);
}
inline void must(Result<void> r, const char* what) {
  if (!r) {
    std::fprintf(stderr, "%s: %s\n", what, r.error().to_string().c_str());
    std::exit(1);
  }
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// The value below which `p` (0..1) of the samples fall.
inline double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

// Text-like content (compressible about 2-3x, like source files).
inline std::string file_content(std::mt19937_64& rng, std::size_t n) {
  static const char* words[] = {"int ", "return ", "struct ", "const ", "void ", "(x) ", "{\n", "}\n", "if ", "0x1f ",
                                "data", "size_t ", "; ", "/* note */ ", "value_", "char* "};
  std::string out;
  while (out.size() < n) out += words[rng() % 16];
  out.resize(n);
  return out;
}

inline void report(const char* what, const std::vector<double>& ratios, const char* meaning) {
  std::printf("%-34s median ratio %.3f  (rounds:", what, median(ratios));
  for (double r : ratios) std::printf(" %.3f", r);
  std::printf(")  %s\n", meaning);
}

}  // namespace anyfs::bench
