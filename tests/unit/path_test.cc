#include "fs/path.h"

#include <gtest/gtest.h>

#include "support/result_matchers.h"

namespace anyfs {
namespace {

TEST(Path, SplitDropsEmptyAndDotButKeepsDotDot) {
  auto parts = path::split("//a/./b/../c/");
  ASSERT_OK(parts);
  EXPECT_EQ(*parts, (std::vector<std::string>{"a", "b", "..", "c"}));
  EXPECT_TRUE(path::split("/")->empty());
}

TEST(Path, ValidateRejectsBadPaths) {
  EXPECT_ERR(path::validate(""), InvalidPath);
  EXPECT_ERR(path::validate(std::string("/a\0", 3)), InvalidPath);
  EXPECT_ERR(path::validate("/" + std::string(256, 'x')), NameTooLong);
  EXPECT_OK(path::validate("/" + std::string(255, 'x')));
  EXPECT_ERR(path::validate(std::string(4096, 'a')), NameTooLong);
}

TEST(Path, NormalizeIsLexicalAndStopsAtRoot) {
  EXPECT_EQ(path::normalize("/a/b/../c"), "/a/c");
  EXPECT_EQ(path::normalize("/../../x"), "/x");
  EXPECT_EQ(path::normalize("a//b/."), "/a/b");
  EXPECT_EQ(path::normalize(""), "/");
}

TEST(Path, ParentBaseChildWithin) {
  EXPECT_EQ(path::parent("/a/b"), "/a");
  EXPECT_EQ(path::parent("/a"), "/");
  EXPECT_EQ(path::base_name("/a/b"), "b");
  EXPECT_EQ(path::child("/", "x"), "/x");
  EXPECT_EQ(path::child("/a", "x"), "/a/x");
  EXPECT_TRUE(path::is_within("/a/b", "/a"));
  EXPECT_TRUE(path::is_within("/a", "/a"));
  EXPECT_FALSE(path::is_within("/ab", "/a"));
  EXPECT_TRUE(path::is_within("/x", "/"));
}

TEST(Path, CheckNamesEntryRefusesDotDotLast) {
  EXPECT_ERR(path::check_names_entry("/a/.."), InvalidArgument);
  EXPECT_ERR(path::check_names_entry("/a/."), InvalidArgument);
  EXPECT_OK(path::check_names_entry("/a/..b"));
  EXPECT_OK(path::check_names_entry("/"));
}

TEST(Glob, StarStaysWithinAComponent) {
  EXPECT_TRUE(path::glob_match("/a/*.txt", "/a/x.txt"));
  EXPECT_FALSE(path::glob_match("/a/*.txt", "/a/b/x.txt"));
  EXPECT_TRUE(path::glob_match("/a/?", "/a/z"));
  EXPECT_FALSE(path::glob_match("/a/?", "/a/zz"));
}

TEST(Glob, DoubleStarSpansComponentsIncludingNone) {
  EXPECT_TRUE(path::glob_match("/a/**", "/a"));
  EXPECT_TRUE(path::glob_match("/a/**", "/a/b/c"));
  EXPECT_TRUE(path::glob_match("/a/**/z", "/a/z"));
  EXPECT_TRUE(path::glob_match("/a/**/z", "/a/b/c/z"));
  EXPECT_FALSE(path::glob_match("/a/**/z", "/b/z"));
}

TEST(Glob, UnanchoredPatternsMatchAtAnyDepth) {
  EXPECT_TRUE(path::glob_match("*.key", "/x/y/secret.key"));
  EXPECT_TRUE(path::glob_match("*.key", "/k.key"));
  EXPECT_FALSE(path::glob_match("*.key", "/k.keys"));
}

TEST(Glob, ClassesAndNegation) {
  EXPECT_TRUE(path::glob_match("/f[0-9]", "/f7"));
  EXPECT_FALSE(path::glob_match("/f[0-9]", "/fa"));
  EXPECT_TRUE(path::glob_match("/f[!0-9]", "/fa"));
  EXPECT_TRUE(path::glob_match("/[ab]c", "/bc"));
}

}  // namespace
}  // namespace anyfs

namespace anyfs {
namespace {

// Regression: Glob once kept string_views into its own string, which dangled
// after the Glob was moved (a vector of rules reallocating).
TEST(Glob, CompiledGlobsSurviveCopiesAndMoves) {
  std::vector<path::Glob> globs;
  for (int i = 0; i < 50; ++i) globs.emplace_back("/secret" + std::to_string(i));
  auto parts = path::components("/secret7/plans");
  EXPECT_TRUE(globs[7].matches(parts, 1));
  EXPECT_FALSE(globs[7].matches(parts, 2));
  EXPECT_FALSE(globs[8].matches(parts, 1));
}

}  // namespace
}  // namespace anyfs
