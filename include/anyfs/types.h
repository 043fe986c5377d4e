// Value types of the Fs API: file kinds, Stat, DirEntry, open and rename flags,
// times for utimens, StatFs.
#pragma once

#include <cstdint>
#include <string>

namespace anyfs {

// Stored as its number: new kinds go at the end. Other is a host object the
// kinds below do not name.
enum class FileKind : std::uint8_t { Regular, Directory, Symlink, Other, Fifo, CharDevice, BlockDevice, Socket };

// True for the kinds whose content is not stored (FIFOs, devices, sockets).
inline bool is_special(FileKind kind) { return kind >= FileKind::Other; }

std::string_view file_kind_name(FileKind kind);

// Times are nanoseconds since the Unix epoch.
struct Stat {
  FileKind kind = FileKind::Regular;
  std::uint32_t mode = 0;  // permission bits only (07777); the kind is in `kind`
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint64_t nlink = 0;
  std::uint64_t size = 0;    // bytes; for a symlink, the length of its target
  std::uint64_t blocks = 0;  // 512-byte units actually allocated (sparse files use fewer)
  std::uint64_t ino = 0;     // unique among live files of one Fs
  std::int64_t atime_ns = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  std::int64_t btime_ns = 0;  // birth time; 0 where the Fs cannot tell
  std::uint64_t rdev = 0;     // device number of a CharDevice or BlockDevice

  bool is_dir() const { return kind == FileKind::Directory; }
  bool is_regular() const { return kind == FileKind::Regular; }
  bool is_symlink() const { return kind == FileKind::Symlink; }
};

struct DirEntry {
  std::string name;
  FileKind kind = FileKind::Regular;
  std::uint64_t ino = 0;

  bool operator==(const DirEntry&) const = default;
};

// Flags of Fs::open. Neither Read nor Write means Read.
enum class OpenFlags : std::uint32_t {
  None = 0,
  Read = 1u << 0,
  Write = 1u << 1,
  Create = 1u << 2,     // create the file if missing (with `mode`)
  Exclusive = 1u << 3,  // with Create: fail with Exists if the name exists
  Truncate = 1u << 4,   // with Write: cut the file to 0 bytes
  Append = 1u << 5,     // every write goes to the end of the file
  NoFollow = 1u << 6,   // fail with Loop if the last component is a symlink
  Directory = 1u << 7,  // fail with NotDir unless the path is a directory
  NoAtime = 1u << 8,    // reading through this handle leaves the access time (O_NOATIME)
  // Writes through this handle leave the modification and change times to the
  // caller, which sets them with setattr (a kernel's writeback cache keeps
  // its own and sends them: FUSE).
  CallerTimes = 1u << 9,
  ReadWrite = Read | Write,
};

constexpr OpenFlags operator|(OpenFlags a, OpenFlags b) {
  return static_cast<OpenFlags>(static_cast<std::uint32_t>(a) | static_cast<std::uint32_t>(b));
}
constexpr OpenFlags operator&(OpenFlags a, OpenFlags b) {
  return static_cast<OpenFlags>(static_cast<std::uint32_t>(a) & static_cast<std::uint32_t>(b));
}
constexpr bool has(OpenFlags set, OpenFlags flag) { return (set & flag) == flag && flag != OpenFlags::None; }

// Whether a final symlink is followed.
enum class Follow : bool { No = false, Yes = true };

// A path as a tree resolves it (Fs::resolve).
struct ResolvedPath {
  std::string path;     // canonical: absolute, no ".", "..", symlink or empty component
  bool exists = false;  // false: the last component is missing (its directory exists)
};

enum class RenameFlags : std::uint32_t {
  None = 0,
  NoReplace = 1,  // fail with Exists if the destination exists
  Exchange = 2,   // swap source and destination atomically; both must exist
};

enum class XattrFlags : std::uint32_t {
  None = 0,
  Create = 1,   // fail with Exists if the attribute exists
  Replace = 2,  // fail with NoData if the attribute is missing
};

// One time argument of utimens: set to a value, to the current time, or leave alone.
struct TimeSpec {
  enum class Kind : std::uint8_t { Set, Now, Omit };
  Kind kind = Kind::Omit;
  std::int64_t ns = 0;

  static TimeSpec at(std::int64_t ns) { return {Kind::Set, ns}; }
  static TimeSpec now() { return {Kind::Now, 0}; }
  static TimeSpec omit() { return {Kind::Omit, 0}; }
};

struct StatFs {
  std::uint64_t block_size = 4096;
  std::uint64_t total_blocks = 0;
  std::uint64_t free_blocks = 0;
  std::uint64_t avail_blocks = 0;
  std::uint64_t total_files = 0;
  std::uint64_t free_files = 0;
  std::uint64_t max_name_length = 255;
};

// Limits every Fs enforces (the Linux ones).
inline constexpr std::size_t k_max_name_length = 255;
inline constexpr std::size_t k_max_path_length = 4096;
inline constexpr int k_max_symlink_hops = 40;
inline constexpr std::size_t k_max_xattr_name_length = 255;
inline constexpr std::size_t k_max_xattr_value_size = 65536;
inline constexpr std::uint64_t k_max_file_size = (1ull << 60);

}  // namespace anyfs
