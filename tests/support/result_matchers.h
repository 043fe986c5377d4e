// Assertion helpers for Result<T>: say what failed, with the error text.
#pragma once

#include <gtest/gtest.h>

#include "anyfs/error.h"

namespace anyfs::testing {

template <class T>
::testing::AssertionResult is_ok(const Result<T>& r) {
  if (r) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << errc_name(r.error().code) << ": " << r.error().to_string();
}

template <class T>
::testing::AssertionResult fails_with(const Result<T>& r, Errc code) {
  if (!r) {
    if (r.error().code == code) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "expected " << errc_name(code) << ", got " << errc_name(r.error().code)
                                         << ": " << r.error().to_string();
  }
  return ::testing::AssertionFailure() << "expected " << errc_name(code) << ", but the call succeeded";
}

}  // namespace anyfs::testing

#define EXPECT_OK(expr) EXPECT_TRUE(::anyfs::testing::is_ok(expr))
#define ASSERT_OK(expr) ASSERT_TRUE(::anyfs::testing::is_ok(expr))
#define EXPECT_ERR(expr, code) EXPECT_TRUE(::anyfs::testing::fails_with((expr), ::anyfs::Errc::code))
#define ASSERT_ERR(expr, code) ASSERT_TRUE(::anyfs::testing::fails_with((expr), ::anyfs::Errc::code))
