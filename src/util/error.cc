#include "anyfs/error.h"

#include <array>
#include <cstring>
#include <utility>

namespace anyfs {
namespace {

struct ErrcName {
  Errc code;
  std::string_view name;
};

constexpr std::array k_errc_names = {
    ErrcName{Errc::NotPermitted, "NotPermitted"},
    ErrcName{Errc::NotFound, "NotFound"},
    ErrcName{Errc::Io, "Io"},
    ErrcName{Errc::BadHandle, "BadHandle"},
    ErrcName{Errc::Again, "Again"},
    ErrcName{Errc::Permission, "Permission"},
    ErrcName{Errc::Busy, "Busy"},
    ErrcName{Errc::Exists, "Exists"},
    ErrcName{Errc::CrossDevice, "CrossDevice"},
    ErrcName{Errc::NotDir, "NotDir"},
    ErrcName{Errc::IsDir, "IsDir"},
    ErrcName{Errc::InvalidArgument, "InvalidArgument"},
    ErrcName{Errc::FileTooBig, "FileTooBig"},
    ErrcName{Errc::NoSpace, "NoSpace"},
    ErrcName{Errc::ReadOnly, "ReadOnly"},
    ErrcName{Errc::TooManyLinks, "TooManyLinks"},
    ErrcName{Errc::Range, "Range"},
    ErrcName{Errc::ArgTooBig, "ArgTooBig"},
    ErrcName{Errc::NameTooLong, "NameTooLong"},
    ErrcName{Errc::NotEmpty, "NotEmpty"},
    ErrcName{Errc::Loop, "Loop"},
    ErrcName{Errc::NoData, "NoData"},
    ErrcName{Errc::Overflow, "Overflow"},
    ErrcName{Errc::InvalidPath, "InvalidPath"},
    ErrcName{Errc::Unsupported, "Unsupported"},
    ErrcName{Errc::TimedOut, "TimedOut"},
    ErrcName{Errc::QuotaExceeded, "QuotaExceeded"},
    ErrcName{Errc::Corrupt, "Corrupt"},
};

}  // namespace

std::string_view errc_name(Errc code) {
  for (const auto& entry : k_errc_names)
    if (entry.code == code) return entry.name;
  return "Unknown";
}

Errc errc_from_name(std::string_view name) {
  for (const auto& entry : k_errc_names)
    if (entry.name == name) return entry.code;
  return Errc::Io;
}

Errc errc_from_errno(int err) {
  if (err == ENOTSUP) return Errc::Unsupported;  // same value as EOPNOTSUPP on Linux
  for (const auto& entry : k_errc_names)
    if (static_cast<int>(entry.code) == err) return entry.code;
  return Errc::Io;
}

std::string Error::to_string() const {
  std::string out;
  if (!path.empty()) out += path + ": ";
  if (message.empty()) return out + std::strerror(to_errno(code));
  return out + message + " (" + std::strerror(to_errno(code)) + ")";
}

std::unexpected<Error> fail_errno(int err, std::string path, std::string message) {
  Errc code = errc_from_errno(err);
  if (code == Errc::Io && err != EIO) {
    if (!message.empty()) message += ": ";
    message += std::strerror(err);
  }
  return std::unexpected<Error>(Error(code, std::move(path), std::move(message)));
}

}  // namespace anyfs
