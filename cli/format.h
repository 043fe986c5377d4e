// How commands show numbers and times to people (JSON output carries raw values).
#pragma once

#include <cstdint>
#include <string>

namespace anyfs::cli {

// 1536 → "1.5 KiB".
std::string human_bytes(std::uint64_t n);

// Nanoseconds since the Unix epoch → "2026-11-22 03:04:05Z" (UTC); "-" for 0.
std::string human_time(std::int64_t ns);

}  // namespace anyfs::cli
