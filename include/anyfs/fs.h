// The filesystem interface every AnyFS tree implements: MemoryFs, HostFs, the
// layers in anyfs/layers/, and (later) pool datasets.
//
// Paths. Every path is an absolute virtual path ("/a/b"); a relative path is taken
// from "/". Empty components and "." are ignored; ".." goes to the parent of the
// directory reached so far (after symlinks, as in POSIX) and never above "/".
// Symlinks resolve inside the filesystem: an absolute target starts at this Fs's
// "/", never at the host's. After 40 symlinks a call fails with Errc::Loop.
// A path with a NUL byte fails with Errc::InvalidPath; a component over 255 bytes
// or a path over 4096 bytes with Errc::NameTooLong.
//
// Errors. Every call returns Result<T>; the Error carries an Errc (one-to-one with
// errno, see error.h), the path it concerns and a short message. The errors listed
// for each method are the ones callers can rely on; an implementation may add
// Io, Corrupt, NoSpace, QuotaExceeded, ReadOnly, Permission and Again for causes of
// its own (storage failure, policy layers).
//
// Permissions. The API does not check mode bits against a caller identity: the
// caller is the owner of the whole tree. Mode, uid and gid are stored and reported.
//
// Threads. Every Fs and every File is safe to call from many threads at once. Each
// call is atomic with respect to the others on the same Fs.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "anyfs/error.h"
#include "anyfs/types.h"

namespace anyfs {

// An open file or directory. Obtained from Fs::open; closed by close() or by the
// destructor (which ignores errors). Data written through one handle is visible
// to every other handle and path read at once. A file unlinked while open stays
// readable and writable through its handles until the last one closes.
class File {
 public:
  virtual ~File() = default;
  File() = default;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  // Reads up to buf.size() bytes at `offset` into buf; returns the count, 0 at or
  // past the end. Holes read as zeros. Fails with BadHandle if not opened for
  // reading or closed, IsDir on a directory.
  virtual Result<std::size_t> pread(std::span<char> buf, std::uint64_t offset) = 0;

  // Writes all of `data` at `offset`, growing the file (a gap becomes a hole);
  // returns data.size(). On a handle opened with Append the data goes to the end
  // instead, as on Linux. Fails with BadHandle if not opened for writing, FileTooBig
  // past the largest file.
  virtual Result<std::size_t> pwrite(std::string_view data, std::uint64_t offset) = 0;

  // Writes `data` at the current end of the file, atomically with respect to other
  // appends; returns the offset it was written at. Fails as pwrite.
  virtual Result<std::uint64_t> append(std::string_view data) = 0;

  // Sets the size: shrinking drops data, growing adds a hole. Fails with BadHandle
  // if not opened for writing, FileTooBig past the largest file.
  virtual Result<void> truncate(std::uint64_t size) = 0;

  // Makes the file's data and metadata durable (a no-op for MemoryFs).
  virtual Result<void> fsync() = 0;

  // The file's current attributes (its nlink is 0 once unlinked).
  virtual Result<Stat> stat() = 0;

  // Releases the handle. Further calls fail with BadHandle; a second close is a
  // no-op that succeeds.
  virtual Result<void> close() = 0;
};

using FileHandle = std::unique_ptr<File>;

class Fs {
 public:
  virtual ~Fs() = default;
  Fs() = default;
  Fs(const Fs&) = delete;
  Fs& operator=(const Fs&) = delete;

  // --- Attributes -------------------------------------------------------------

  // Attributes of the object at `path`, following a final symlink.
  // Errors: NotFound, NotDir (a component is not a directory), Loop.
  virtual Result<Stat> stat(std::string_view path) = 0;

  // As stat, but a final symlink is reported itself.
  virtual Result<Stat> lstat(std::string_view path) = 0;

  // --- Directories --------------------------------------------------------------

  // The entries of a directory (without "." and ".."), sorted by name bytewise.
  // Errors: NotFound, NotDir.
  virtual Result<std::vector<DirEntry>> read_dir(std::string_view path) = 0;

  // Creates a directory with permission bits `mode`. Errors: Exists (any object
  // at the name, even a dangling symlink), NotFound (parent missing), NotDir.
  virtual Result<void> mkdir(std::string_view path, std::uint32_t mode = 0755) = 0;

  // Removes a file, symlink, or empty directory (the symlink itself, never its
  // target). Errors: NotFound, NotEmpty, Busy (the root), NotDir.
  virtual Result<void> remove(std::string_view path) = 0;

  // Renames atomically with the POSIX rules: an existing destination is replaced
  // if it is of a compatible kind (file over file, directory over empty
  // directory); renaming a name onto a hard link of the same file does nothing.
  // With RenameFlags::NoReplace the call fails with Exists if the destination
  // exists; with Exchange both must exist and they swap places.
  // Errors: NotFound, Exists (NoReplace), IsDir (file over directory), NotDir
  // (directory over file), NotEmpty (over a non-empty directory), InvalidArgument
  // (a directory into its own subtree), Busy (the root).
  virtual Result<void> rename(std::string_view from, std::string_view to, RenameFlags flags = RenameFlags::None) = 0;

  // --- Links --------------------------------------------------------------------

  // Makes `new_path` another name of the file at `existing` (a final symlink in
  // `existing` is not followed). Errors: NotFound, Exists, NotPermitted (a
  // directory), TooManyLinks.
  virtual Result<void> link(std::string_view existing, std::string_view new_path) = 0;

  // Creates a symlink at `link_path` holding `target` verbatim (target may dangle;
  // it must be 1..4095 bytes without NUL). Errors: Exists, NotFound (parent),
  // InvalidPath / NameTooLong (target).
  virtual Result<void> symlink(std::string_view target, std::string_view link_path) = 0;

  // The target of the symlink at `path`. Errors: NotFound, InvalidArgument (not a
  // symlink).
  virtual Result<std::string> readlink(std::string_view path) = 0;

  // --- Metadata -----------------------------------------------------------------

  // Sets permission bits (mode & 07777), following symlinks. Errors: NotFound.
  virtual Result<void> chmod(std::string_view path, std::uint32_t mode) = 0;

  // Sets owner and group, following symlinks; uid or gid -1 leaves it unchanged.
  // Errors: NotFound.
  virtual Result<void> chown(std::string_view path, std::uint32_t uid, std::uint32_t gid) = 0;

  // Sets access and modification times, following symlinks. Errors: NotFound.
  virtual Result<void> utimens(std::string_view path, TimeSpec atime, TimeSpec mtime) = 0;

  // Sets the size of a regular file (shrinking drops data, growing makes a hole).
  // Errors: NotFound, IsDir, InvalidArgument (not a regular file), FileTooBig.
  virtual Result<void> truncate(std::string_view path, std::uint64_t size) = 0;

  // --- Extended attributes (follow symlinks) -----------------------------------
  // Names are "namespace.name" (user., trusted., security.), at most 255 bytes
  // (else Range); values at most 64 KiB (else ArgTooBig). A name without a known
  // namespace fails with Unsupported.

  // The value of attribute `name`. Errors: NotFound, NoData (no such attribute).
  virtual Result<std::string> get_xattr(std::string_view path, std::string_view name) = 0;

  // Sets attribute `name`. Errors: NotFound, Exists (XattrFlags::Create and
  // present), NoData (XattrFlags::Replace and missing).
  virtual Result<void> set_xattr(std::string_view path, std::string_view name, std::string_view value,
                                 XattrFlags flags = XattrFlags::None) = 0;

  // The names of the attributes, sorted. Errors: NotFound.
  virtual Result<std::vector<std::string>> list_xattr(std::string_view path) = 0;

  // Removes attribute `name`. Errors: NotFound, NoData.
  virtual Result<void> remove_xattr(std::string_view path, std::string_view name) = 0;

  // --- Whole filesystem ---------------------------------------------------------

  // Sizes and counts of the filesystem.
  virtual Result<StatFs> statfs() = 0;

  // Makes every completed change durable.
  virtual Result<void> sync() = 0;

  // --- Handles --------------------------------------------------------------------

  // Opens (and with Create, creates with permission bits `mode`) the object at
  // `path`. Errors: NotFound (missing without Create, or parent missing), Exists
  // (Create|Exclusive and present), IsDir (a directory opened for writing), NotDir
  // (Directory flag on a non-directory), Loop (NoFollow on a symlink),
  // InvalidArgument (Truncate without Write, Create with Directory).
  virtual Result<FileHandle> open(std::string_view path, OpenFlags flags, std::uint32_t mode = 0644) = 0;

  // --- Paths ---------------------------------------------------------------------

  // Resolves `p` exactly as every call does — symlinks inside the tree, physical
  // "..", the 40-hop limit — and returns its canonical path; with Follow::Yes a
  // final symlink is followed too. `root`, a canonical directory path of this Fs,
  // acts as "/": ".." stops at it, absolute symlink targets start at it, and the
  // result is relative to it. A missing last component is not an error
  // (exists = false; the path names where it would be).
  // Errors: NotFound (a directory on the way is missing, or the root), NotDir,
  // Loop, InvalidPath, NameTooLong.
  // The default walks the tree with lstat and readlink; an Fs that can do better
  // (one walk under one lock) overrides it. Layers use it to map paths in O(1)
  // calls to the Fs below.
  virtual Result<ResolvedPath> resolve(std::string_view p, Follow follow = Follow::Yes, std::string_view root = "/");

  // --- Helpers built on the methods above (not virtual) ----------------------------

  // True if `path` names an object (lstat succeeds).
  bool exists(std::string_view path);

  // Creates a directory and any missing parents; succeeds if it exists as a
  // directory. Errors: NotDir / Exists (a component is not a directory).
  Result<void> mkdirs(std::string_view path, std::uint32_t mode = 0755);

  // Removes `path` and everything under it (symlinks are not followed); returns the
  // number of objects removed, 0 if it did not exist.
  Result<std::uint64_t> remove_all(std::string_view path);

  // The whole content of the regular file at `path`.
  Result<std::string> read_file(std::string_view path);

  // Up to `length` bytes at `offset`; shorter at the end of the file.
  Result<std::string> read_range(std::string_view path, std::uint64_t offset, std::size_t length);

  // Replaces the content of `path` with `data`, creating the file with `mode`.
  Result<void> write_file(std::string_view path, std::string_view data, std::uint32_t mode = 0644);

  // Appends `data` to `path`, creating it with `mode` if missing.
  Result<void> append(std::string_view path, std::string_view data, std::uint32_t mode = 0644);
};

}  // namespace anyfs
