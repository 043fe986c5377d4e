// The inode-level interface of a dataset: what a kernel-facing server (the FUSE
// mount, later NFS) calls. Objects are named by inode number and directory
// entries by (directory inode, name), as the kernel names them; there are no
// paths, so nothing here walks a tree or follows a symlink.
//
// Inode numbers are the dataset's own (Stat::ino), never reused while the pool
// lives, so a number names one object for good; Stat::ino of the root is
// k_root_ino. A number whose object is gone (its last name removed and its last
// handle closed) fails with NotFound.
//
// Names are single components: empty, ".", "..", or containing '/' fail with
// InvalidArgument; over 255 bytes with NameTooLong.
//
// Permissions are not checked here (the caller — the kernel with
// default_permissions — has checked them); the owner of a new object is the
// caller's, given in NewObject.
//
// Errors are those of the path calls in fs.h; a view of the past fails every
// change with ReadOnly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "anyfs/error.h"
#include "anyfs/fs.h"
#include "anyfs/types.h"

namespace anyfs {

inline constexpr std::uint64_t k_root_ino = 1;

// What make() creates. A directory in a set-group-ID directory takes its group
// and the set-group-ID bit; any other new object takes only the group.
struct NewObject {
  FileKind kind = FileKind::Regular;
  std::uint32_t mode = 0644;  // permission bits (07777)
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint64_t rdev = 0;     // CharDevice, BlockDevice
  std::string target = {};    // Symlink
};

// The attributes setattr() changes; an empty field is left alone.
struct AttrChange {
  std::optional<std::uint32_t> mode = std::nullopt;  // permission bits
  std::optional<std::uint32_t> uid = std::nullopt;
  std::optional<std::uint32_t> gid = std::nullopt;
  std::optional<std::uint64_t> size = std::nullopt;  // regular files: truncate or extend
  TimeSpec atime = TimeSpec::omit();
  TimeSpec mtime = TimeSpec::omit();
  // The change time to record instead of now (the kernel's own, when it
  // caches writes and their times: FUSE's writeback cache).
  TimeSpec ctime = TimeSpec::omit();
};

class InodeFs {
 public:
  virtual ~InodeFs() = default;

  // The object `name` in directory `dir`. Errors: NotFound, NotDir (dir).
  virtual Result<Stat> lookup(std::uint64_t dir, std::string_view name) = 0;
  virtual Result<Stat> getattr(std::uint64_t ino) = 0;
  // The directory holding directory `dir` (the root's is the root): what
  // ".." names, for programs that find a directory by its number alone (file
  // handles, NFS). Errors: NotFound (no such directory, or removed), NotDir.
  virtual Result<Stat> parent(std::uint64_t dir) = 0;
  // Applies `change` in one operation (ctime moves), returning the new attributes.
  // Errors: NotFound; IsDir / InvalidArgument (size of a non-file); FileTooBig.
  virtual Result<Stat> setattr(std::uint64_t ino, const AttrChange& change) = 0;
  // The entries of directory `dir`, sorted by name. Errors: NotFound, NotDir.
  virtual Result<std::vector<DirEntry>> list(std::uint64_t dir) = 0;

  // Creates `name` in `dir`. Errors: Exists, NotFound/NotDir (dir),
  // InvalidPath/NameTooLong (a symlink target).
  virtual Result<Stat> make(std::uint64_t dir, std::string_view name, const NewObject& what) = 0;
  // Removes the non-directory `name` (IsDir for a directory) or, with `directory`,
  // the empty directory `name` (NotDir, NotEmpty). A file stays readable through
  // its open handles.
  virtual Result<void> unlink(std::uint64_t dir, std::string_view name, bool directory) = 0;
  // rename(2) with its flags, between two directories. A directory cannot move
  // into its own subtree (InvalidArgument). Errors as Fs::rename.
  virtual Result<void> rename(std::uint64_t from_dir, std::string_view from, std::uint64_t to_dir,
                              std::string_view to, RenameFlags flags) = 0;
  // Gives `ino` the new name `name` in `dir`. Errors: Exists, NotPermitted (a
  // directory).
  virtual Result<Stat> link(std::uint64_t ino, std::uint64_t dir, std::string_view name) = 0;
  // Errors: InvalidArgument (not a symlink).
  virtual Result<std::string> readlink(std::uint64_t ino) = 0;

  // Opens an existing object; Create and Exclusive are not allowed here (use
  // make, then open). Errors: IsDir (a directory for writing), NotFound.
  virtual Result<FileHandle> open(std::uint64_t ino, OpenFlags flags) = 0;

  // Extended attributes, as the path calls in fs.h.
  virtual Result<std::string> get_xattr(std::uint64_t ino, std::string_view name) = 0;
  virtual Result<void> set_xattr(std::uint64_t ino, std::string_view name, std::string_view value,
                                 XattrFlags flags) = 0;
  virtual Result<std::vector<std::string>> list_xattr(std::uint64_t ino) = 0;
  virtual Result<void> remove_xattr(std::uint64_t ino, std::string_view name) = 0;

  // Makes [to_offset, to_offset + length) of file `to` share the bytes of
  // [from_offset, ...) of file `from` (a reflink of a range: no data is
  // copied), growing `to` if needed; stops at the end of `from`. Returns the
  // bytes cloned. Errors: InvalidArgument (not regular files), FileTooBig.
  virtual Result<std::uint64_t> clone_range(std::uint64_t from, std::uint64_t from_offset, std::uint64_t to,
                                            std::uint64_t to_offset, std::uint64_t length) = 0;
  // Turns [offset, offset + length) of a regular file into a hole; the size
  // does not change. Errors: InvalidArgument (not a regular file).
  virtual Result<void> punch_hole(std::uint64_t ino, std::uint64_t offset, std::uint64_t length) = 0;
};

}  // namespace anyfs
