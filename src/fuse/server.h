// What the FUSE mount serves, in kernel terms but free of libfuse: the mounted
// dataset, the .anyfs/snapshots views beside it, and the numbering that keeps
// their inodes apart. lowlevel.cc turns requests into these calls and their
// errors into errno.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "anyfs/inode_fs.h"
#include "anyfs/mount.h"
#include "anyfs/pool.h"
#include "util/mutex.h"

namespace anyfs::fuse {

// Kernel inode numbers. The mounted dataset's own numbers are the kernel's
// (view 0); inode i of snapshot view v is v << 40 | i; the two directories
// .anyfs and .anyfs/snapshots live in a view of their own.
inline constexpr unsigned k_view_shift = 40;
inline constexpr std::uint64_t k_ino_mask = (std::uint64_t{1} << k_view_shift) - 1;
inline constexpr std::uint64_t k_virtual_view = (std::uint64_t{1} << 23) - 1;
inline constexpr std::uint64_t k_anyfs_dir = (k_virtual_view << k_view_shift) | 1;
inline constexpr std::uint64_t k_snapshots_dir = (k_virtual_view << k_view_shift) | 2;
inline constexpr std::string_view k_anyfs_name = ".anyfs";
inline constexpr std::string_view k_snapshots_name = "snapshots";

inline std::uint64_t view_of(std::uint64_t ino) { return ino >> k_view_shift; }
inline std::uint64_t kernel_ino(std::uint64_t view, std::uint64_t ino) { return (view << k_view_shift) | ino; }

class Server {
 public:
  Server(std::shared_ptr<Pool> pool, std::shared_ptr<Dataset> dataset, const MountOptions& options);

  // Each call is the InodeFs call of the same name on the view the number
  // belongs to; the numbers in and out are kernel numbers. Changes to a
  // snapshot view or a read-only mount fail with ReadOnly, except mkdir and
  // rmdir in .anyfs/snapshots, which take and destroy snapshots.
  Result<Stat> lookup(std::uint64_t dir, std::string_view name);
  Result<Stat> getattr(std::uint64_t ino);
  // What ".." names in directory `dir` (the root of a view is its own).
  Result<Stat> parent(std::uint64_t dir);
  Result<Stat> setattr(std::uint64_t ino, const AttrChange& change);
  Result<std::vector<DirEntry>> list(std::uint64_t dir);
  Result<Stat> make(std::uint64_t dir, std::string_view name, const NewObject& what);
  Result<void> unlink(std::uint64_t dir, std::string_view name, bool directory);
  Result<void> rename(std::uint64_t from_dir, std::string_view from, std::uint64_t to_dir, std::string_view to,
                      RenameFlags flags);
  Result<Stat> link(std::uint64_t ino, std::uint64_t dir, std::string_view name);
  Result<std::string> readlink(std::uint64_t ino);
  Result<FileHandle> open(std::uint64_t ino, OpenFlags flags);
  // A handle on directory `dir` for as long as the kernel holds it open: a
  // directory removed meanwhile still answers getattr (with no links). The
  // virtual directories need none (an empty handle).
  Result<FileHandle> open_dir(std::uint64_t dir, OpenFlags flags);
  Result<std::string> get_xattr(std::uint64_t ino, std::string_view name);
  Result<void> set_xattr(std::uint64_t ino, std::string_view name, std::string_view value, XattrFlags flags);
  Result<std::vector<std::string>> list_xattr(std::uint64_t ino);
  Result<void> remove_xattr(std::uint64_t ino, std::string_view name);
  Result<std::uint64_t> clone_range(std::uint64_t from, std::uint64_t from_offset, std::uint64_t to,
                                    std::uint64_t to_offset, std::uint64_t length);
  Result<void> punch_hole(std::uint64_t ino, std::uint64_t offset, std::uint64_t length);
  Result<StatFs> statfs();
  // Commits everything acknowledged (unmount, fsyncdir).
  Result<void> sync();

  bool read_only() const { return read_only_; }

 private:
  struct Target {
    Dataset* fs;
    std::uint64_t ino;   // the dataset's own number
    std::uint64_t view;
  };
  // The view and number behind a kernel number. Errors: NotFound (unknown view).
  Result<Target> target(std::uint64_t ino);
  // As target(), for a change: ReadOnly unless the mounted dataset is writable.
  Result<Target> writable(std::uint64_t ino);
  Stat virtual_dir(std::uint64_t ino) const;
  Result<Stat> snapshot_root(std::string_view name);
  Result<std::vector<DirEntry>> list_snapshots();
  static Stat in_view(Stat st, std::uint64_t view);

  const std::shared_ptr<Pool> pool_;
  const std::shared_ptr<Dataset> dataset_;
  const MountOptions options_;
  const bool read_only_;
  const std::int64_t mounted_ns_;
  Mutex mu_;
  // Snapshot views opened so far, by view number (index 0: the mounted
  // dataset); kept until unmount, since the kernel may hold their numbers.
  std::vector<std::shared_ptr<Dataset>> views_ GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::uint64_t>, std::uint64_t> view_by_snapshot_ GUARDED_BY(mu_);  // (name, tid) → view
};

}  // namespace anyfs::fuse
