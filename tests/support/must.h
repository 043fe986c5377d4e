// must(result): the value, or a thrown exception naming the error — for test set-up
// where a failure is not what the test is about (gtest reports the exception).
#pragma once

#include <stdexcept>
#include <utility>

#include "anyfs/error.h"

namespace anyfs::testing {

template <class T>
T must(Result<T> r) {
  if (!r) throw std::runtime_error(r.error().to_string());
  return std::move(*r);
}

inline void must(Result<void> r) {
  if (!r) throw std::runtime_error(r.error().to_string());
}

}  // namespace anyfs::testing
