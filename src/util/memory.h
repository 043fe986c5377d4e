// How much memory this process may use: the machine's physical memory, or
// less when a control group (v2 memory.max, v1 memory.limit_in_bytes) caps it.
// Caches size their defaults from it.
#pragma once

#include <cstdint>

namespace anyfs {

std::uint64_t usable_memory_bytes();

}  // namespace anyfs
