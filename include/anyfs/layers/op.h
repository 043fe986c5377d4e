// The operations of the Fs and File interfaces, as values: what tracing records,
// what metrics count, what rate limits and read-only checks look at.
#pragma once

#include <cstdint>
#include <string_view>

namespace anyfs {

enum class Op : std::uint8_t {
  Stat,
  Lstat,
  ReadDir,
  Mkdir,
  Remove,
  Rename,
  Link,
  Symlink,
  Readlink,
  Chmod,
  Chown,
  Utimens,
  Truncate,
  GetXattr,
  SetXattr,
  ListXattr,
  RemoveXattr,
  Statfs,
  Sync,
  Open,
  Resolve,
  FileRead,
  FileWrite,
  FileAppend,
  FileTruncate,
  FileFsync,
  FileStat,
  FileClose,
  Count
};

inline constexpr std::size_t k_op_count = static_cast<std::size_t>(Op::Count);

// "stat", "file_read", ... (snake_case, stable: used in metrics names and traces).
std::string_view op_name(Op op);

// True for the File (handle) operations.
constexpr bool is_file_op(Op op) { return op >= Op::FileRead && op < Op::Count; }

// True for operations that change the tree (Open counts when its flags write).
bool op_mutates(Op op, std::uint32_t open_flags = 0);

}  // namespace anyfs
