#include "fs/checks.h"

#include <array>

namespace anyfs {

Result<void> check_open_flags(std::string_view path, OpenFlags flags) {
  if (has(flags, OpenFlags::Truncate) && !wants_write(flags))
    return fail(Errc::InvalidArgument, std::string(path), "Truncate needs Write");
  if (has(flags, OpenFlags::Create) && has(flags, OpenFlags::Directory))
    return fail(Errc::InvalidArgument, std::string(path), "Create cannot be combined with Directory");
  if (has(flags, OpenFlags::Directory) && wants_write(flags))
    return fail(Errc::IsDir, std::string(path), "a directory cannot be opened for writing");
  return {};
}

Result<void> check_xattr_name(std::string_view path, std::string_view name) {
  if (name.empty() || name.size() > k_max_xattr_name_length)
    return fail(Errc::Range, std::string(path), "xattr name must be 1..255 bytes");
  constexpr std::array<std::string_view, 3> k_namespaces = {"user.", "trusted.", "security."};
  for (auto ns : k_namespaces) {
    if (name.starts_with(ns)) {
      if (name.size() == ns.size())
        return fail(Errc::InvalidArgument, std::string(path), "xattr name is empty after its namespace");
      return {};
    }
  }
  return fail(Errc::Unsupported, std::string(path), "xattr name must start with user., trusted. or security.");
}

Result<void> check_xattr_value(std::string_view path, std::string_view value) {
  if (value.size() > k_max_xattr_value_size)
    return fail(Errc::ArgTooBig, std::string(path), "xattr value is larger than 64 KiB");
  return {};
}

}  // namespace anyfs
