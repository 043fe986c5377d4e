// Errors as values: every fallible AnyFS call returns Result<T>.
//
// Errc is an enum whose values *are* the Linux errno values, so the mapping to and
// from errno is one-to-one and free: to_errno(Errc::NotFound) == ENOENT. An errno
// that has no named Errc maps to Errc::Io and keeps its number in the message.
// No exception crosses the public API and no error is a bare string.
#pragma once

#include <cerrno>
#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace anyfs {

enum class Errc : int {
  NotPermitted = EPERM,        // the operation is not allowed on this object
  NotFound = ENOENT,           // no such file or directory
  Io = EIO,                    // the storage below failed
  BadHandle = EBADF,           // handle closed, or not open for this kind of access
  Again = EAGAIN,              // try again later (e.g. a rate limit in fail mode)
  Permission = EACCES,         // denied by a policy (path filter, mode bits)
  Busy = EBUSY,                // the object is in use
  Exists = EEXIST,             // the name already exists
  CrossDevice = EXDEV,         // the operation would cross filesystems
  NotDir = ENOTDIR,            // a path component is not a directory
  IsDir = EISDIR,              // a directory where a non-directory was needed
  InvalidArgument = EINVAL,    // a bad argument (flags, offsets, a dir into itself)
  FileTooBig = EFBIG,          // a size or offset past the largest file
  NoSpace = ENOSPC,            // no space left
  ReadOnly = EROFS,            // the filesystem is read-only
  TooManyLinks = EMLINK,       // link count limit
  Range = ERANGE,              // a value or name does not fit (xattr names)
  ArgTooBig = E2BIG,           // an argument is too large (xattr values)
  NameTooLong = ENAMETOOLONG,  // a component over 255 bytes or a path over 4096
  NotEmpty = ENOTEMPTY,        // the directory is not empty
  Loop = ELOOP,                // too many symlinks, or a symlink where none may be
  NoData = ENODATA,            // no such extended attribute
  Overflow = EOVERFLOW,        // a value too large for its type
  InvalidPath = EILSEQ,        // a malformed path: NUL byte, empty, not absolute
  Unsupported = EOPNOTSUPP,    // this Fs does not support the operation
  TimedOut = ETIMEDOUT,        // a wait ran out
  QuotaExceeded = EDQUOT,      // a quota would be exceeded
  Corrupt = EUCLEAN,           // stored data failed a check
};

// The short name of a code, e.g. "NotFound".
std::string_view errc_name(Errc code);
// The code errc_name names (Io for a name it does not know).
Errc errc_from_name(std::string_view name);

constexpr int to_errno(Errc code) { return static_cast<int>(code); }

// Maps an errno to its Errc; unknown values become Errc::Io.
Errc errc_from_errno(int err);

struct Error {
  Errc code = Errc::Io;
  std::string path;     // the path the error is about, if any
  std::string message;  // a short detail, never needed to branch on

  Error() = default;
  Error(Errc c, std::string p = {}, std::string m = {}) : code(c), path(std::move(p)), message(std::move(m)) {}

  // "path: message (No such file or directory)" — for people, not for parsing.
  std::string to_string() const;
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(Errc code, std::string path = {}, std::string message = {}) {
  return std::unexpected<Error>(Error(code, std::move(path), std::move(message)));
}

// An Error from the current errno (or a given one), for code that calls the OS.
std::unexpected<Error> fail_errno(int err, std::string path = {}, std::string message = {});

}  // namespace anyfs

// ANYFS_TRY(expr): evaluates a Result; on error returns it from the enclosing
// function, otherwise yields the value. ANYFS_CHECK(expr) does the same for
// Result<void>.
#define ANYFS_TRY(expr)                                              \
  ({                                                                 \
    auto&& anyfs_try_r_ = (expr);                                    \
    if (!anyfs_try_r_) return std::unexpected(anyfs_try_r_.error()); \
    std::move(*anyfs_try_r_);                                        \
  })

#define ANYFS_CHECK(expr)                                                \
  do {                                                                   \
    auto&& anyfs_check_r_ = (expr);                                      \
    if (!anyfs_check_r_) return std::unexpected(anyfs_check_r_.error()); \
  } while (0)
