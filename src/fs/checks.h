// Argument checks every Fs applies the same way, so that all implementations
// fail alike: open flags, xattr names and values.
#pragma once

#include <string_view>

#include "anyfs/error.h"
#include "anyfs/types.h"

namespace anyfs {

// Truncate needs Write; Create cannot be combined with Directory.
// Errors: InvalidArgument.
Result<void> check_open_flags(std::string_view path, OpenFlags flags);

// True if the flags ask for writing.
inline bool wants_write(OpenFlags flags) { return has(flags, OpenFlags::Write); }
// True if the flags allow reading (neither Read nor Write means Read).
inline bool wants_read(OpenFlags flags) { return has(flags, OpenFlags::Read) || !wants_write(flags); }

// A name must be "user.", "trusted." or "security." followed by at least one
// byte, 255 bytes at most. Errors: Range (empty or too long), Unsupported
// (unknown namespace), InvalidArgument (nothing after the namespace).
Result<void> check_xattr_name(std::string_view path, std::string_view name);

// Errors: ArgTooBig (over 64 KiB).
Result<void> check_xattr_value(std::string_view path, std::string_view value);

}  // namespace anyfs
