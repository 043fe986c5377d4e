// Overlay: see include/anyfs/layers/overlay.h for the behaviour.
//
// Paths are walked (fs/resolve.h) over the merged view, whose lookup is
// child(): per component it asks the upper, then for a whiteout, then the lower
// (while no opaque upper directory or whiteout hides it). Calls that change
// anything hold the lock exclusively and first copy what they touch up.
#include "anyfs/layers/overlay.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <shared_mutex>

#include "fs/checks.h"
#include "fs/path.h"
#include "fs/resolve.h"

namespace anyfs {
namespace {

constexpr std::string_view k_whiteout_prefix = ".wh.";
constexpr std::string_view k_opaque_marker = ".wh..wh..opq";

enum class Layer { Upper, Lower };

std::uint64_t merged_ino(std::uint64_t ino, Layer layer) { return ino * 2 + (layer == Layer::Lower ? 1 : 0); }

// Where a canonical path lives in the two layers.
struct Where {
  std::optional<Stat> upper;  // the upper entry, if any
  std::optional<Stat> lower;  // the lower entry, if visible through the upper
  bool exists() const { return upper || lower; }
  Layer layer() const { return upper ? Layer::Upper : Layer::Lower; }
  const Stat& top() const { return upper ? *upper : *lower; }
  // A directory whose lower contents show through.
  bool merged() const { return upper && upper->is_dir() && lower && lower->is_dir(); }
};

std::string whiteout_of(std::string_view canonical) {
  return path::child(path::parent(canonical), std::string(k_whiteout_prefix) + std::string(path::base_name(canonical)));
}

bool is_reserved(std::string_view name) { return name.starts_with(k_whiteout_prefix); }

class OverlayFs;

// A handle on an object of one layer. Its stat() maps the inode number like the
// Fs's and, for a directory, counts links over the merged view (by the path the
// handle was opened with).
class OverlayFile final : public File {
 public:
  OverlayFile(FileHandle inner, Layer layer, std::weak_ptr<OverlayFs> fs = {}, std::string dir = {})
      : inner_(std::move(inner)), layer_(layer), fs_(std::move(fs)), dir_(std::move(dir)) {}
  Result<std::size_t> pread(std::span<char> buf, std::uint64_t offset) override { return inner_->pread(buf, offset); }
  Result<std::size_t> pwrite(std::string_view data, std::uint64_t offset) override {
    return inner_->pwrite(data, offset);
  }
  Result<std::uint64_t> append(std::string_view data) override { return inner_->append(data); }
  Result<void> truncate(std::uint64_t size) override { return inner_->truncate(size); }
  Result<void> fsync() override { return inner_->fsync(); }
  Result<Stat> stat() override;
  Result<void> close() override { return inner_->close(); }

 private:
  const FileHandle inner_;
  const Layer layer_;
  const std::weak_ptr<OverlayFs> fs_;  // set for directories
  const std::string dir_;              // the canonical path a directory was opened at
};

class OverlayFs final : public Fs, public std::enable_shared_from_this<OverlayFs> {
 public:
  OverlayFs(std::shared_ptr<Fs> upper, std::shared_ptr<Fs> lower)
      : upper_(std::move(upper)), lower_(std::move(lower)) {}

  // One object of the merged view, as the resolver walks it.
  struct Node {
    std::string path;
    Where w;
    bool in_upper = false;  // (directories) the upper holds this directory
    bool in_lower = false;  // (directories) the lower's directory shows through
  };

  // The merged view as a tree for walk_path(). REQUIRES: mu_ held.
  struct Tree {
    using Node = OverlayFs::Node;
    OverlayFs* fs;
    Node start;
    Node root() { return start; }
    Result<std::optional<Node>> lookup(const Node& dir, std::string_view name) { return fs->child(dir, name); }
    FileKind kind(const Node& n) { return n.w.top().kind; }
    Result<std::string> link_target(const Node& n) { return fs->layer_fs(n.w.layer()).readlink(n.path); }
  };

  Result<ResolvedPath> resolve(std::string_view p, Follow follow, std::string_view root) override {
    std::shared_lock lock(mu_);
    auto start = ANYFS_TRY(node_at(path::join(ANYFS_TRY(path::split(root)))));
    if (!start) return fail(Errc::NotFound, std::string(root), "cannot use as a root");
    if (!start->w.top().is_dir()) return fail(Errc::NotDir, std::string(root), "the root is not a directory");
    Tree tree{this, std::move(*start)};
    auto r = walk_path(tree, p, follow);
    if (!r) return std::unexpected(Error(r.error().code, std::string(p), r.error().message));
    return ResolvedPath{r->canonical(), r->found};
  }

  Result<Stat> stat(std::string_view p) override { return stat_impl(p, Follow::Yes); }
  Result<Stat> lstat(std::string_view p) override { return stat_impl(p, Follow::No); }

  Result<std::vector<DirEntry>> read_dir(std::string_view p) override {
    std::shared_lock lock(mu_);
    auto [c, w] = ANYFS_TRY(existing(p, Follow::Yes));
    if (!w.top().is_dir()) return fail(Errc::NotDir, std::string(p), "not a directory");
    return merged_listing(c, w);
  }

  Result<void> mkdir(std::string_view p, std::uint32_t mode) override {
    std::unique_lock lock(mu_);
    auto c = ANYFS_TRY(new_entry(p, Follow::No));
    bool hid_lower = ANYFS_TRY(prepare_new(c));
    ANYFS_CHECK(upper_->mkdir(c, mode));
    if (hid_lower) ANYFS_CHECK(upper_->write_file(path::child(c, k_opaque_marker), ""));
    return {};
  }

  Result<void> remove(std::string_view p) override {
    ANYFS_CHECK(path::check_names_entry(p));
    std::unique_lock lock(mu_);
    auto [c, w] = ANYFS_TRY(existing(p, Follow::No));
    if (c == "/") return fail(Errc::Busy, std::string(p), "cannot remove the root");
    if (w.top().is_dir() && !ANYFS_TRY(merged_listing(c, w)).empty())
      return fail(Errc::NotEmpty, std::string(p), "directory not empty");
    return remove_name(c, w);
  }

  Result<void> rename(std::string_view from, std::string_view to, RenameFlags flags) override;

  Result<void> link(std::string_view existing_path, std::string_view new_path) override {
    // Both must name entries; the new name is checked first, as HostFs does.
    ANYFS_CHECK(path::check_names_entry(new_path));
    ANYFS_CHECK(path::check_names_entry(existing_path));
    std::unique_lock lock(mu_);
    auto [a, wa] = ANYFS_TRY(existing(existing_path, Follow::No));
    auto b = ANYFS_TRY(new_entry(new_path, Follow::No));
    if (wa.top().is_dir()) return fail(Errc::NotPermitted, std::string(existing_path), "cannot hard-link a directory");
    ANYFS_CHECK(copy_up(a, wa, true));
    ANYFS_TRY(prepare_new(b));
    return upper_->link(a, b);
  }

  Result<void> symlink(std::string_view target, std::string_view link_path) override {
    ANYFS_CHECK(path::validate_symlink_target(target));
    std::unique_lock lock(mu_);
    auto c = ANYFS_TRY(new_entry(link_path, Follow::No));
    ANYFS_TRY(prepare_new(c));
    return upper_->symlink(target, c);
  }

  Result<std::string> readlink(std::string_view p) override {
    std::shared_lock lock(mu_);
    auto [c, w] = ANYFS_TRY(existing(p, Follow::No));
    if (!w.top().is_symlink()) return fail(Errc::InvalidArgument, std::string(p), "not a symlink");
    return layer_fs(w.layer()).readlink(c);
  }

  Result<void> chmod(std::string_view p, std::uint32_t mode) override {
    return modify(p, [&](const std::string& c) { return upper_->chmod(c, mode); });
  }
  Result<void> chown(std::string_view p, std::uint32_t uid, std::uint32_t gid) override {
    return modify(p, [&](const std::string& c) { return upper_->chown(c, uid, gid); });
  }
  Result<void> utimens(std::string_view p, TimeSpec atime, TimeSpec mtime) override {
    return modify(p, [&](const std::string& c) { return upper_->utimens(c, atime, mtime); });
  }
  Result<void> truncate(std::string_view p, std::uint64_t size) override {
    return modify(
        p, [&](const std::string& c) { return upper_->truncate(c, size); }, /*regular_only=*/true);
  }
  Result<void> set_xattr(std::string_view p, std::string_view name, std::string_view value, XattrFlags flags) override {
    ANYFS_CHECK(check_xattr_name(p, name));
    ANYFS_CHECK(check_xattr_value(p, value));
    return modify(p, [&](const std::string& c) { return upper_->set_xattr(c, name, value, flags); });
  }
  Result<void> remove_xattr(std::string_view p, std::string_view name) override {
    ANYFS_CHECK(check_xattr_name(p, name));
    return modify(p, [&](const std::string& c) { return upper_->remove_xattr(c, name); });
  }

  Result<std::string> get_xattr(std::string_view p, std::string_view name) override {
    ANYFS_CHECK(check_xattr_name(p, name));
    std::shared_lock lock(mu_);
    auto [c, w] = ANYFS_TRY(existing(p, Follow::Yes));
    return layer_fs(w.layer()).get_xattr(c, name);
  }

  Result<std::vector<std::string>> list_xattr(std::string_view p) override {
    std::shared_lock lock(mu_);
    auto [c, w] = ANYFS_TRY(existing(p, Follow::Yes));
    return layer_fs(w.layer()).list_xattr(c);
  }

  Result<StatFs> statfs() override { return upper_->statfs(); }
  Result<void> sync() override { return upper_->sync(); }

  Result<FileHandle> open(std::string_view p, OpenFlags flags, std::uint32_t mode) override;

 private:
  Fs& layer_fs(Layer layer) { return layer == Layer::Upper ? *upper_ : *lower_; }

  // The root of the merged view. REQUIRES: mu_ held.
  Result<Node> root_node() {
    Node n{"/", {}, true, false};
    n.w.upper = ANYFS_TRY(upper_->lstat("/"));
    auto lower_root = lower_->lstat("/");
    if (lower_root && !ANYFS_TRY(is_opaque("/"))) {
      n.w.lower = *lower_root;
      n.in_lower = true;
    }
    return n;
  }

  // The entry `name` of directory `dir` in the merged view: the upper's, then
  // (unless a whiteout or an opaque directory hides it) the lower's.
  // REQUIRES: mu_ held.
  Result<std::optional<Node>> child(const Node& dir, std::string_view name) {
    if (is_reserved(name)) return std::optional<Node>();
    Node n{path::child(dir.path, name), {}, false, false};
    bool whited_out = false;
    if (dir.in_upper) {
      n.w.upper = ANYFS_TRY(lstat_if(*upper_, n.path));
      if (!n.w.upper) whited_out = ANYFS_TRY(lstat_if(*upper_, whiteout_of(n.path))).has_value();
    }
    if (dir.in_lower && !whited_out) n.w.lower = ANYFS_TRY(lstat_if(*lower_, n.path));
    if (!n.w.exists()) return std::optional<Node>();
    n.in_upper = n.w.upper && n.w.upper->is_dir();
    n.in_lower = n.w.lower && n.w.lower->is_dir() && (!n.w.upper || (n.in_upper && !ANYFS_TRY(is_opaque(n.path))));
    return std::optional<Node>(std::move(n));
  }

  // The node at canonical path `c`, if it exists. REQUIRES: mu_ held.
  Result<std::optional<Node>> node_at(std::string_view c) {
    std::optional<Node> n = ANYFS_TRY(root_node());
    for (const auto& name : ANYFS_TRY(path::split(c))) {
      n = ANYFS_TRY(child(*n, name));
      if (!n) break;
    }
    return n;
  }

  // Where canonical path `c` lives (nowhere if it does not exist). REQUIRES: mu_ held.
  Result<Where> locate(std::string_view c) {
    auto n = ANYFS_TRY(node_at(c));
    return n ? n->w : Where{};
  }

  static Result<std::optional<Stat>> lstat_if(Fs& fs, const std::string& p) {
    auto st = fs.lstat(p);
    if (st) return std::optional<Stat>(*st);
    if (st.error().code == Errc::NotFound || st.error().code == Errc::NameTooLong) return std::optional<Stat>();
    return std::unexpected(st.error());
  }

  Result<bool> is_opaque(const std::string& dir) {
    return ANYFS_TRY(lstat_if(*upper_, path::child(dir, k_opaque_marker))).has_value();
  }

  // Walks `p` over the merged view. REQUIRES: mu_ held.
  Result<Resolved<Node>> resolve_merged(std::string_view p, Follow follow) {
    Tree tree{this, ANYFS_TRY(root_node())};
    auto r = walk_path(tree, p, follow);
    if (!r) return std::unexpected(Error(r.error().code, std::string(p), r.error().message));
    return r;
  }

  // An existing object: its canonical path and where it lives. REQUIRES: mu_ held.
  Result<std::pair<std::string, Where>> existing(std::string_view p, Follow follow) {
    auto r = ANYFS_TRY(resolve_merged(p, follow));
    if (!r.found) return fail(Errc::NotFound, std::string(p), "no such file or directory");
    return std::pair{r.canonical(), r.node().w};
  }

  // The canonical path for a name about to be created. REQUIRES: mu_ held.
  Result<std::string> new_entry(std::string_view p, Follow follow) {
    ANYFS_CHECK(path::check_names_entry(p));
    auto r = ANYFS_TRY(resolve_merged(p, follow));
    if (r.found) return fail(Errc::Exists, std::string(p), "already exists");
    if (is_reserved(r.leaf))
      return fail(Errc::InvalidArgument, std::string(p), "names starting with .wh. are reserved");
    return r.canonical();
  }

  // Makes room in the upper for a new name `c`: copies up its parent and drops a
  // whiteout there. Returns whether a whiteout hid a lower object. REQUIRES: mu_ exclusive.
  Result<bool> prepare_new(const std::string& c) {
    ANYFS_CHECK(copy_up_path(path::parent(c)));
    std::string wh = whiteout_of(c);
    if (!ANYFS_TRY(lstat_if(*upper_, wh))) return false;
    ANYFS_CHECK(upper_->remove(wh));
    return true;
  }

  Result<Stat> stat_impl(std::string_view p, Follow follow);
  Result<std::uint64_t> merged_nlink(const std::string& c, const Where& w);

 public:
  // The link count of the directory at canonical path `c` in the merged view.
  Result<std::uint64_t> dir_nlink(const std::string& c);

 private:
  Result<std::vector<DirEntry>> merged_listing(const std::string& c, const Where& w);
  Result<void> remove_name(const std::string& c, const Where& w);
  Result<void> copy_up_path(const std::string& c);
  Result<void> copy_up(const std::string& c, const Where& w, bool with_data);
  Result<void> copy_up_tree(const std::string& c);
  Result<void> copy_data(const std::string& c);
  Result<void> copy_attributes(const std::string& c, const Stat& st);

  template <class F>
  Result<void> modify(std::string_view p, F&& change, bool regular_only = false) {
    std::unique_lock lock(mu_);
    auto [c, w] = ANYFS_TRY(existing(p, Follow::Yes));
    if (regular_only && w.top().is_dir()) return fail(Errc::IsDir, std::string(p), "is a directory");
    ANYFS_CHECK(copy_up(c, w, true));
    return change(c);
  }

  const std::shared_ptr<Fs> upper_;
  const std::shared_ptr<Fs> lower_;
  std::shared_mutex mu_;  // shared: lookups and reads; exclusive: anything that writes the upper
};

Result<Stat> OverlayFs::stat_impl(std::string_view p, Follow follow) {
  std::shared_lock lock(mu_);
  auto [c, w] = ANYFS_TRY(existing(p, follow));
  Stat st = w.top();
  st.ino = merged_ino(st.ino, w.layer());
  if (w.merged()) st.nlink = ANYFS_TRY(merged_nlink(c, w));
  return st;
}

Result<std::uint64_t> OverlayFs::merged_nlink(const std::string& c, const Where& w) {
  std::uint64_t subdirs = 0;
  for (const auto& e : ANYFS_TRY(merged_listing(c, w)))
    if (e.kind == FileKind::Directory) ++subdirs;
  return 2 + subdirs;
}

Result<std::uint64_t> OverlayFs::dir_nlink(const std::string& c) {
  std::shared_lock lock(mu_);
  Where w = ANYFS_TRY(locate(c));
  if (!w.exists()) return fail(Errc::NotFound, c);
  return w.merged() ? merged_nlink(c, w) : Result<std::uint64_t>(w.top().nlink);
}

Result<Stat> OverlayFile::stat() {
  auto st = ANYFS_TRY(inner_->stat());
  st.ino = merged_ino(st.ino, layer_);
  if (auto fs = fs_.lock(); fs && st.is_dir() && st.nlink != 0) {
    if (auto nlink = fs->dir_nlink(dir_)) st.nlink = *nlink;  // moved or removed since: the layer's count
  }
  return st;
}

Result<std::vector<DirEntry>> OverlayFs::merged_listing(const std::string& c, const Where& w) {
  std::map<std::string, DirEntry> out;
  std::vector<std::string> hidden;
  bool lower_shows = w.lower && w.lower->is_dir();
  if (w.upper) {
    for (auto& e : ANYFS_TRY(upper_->read_dir(c))) {
      if (e.name == k_opaque_marker) {
        lower_shows = false;
      } else if (is_reserved(e.name)) {
        hidden.push_back(e.name.substr(k_whiteout_prefix.size()));
      } else {
        e.ino = merged_ino(e.ino, Layer::Upper);
        out.emplace(e.name, std::move(e));
      }
    }
  }
  if (lower_shows) {
    for (auto& e : ANYFS_TRY(lower_->read_dir(c))) {
      if (out.contains(e.name) || std::find(hidden.begin(), hidden.end(), e.name) != hidden.end()) continue;
      e.ino = merged_ino(e.ino, Layer::Lower);
      out.emplace(e.name, std::move(e));
    }
  }
  std::vector<DirEntry> list;
  list.reserve(out.size());
  for (auto& [name, e] : out) list.push_back(std::move(e));
  return list;
}

Result<void> OverlayFs::remove_name(const std::string& c, const Where& w) {
  if (w.upper) {
    if (w.upper->is_dir())
      ANYFS_TRY(upper_->remove_all(c));  // only whiteouts can be left in it
    else
      ANYFS_CHECK(upper_->remove(c));
  }
  if (w.lower) {
    ANYFS_CHECK(copy_up_path(path::parent(c)));
    ANYFS_CHECK(upper_->write_file(whiteout_of(c), "", 0));
  }
  return {};
}

Result<void> OverlayFs::copy_up_path(const std::string& c) {
  if (c == "/") return {};
  Where w = ANYFS_TRY(locate(c));
  if (!w.exists()) return fail(Errc::NotFound, c, "vanished during copy-up");
  return copy_up(c, w, true);
}

Result<void> OverlayFs::copy_up(const std::string& c, const Where& w, bool with_data) {
  if (w.upper) return {};
  ANYFS_CHECK(copy_up_path(path::parent(c)));
  const Stat& st = *w.lower;
  switch (st.kind) {
    case FileKind::Directory: ANYFS_CHECK(upper_->mkdir(c, st.mode)); break;
    case FileKind::Symlink: ANYFS_CHECK(upper_->symlink(ANYFS_TRY(lower_->readlink(c)), c)); break;
    case FileKind::Regular:
      if (with_data)
        ANYFS_CHECK(copy_data(c));
      else
        ANYFS_CHECK(upper_->write_file(c, "", st.mode));
      break;
    default: return fail(Errc::Unsupported, c, "cannot copy up a special file");
  }
  return copy_attributes(c, st);
}

// Copies a lower file's bytes, skipping all-zero blocks so holes stay holes.
Result<void> OverlayFs::copy_data(const std::string& c) {
  auto in = ANYFS_TRY(lower_->open(c, OpenFlags::Read | OpenFlags::NoFollow));
  auto out = ANYFS_TRY(upper_->open(c, OpenFlags::Write | OpenFlags::Create | OpenFlags::Exclusive, 0600));
  std::string buf(256 * 1024, '\0');
  std::uint64_t offset = 0;
  for (;;) {
    std::size_t n = ANYFS_TRY(in->pread(std::span<char>(buf.data(), buf.size()), offset));
    if (n == 0) break;
    std::string_view chunk(buf.data(), n);
    if (chunk.find_first_not_of('\0') != std::string_view::npos) ANYFS_TRY(out->pwrite(chunk, offset));
    offset += n;
  }
  ANYFS_CHECK(out->truncate(ANYFS_TRY(in->stat()).size));
  return out->close();
}

Result<void> OverlayFs::copy_attributes(const std::string& c, const Stat& st) {
  if (st.is_symlink()) return {};  // mode, owner and times of a symlink are not ours to set here
  ANYFS_CHECK(upper_->chmod(c, st.mode));
  auto owned = upper_->chown(c, st.uid, st.gid);
  if (!owned && owned.error().code != Errc::NotPermitted) return owned;
  for (const auto& name : ANYFS_TRY(lower_->list_xattr(c)))
    ANYFS_CHECK(upper_->set_xattr(c, name, ANYFS_TRY(lower_->get_xattr(c, name))));
  return upper_->utimens(c, TimeSpec::at(st.atime_ns), TimeSpec::at(st.mtime_ns));
}

// Copies a directory and everything under it up, and makes it opaque: after a
// rename nothing of the lower at its new place may show through.
Result<void> OverlayFs::copy_up_tree(const std::string& c) {
  Where w = ANYFS_TRY(locate(c));
  ANYFS_CHECK(copy_up(c, w, true));
  if (!w.top().is_dir()) return {};
  for (const auto& e : ANYFS_TRY(merged_listing(c, w))) ANYFS_CHECK(copy_up_tree(path::child(c, e.name)));
  // Whiteouts are no longer needed once the directory is opaque.
  for (const auto& e : ANYFS_TRY(upper_->read_dir(c)))
    if (is_reserved(e.name) && e.name != k_opaque_marker) ANYFS_CHECK(upper_->remove(path::child(c, e.name)));
  if (!ANYFS_TRY(is_opaque(c))) ANYFS_CHECK(upper_->write_file(path::child(c, k_opaque_marker), ""));
  return {};
}

Result<void> OverlayFs::rename(std::string_view from, std::string_view to, RenameFlags flags) {
  // Both must name entries; the destination is checked first, as HostFs does.
  ANYFS_CHECK(path::check_names_entry(to));
  ANYFS_CHECK(path::check_names_entry(from));
  std::unique_lock lock(mu_);
  auto ra = ANYFS_TRY(resolve_merged(from, Follow::No));
  auto rb = ANYFS_TRY(resolve_merged(to, Follow::No));
  const std::string a = ra.canonical(), b = rb.canonical();
  // Naming the root is Busy before the source is looked up, as in Linux.
  if (a == "/" || b == "/") return fail(Errc::Busy, std::string(from), "cannot rename the root");
  if (!ra.found) return fail(Errc::NotFound, std::string(from), "no such file or directory");
  const bool exchange = flags == RenameFlags::Exchange;
  if (flags == RenameFlags::NoReplace && rb.found) return fail(Errc::Exists, std::string(to), "destination exists");
  if (exchange && !rb.found) return fail(Errc::NotFound, std::string(to), "exchange needs both to exist");
  if (!rb.found && is_reserved(rb.leaf))
    return fail(Errc::InvalidArgument, std::string(to), "names starting with .wh. are reserved");
  if (a != b && path::is_within(b, a))
    return fail(Errc::InvalidArgument, std::string(to), "cannot move a directory into itself");
  if (rb.found && a != b && path::is_within(a, b))
    return fail(exchange ? Errc::InvalidArgument : Errc::NotEmpty, std::string(to), "the destination is an ancestor");
  Where wa = ra.node().w;
  Where wb = rb.found ? rb.node().w : Where{};
  if (rb.found && wa.layer() == wb.layer() && wa.top().ino == wb.top().ino) return {};  // the same file
  if (rb.found && !exchange) {
    if (wa.top().is_dir() && !wb.top().is_dir()) return fail(Errc::NotDir, std::string(to), "not a directory");
    if (!wa.top().is_dir() && wb.top().is_dir()) return fail(Errc::IsDir, std::string(to), "is a directory");
    if (wb.top().is_dir() && !ANYFS_TRY(merged_listing(b, wb)).empty())
      return fail(Errc::NotEmpty, std::string(to), "directory not empty");
  }
  ANYFS_CHECK(copy_up_tree(a));
  if (exchange) {
    ANYFS_CHECK(copy_up_tree(b));
    return upper_->rename(a, b, RenameFlags::Exchange);
  }
  ANYFS_TRY(prepare_new(b));
  if (wb.upper && wb.upper->is_dir()) ANYFS_TRY(upper_->remove_all(b));  // holds only whiteouts
  ANYFS_CHECK(upper_->rename(a, b, RenameFlags::None));
  if (wa.lower) ANYFS_CHECK(upper_->write_file(whiteout_of(a), "", 0));
  return {};
}

Result<FileHandle> OverlayFs::open(std::string_view p, OpenFlags flags, std::uint32_t mode) {
  ANYFS_CHECK(check_open_flags(p, flags));
  const bool create = has(flags, OpenFlags::Create);
  const bool exclusive = create && has(flags, OpenFlags::Exclusive);
  const bool writes = wants_write(flags) || create;
  Follow follow = (has(flags, OpenFlags::NoFollow) || exclusive) ? Follow::No : Follow::Yes;
  if (!writes) {
    std::shared_lock lock(mu_);
    auto [c, w] = ANYFS_TRY(existing(p, follow));
    auto handle = ANYFS_TRY(layer_fs(w.layer()).open(c, flags, mode));
    return std::make_unique<OverlayFile>(std::move(handle), w.layer(), weak_from_this(), c);
  }
  std::unique_lock lock(mu_);
  auto r = ANYFS_TRY(resolve_merged(p, follow));
  std::string c = r.canonical();
  if (!r.found) {
    if (!create) return fail(Errc::NotFound, std::string(p), "no such file or directory");
    if (is_reserved(r.leaf))
      return fail(Errc::InvalidArgument, std::string(p), "names starting with .wh. are reserved");
    ANYFS_TRY(prepare_new(c));
  } else {
    if (exclusive) return fail(Errc::Exists, std::string(p), "already exists");
    // Copy up whatever it is; for a directory or symlink the upper then reports
    // IsDir / NotDir / Loop exactly as a plain Fs would.
    ANYFS_CHECK(copy_up(c, r.node().w, !has(flags, OpenFlags::Truncate)));
  }
  auto handle = ANYFS_TRY(upper_->open(c, flags, mode));
  return std::make_unique<OverlayFile>(std::move(handle), Layer::Upper, weak_from_this(), c);
}

}  // namespace

std::shared_ptr<Fs> make_overlay(std::shared_ptr<Fs> upper, std::shared_ptr<Fs> lower) {
  return std::make_shared<OverlayFs>(std::move(upper), std::move(lower));
}

}  // namespace anyfs
