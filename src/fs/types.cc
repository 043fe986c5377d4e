#include "anyfs/types.h"

namespace anyfs {

std::string_view file_kind_name(FileKind kind) {
  switch (kind) {
    case FileKind::Regular: return "file";
    case FileKind::Directory: return "dir";
    case FileKind::Symlink: return "symlink";
    case FileKind::Other: return "other";
    case FileKind::Fifo: return "fifo";
    case FileKind::CharDevice: return "chardev";
    case FileKind::BlockDevice: return "blockdev";
    case FileKind::Socket: return "socket";
  }
  return "other";
}

}  // namespace anyfs
