// The non-virtual helpers of Fs, written once on top of the virtual methods.
#include "anyfs/fs.h"

#include "fs/path.h"
#include "fs/resolve.h"
#include "fs/view_tree.h"

namespace anyfs {

bool Fs::exists(std::string_view p) { return lstat(p).has_value(); }

Result<ResolvedPath> Fs::resolve(std::string_view p, Follow follow, std::string_view root) {
  std::string root_path = path::join(ANYFS_TRY(path::split(root)));
  auto st = lstat(root_path);
  if (!st) return fail(st.error().code, root_path, "cannot use as a root");
  if (!st->is_dir()) return fail(Errc::NotDir, root_path, "the root is not a directory");
  ViewTree<Fs> tree{*this, root_path};
  auto r = ANYFS_TRY(walk_path(tree, p, follow));
  return ResolvedPath{r.canonical(), r.found};
}

Result<void> Fs::mkdirs(std::string_view p, std::uint32_t mode) {
  auto parts = ANYFS_TRY(path::split(p));
  std::string prefix;
  for (const auto& part : parts) {
    prefix = path::child(prefix.empty() ? "/" : prefix, part);
    if (part == "..") continue;
    auto st = stat(prefix);
    if (st) {
      if (!st->is_dir()) return fail(Errc::NotDir, prefix, "exists and is not a directory");
      continue;
    }
    if (st.error().code != Errc::NotFound) return std::unexpected(st.error());
    auto made = mkdir(prefix, mode);
    if (!made && made.error().code != Errc::Exists) return made;
  }
  return {};
}

Result<std::uint64_t> Fs::remove_all(std::string_view p) {
  auto st = lstat(p);
  if (!st) {
    if (st.error().code == Errc::NotFound) return std::uint64_t{0};
    return std::unexpected(st.error());
  }
  std::uint64_t removed = 0;
  if (st->is_dir()) {
    auto entries = ANYFS_TRY(read_dir(p));
    for (const auto& e : entries) removed += ANYFS_TRY(remove_all(path::child(p, e.name)));
  }
  auto done = remove(p);
  if (!done && !(done.error().code == Errc::Busy && path::normalize(p) == "/")) return std::unexpected(done.error());
  return done ? removed + 1 : removed;
}

Result<std::string> Fs::read_range(std::string_view p, std::uint64_t offset, std::size_t length) {
  auto file = ANYFS_TRY(open(p, OpenFlags::Read));
  std::string out(length, '\0');
  std::size_t got = 0;
  while (got < length) {
    std::size_t n = ANYFS_TRY(file->pread(std::span<char>(out.data() + got, length - got), offset + got));
    if (n == 0) break;
    got += n;
  }
  out.resize(got);
  ANYFS_CHECK(file->close());
  return out;
}

Result<std::string> Fs::read_file(std::string_view p) {
  auto file = ANYFS_TRY(open(p, OpenFlags::Read));
  auto st = ANYFS_TRY(file->stat());
  if (st.is_dir()) return fail(Errc::IsDir, std::string(p), "is a directory");
  std::string out;
  out.resize(st.size);
  std::size_t got = 0;
  for (;;) {
    if (got == out.size()) out.resize(out.size() + 64 * 1024);  // the file may have grown
    std::size_t n = ANYFS_TRY(file->pread(std::span<char>(out.data() + got, out.size() - got), got));
    if (n == 0) break;
    got += n;
  }
  out.resize(got);
  ANYFS_CHECK(file->close());
  return out;
}

Result<void> Fs::write_file(std::string_view p, std::string_view data, std::uint32_t mode) {
  auto file = ANYFS_TRY(open(p, OpenFlags::Write | OpenFlags::Create | OpenFlags::Truncate, mode));
  ANYFS_TRY(file->pwrite(data, 0));
  return file->close();
}

Result<void> Fs::append(std::string_view p, std::string_view data, std::uint32_t mode) {
  auto file = ANYFS_TRY(open(p, OpenFlags::Write | OpenFlags::Create | OpenFlags::Append, mode));
  ANYFS_TRY(file->append(data));
  return file->close();
}

}  // namespace anyfs
