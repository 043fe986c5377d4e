// Virtual paths: validation, splitting into components, joining, lexical
// normalisation and glob matching. The one place that knows the path rules of
// fs.h; symlink resolution (which needs a tree) is in fs/resolve.h.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "anyfs/error.h"

namespace anyfs::path {

// Checks a path string: non-empty, no NUL byte, at most 4095 bytes, no component
// over 255 bytes. Errors: InvalidPath, NameTooLong.
Result<void> validate(std::string_view path);

// Validates and splits `path` into its components, dropping empty ones and "."
// but keeping ".." (it is resolved against the tree, after symlinks).
Result<std::vector<std::string>> split(std::string_view path);

// Checks a symlink target: 1..4095 bytes, no NUL (components may be of any
// length: only following the link checks them).
Result<void> validate_symlink_target(std::string_view target);

// Checks a single name (a directory entry): not empty, ".", ".." or containing
// '/' or NUL; at most 255 bytes.
Result<void> validate_name(std::string_view name);

// For calls that name an entry (mkdir, remove, rename, link, symlink): the last
// component may not be ".." or "." since it names no entry. Errors: InvalidArgument.
Result<void> check_names_entry(std::string_view path);

// "/" + components joined by "/".
std::string join(const std::vector<std::string>& components);

// `dir` + "/" + `name`, without doubling the slash at the root.
std::string child(std::string_view dir, std::string_view name);

// The parent of a canonical path ("/a/b" -> "/a", "/a" -> "/", "/" -> "/").
std::string parent(std::string_view canonical);

// The last component of a canonical path ("" for "/").
std::string_view base_name(std::string_view canonical);

// Lexical normalisation for display and matching: "." and empty components
// dropped, ".." removes the previous component (never above "/"). Does not look
// at symlinks; callers that need the physical meaning resolve first.
std::string normalize(std::string_view path);

// True if canonical path `p` is `ancestor` or lies beneath it.
bool is_within(std::string_view p, std::string_view ancestor);

// Glob match of a canonical path: '*' matches within one component, '**' as a
// whole component matches any number of components (also none), '?' one byte,
// '[abc]' / '[a-z]' / '[!a]' a class. A pattern without a leading '/' matches at
// any depth (as if prefixed with "/**/").
bool glob_match(std::string_view pattern, std::string_view canonical);

// The non-empty components of a path, as views into it (no validation).
std::vector<std::string_view> components(std::string_view canonical);

// A glob compiled once, for matching many paths (same syntax as glob_match).
class Glob {
 public:
  explicit Glob(std::string_view pattern);
  // True if the pattern matches the path made of the first `count` of `parts`.
  bool matches(const std::vector<std::string_view>& parts, std::size_t count) const;

 private:
  std::vector<std::string> parts_;  // components of the anchored pattern ("/**/" added if needed)
};

}  // namespace anyfs::path
