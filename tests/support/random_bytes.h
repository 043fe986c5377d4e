// Reproducible incompressible bytes for tests: the same seed, the same bytes.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace anyfs::testing {

inline std::string random_bytes(std::size_t n, std::uint64_t seed = 7) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

}  // namespace anyfs::testing
