#include "util/memory.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>

namespace anyfs {
namespace {

// A cgroup limit file's value; "max" or anything unreadable is no limit.
std::uint64_t limit_in(const char* path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return UINT64_MAX;
  try {
    return std::stoull(text);
  } catch (...) {
    return UINT64_MAX;
  }
}

}  // namespace

std::uint64_t usable_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGE_SIZE);
  std::uint64_t bytes = pages > 0 && page > 0 ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)
                                              : 1ull << 30;
  bytes = std::min(bytes, limit_in("/sys/fs/cgroup/memory.max"));
  bytes = std::min(bytes, limit_in("/sys/fs/cgroup/memory/memory.limit_in_bytes"));
  return bytes;
}

}  // namespace anyfs
