#include "support/fs_ops.h"

#include <fmt/format.h>

#include <sstream>

namespace anyfs::testing {

namespace {

std::string outcome_of(const Error& e) { return "err:" + std::string(errc_name(e.code)); }

template <class T>
std::string outcome(const Result<T>& r, std::string ok = "ok") {
  return r ? ok : outcome_of(r.error());
}

std::string describe(const Stat& st) {
  return fmt::format("{} mode={:o} nlink={} size={}", file_kind_name(st.kind), st.mode, st.nlink,
                     st.is_dir() ? 0 : st.size);
}

// A canonical dump of a tree: kinds, modes, link counts, sizes, contents, targets,
// xattrs. Inode numbers and times are left out (they differ by design).
void dump(Fs& fs, const std::string& dir, std::ostringstream& out) {
  auto entries = fs.read_dir(dir);
  if (!entries) {
    out << dir << " <" << errc_name(entries.error().code) << ">\n";
    return;
  }
  for (const auto& e : *entries) {
    std::string p = dir == "/" ? "/" + e.name : dir + "/" + e.name;
    auto st = fs.lstat(p);
    out << p << " " << (st ? describe(*st) : "<lstat failed>");
    if (st && st->is_symlink()) out << " -> " << fs.readlink(p).value_or("?");
    if (st && !st->is_symlink()) {
      for (const auto& name : fs.list_xattr(p).value_or(std::vector<std::string>{}))
        out << " " << name << "=" << fs.get_xattr(p, name).value_or("?");
    }
    if (st && st->is_regular()) out << " data=" << std::hash<std::string>{}(fs.read_file(p).value_or("?"));
    out << "\n";
    if (st && st->is_dir()) dump(fs, p, out);
  }
}

}  // namespace

std::string dump(Fs& fs) {
  std::ostringstream out;
  dump(fs, "/", out);
  return out.str();
}

std::string apply(Fs& fs, const Op& op) {
  switch (op.kind) {
    case OpKind::WriteFile: return outcome(fs.write_file(op.a, op.data, op.mode));
    case OpKind::Append: return outcome(fs.append(op.a, op.data, op.mode));
    case OpKind::Mkdir: return outcome(fs.mkdir(op.a, op.mode));
    case OpKind::Remove: return outcome(fs.remove(op.a));
    case OpKind::Rename: return outcome(fs.rename(op.a, op.b, static_cast<RenameFlags>(op.flags)));
    case OpKind::Link: return outcome(fs.link(op.a, op.b));
    case OpKind::Symlink: return outcome(fs.symlink(op.b, op.a));
    case OpKind::Truncate: return outcome(fs.truncate(op.a, op.n));
    case OpKind::Chmod: return outcome(fs.chmod(op.a, op.mode));
    case OpKind::SetXattr: return outcome(fs.set_xattr(op.a, op.b, op.data, static_cast<XattrFlags>(op.flags)));
    case OpKind::RemoveXattr: return outcome(fs.remove_xattr(op.a, op.b));
    case OpKind::ReadFile: {
      auto r = fs.read_file(op.a);
      return r ? "ok:" + *r : outcome_of(r.error());
    }
    case OpKind::Stat:
    case OpKind::Lstat: {
      auto r = op.kind == OpKind::Stat ? fs.stat(op.a) : fs.lstat(op.a);
      return r ? "ok:" + describe(*r) : outcome_of(r.error());
    }
    case OpKind::ReadDir: {
      auto r = fs.read_dir(op.a);
      if (!r) return outcome_of(r.error());
      std::string out = "ok:";
      for (const auto& e : *r) out += e.name + "/" + std::string(file_kind_name(e.kind)) + " ";
      return out;
    }
    case OpKind::Readlink: {
      auto r = fs.readlink(op.a);
      return r ? "ok:" + *r : outcome_of(r.error());
    }
    case OpKind::GetXattr: {
      auto r = fs.get_xattr(op.a, op.b);
      return r ? "ok:" + *r : outcome_of(r.error());
    }
    case OpKind::ListXattr: {
      auto r = fs.list_xattr(op.a);
      if (!r) return outcome_of(r.error());
      std::string out = "ok:";
      for (const auto& n : *r) out += n + " ";
      return out;
    }
    case OpKind::OpenWrite: {
      auto h = fs.open(op.a, static_cast<OpenFlags>(op.flags), op.mode);
      if (!h) return outcome_of(h.error());
      auto w = (*h)->pwrite(op.data, op.n);
      auto st = (*h)->stat();
      std::string out = "open-ok " + outcome(w) + " " + (st ? describe(*st) : outcome_of(st.error()));
      return out + " " + outcome((*h)->close());
    }
    case OpKind::ReadRange: {
      auto r = fs.read_range(op.a, op.n, 64);
      return r ? "ok:" + *r : outcome_of(r.error());
    }
    case OpKind::Count: break;
  }
  return "?";
}

std::string Op::to_string() const {
  static const char* k_names[] = {"write_file",   "append",    "mkdir",      "remove",     "rename",
                                  "link",         "symlink",   "truncate",   "chmod",      "set_xattr",
                                  "remove_xattr", "read_file", "stat",       "lstat",      "read_dir",
                                  "readlink",     "get_xattr", "list_xattr", "open_write", "read_range"};
  return fmt::format("{}(a={:?}, b={:?}, data.size={}, n={}, mode={:o}, flags={})", k_names[static_cast<int>(kind)],
                     a, b, data.size(), n, mode, flags);
}


}  // namespace anyfs::testing
