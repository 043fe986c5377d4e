// The differential test: a seeded random sequence of operations is applied both
// to the Fs under test and to a HostFs over a fresh temporary directory, where the
// Linux kernel is the oracle. Every result and error must match, and so must the
// final trees. A failure prints the seed, the first diverging operation, and a
// shortened sequence that still diverges.
//
// ANYFS_DIFF_SEED=N replays one seed; ANYFS_DIFF_OPS=N sets the length;
// ANYFS_SOAK=1 runs many more seeds.
#include <fmt/format.h>

#include <filesystem>
#include <random>
#include <sstream>

#include "anyfs/host_fs.h"
#include "conformance/fs_conformance.h"

namespace anyfs::testing {

namespace {

enum class OpKind {
  WriteFile,
  Append,
  Mkdir,
  Remove,
  Rename,
  Link,
  Symlink,
  Truncate,
  Chmod,
  SetXattr,
  RemoveXattr,
  ReadFile,
  Stat,
  Lstat,
  ReadDir,
  Readlink,
  GetXattr,
  ListXattr,
  OpenWrite,
  ReadRange,
  Count
};

struct Op {
  OpKind kind;
  std::string a, b, data;
  std::uint64_t n = 0;
  std::uint32_t mode = 0;
  std::uint32_t flags = 0;

  std::string to_string() const {
    static const char* k_names[] = {"write_file",   "append",    "mkdir",      "remove",     "rename",
                                    "link",         "symlink",   "truncate",   "chmod",      "set_xattr",
                                    "remove_xattr", "read_file", "stat",       "lstat",      "read_dir",
                                    "readlink",     "get_xattr", "list_xattr", "open_write", "read_range"};
    return fmt::format("{}(a={:?}, b={:?}, data.size={}, n={}, mode={:o}, flags={})", k_names[static_cast<int>(kind)],
                       a, b, data.size(), n, mode, flags);
  }
};

std::string outcome_of(const Error& e) { return "err:" + std::string(errc_name(e.code)); }

template <class T>
std::string outcome(const Result<T>& r, std::string ok = "ok") {
  return r ? ok : outcome_of(r.error());
}

std::string describe(const Stat& st) {
  return fmt::format("{} mode={:o} nlink={} size={}", file_kind_name(st.kind), st.mode, st.nlink,
                     st.is_dir() ? 0 : st.size);
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

class Generator {
  enum class Leaf { Dir, File, Link, Any };

 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  Op next() {
    Op op;
    // Creating calls come up more often, so that most calls find something to act on.
    static constexpr OpKind k_creators[] = {OpKind::WriteFile, OpKind::Mkdir, OpKind::Append, OpKind::OpenWrite};
    op.kind = pick(4) == 0 ? k_creators[pick(std::size(k_creators))]
                           : static_cast<OpKind>(pick(static_cast<int>(OpKind::Count)));
    op.a = path(leaf_for(op.kind));
    op.b = path(op.kind == OpKind::Rename || op.kind == OpKind::Link ? leaf_for(op.kind) : Leaf::Any);
    op.mode = k_modes[pick(std::size(k_modes))];
    op.data = std::string(pick(3) == 0 ? pick(70000) : pick(40), static_cast<char>('a' + pick(26)));
    op.n = pick(4) == 0 ? pick(100000) : pick(64);
    switch (op.kind) {
      case OpKind::Rename: op.flags = pick(4) == 0 ? 1 + pick(2) : 0; break;
      case OpKind::Symlink: op.b = target(); break;
      case OpKind::SetXattr:
        op.flags = pick(4) == 0 ? 1 + pick(2) : 0;
        op.data.resize(std::min<std::size_t>(op.data.size(), 1000));  // ext4 keeps xattrs in one block
        [[fallthrough]];
      case OpKind::RemoveXattr:
      case OpKind::GetXattr: op.b = pick(2) ? "user.x" : "user.y"; break;
      case OpKind::OpenWrite: op.flags = open_flags(); break;
      default: break;
    }
    return op;
  }

 private:
  static Leaf leaf_for(OpKind kind) {
    switch (kind) {
      case OpKind::Mkdir:
      case OpKind::ReadDir: return Leaf::Dir;
      case OpKind::Symlink:
      case OpKind::Readlink: return Leaf::Link;
      case OpKind::Stat:
      case OpKind::Lstat:
      case OpKind::Remove:
      case OpKind::Rename: return Leaf::Any;
      default: return Leaf::File;
    }
  }

  static constexpr std::uint32_t k_modes[] = {0644, 0600, 0755, 0700, 0444, 0777};

  std::uint64_t pick(std::uint64_t n) { return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng_); }

  // Directory names on the way, and a leaf that fits the call most of the time
  // (files get file names, mkdir directory names, symlink link names), so most
  // calls find something to act on while every kind of clash still comes up.
  std::string path(Leaf leaf = Leaf::Any) {
    static const char* k_dirs[] = {"a", "b", "c", "d"};
    static const char* k_files[] = {"f", "g", "h"};
    static const char* k_links[] = {"l", "m"};
    static const char* k_all[] = {"a", "b", "c", "d", "f", "g", "h", "l", "m"};
    std::uint64_t roll = pick(20);
    std::uint64_t depth = roll < 9 ? 1 : roll < 16 ? 2 : 3;  // shallow paths exist more often
    std::string out;
    for (std::uint64_t i = 0; i + 1 < depth; ++i)
      out += std::string("/") + (pick(5) ? k_dirs[pick(std::size(k_dirs))] : k_all[pick(std::size(k_all))]);
    const bool fits = pick(4) != 0;
    switch (fits ? leaf : Leaf::Any) {
      case Leaf::Dir: out += std::string("/") + k_dirs[pick(std::size(k_dirs))]; break;
      case Leaf::File: out += std::string("/") + k_files[pick(std::size(k_files))]; break;
      case Leaf::Link: out += std::string("/") + k_links[pick(std::size(k_links))]; break;
      case Leaf::Any: out += std::string("/") + k_all[pick(std::size(k_all))]; break;
    }
    if (pick(20) == 0) out += "/..";
    return out;
  }

  std::string target() {
    switch (pick(4)) {
      case 0: return path();
      case 1: return path().substr(1);
      case 2: return "../" + path().substr(1);
      default: return pick(2) ? ".." : "/";
    }
  }

  std::uint32_t open_flags() {
    OpenFlags f = pick(2) ? OpenFlags::Write : OpenFlags::ReadWrite;
    if (pick(2)) f = f | OpenFlags::Create;
    if (pick(4) == 0) f = f | OpenFlags::Exclusive;
    if (pick(3) == 0) f = f | OpenFlags::Truncate;
    if (pick(4) == 0) f = f | OpenFlags::Append;
    if (pick(6) == 0) f = f | OpenFlags::NoFollow;
    if (pick(10) == 0) f = OpenFlags::Read | OpenFlags::Directory;
    return static_cast<std::uint32_t>(f);
  }

  std::mt19937_64 rng_;
};

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

std::string dump(Fs& fs) {
  std::ostringstream out;
  dump(fs, "/", out);
  return out.str();
}

struct Divergence {
  std::size_t index;  // ops.size() when only the final trees differ
  std::string ours, oracle;
};

const std::vector<Op> k_seed_ops = {
    {OpKind::Mkdir, "/a", "", "", 0, 0755, 0},
    {OpKind::Mkdir, "/a/b", "", "", 0, 0755, 0},
    {OpKind::WriteFile, "/a/f", "", "lower content", 0, 0644, 0},
    {OpKind::WriteFile, "/g", "", std::string(20000, 'L'), 0, 0600, 0},
    {OpKind::Symlink, "/l", "a", "", 0, 0, 0},
    {OpKind::SetXattr, "/a/f", "user.x", "seeded", 0, 0, 0},
};

}  // namespace

class DifferentialRun {
 public:
  DifferentialRun(const FsFactory& factory, const std::string& scratch) : factory_(factory), scratch_(scratch) {}

  // Runs `ops` on fresh subjects; returns the first divergence, if any.
  std::optional<Divergence> run(const std::vector<Op>& ops) {
    std::string dir = fmt::format("{}/run{}", scratch_, runs_++);
    std::filesystem::create_directories(dir + "/subject");
    std::filesystem::create_directories(dir + "/oracle");
    Subject subject = factory_.make(dir + "/subject");
    if (!subject.seed) subject.seed = subject.fs;
    auto oracle = open_host_fs(dir + "/oracle");
    if (!oracle) return Divergence{0, "", "cannot open oracle: " + oracle.error().to_string()};
    for (const auto& op : k_seed_ops) {
      (void)apply(*subject.seed, op);
      (void)apply(**oracle, op);
    }
    std::optional<Divergence> result;
    for (std::size_t i = 0; i < ops.size() && !result; ++i) {
      std::string ours = apply(*subject.fs, ops[i]);
      std::string theirs = apply(**oracle, ops[i]);
      if (ours != theirs) result = Divergence{i, ours, theirs};
      succeeded_ += !ours.starts_with("err:");
    }
    if (!result) {
      std::string ours = dump(*subject.fs), theirs = dump(**oracle);
      if (ours != theirs) result = Divergence{ops.size(), ours, theirs};
    }
    subject = {};  // a mounted subject unmounts before its directory goes
    std::filesystem::remove_all(dir);
    return result;
  }

  // Greedily drops operations while the sequence still diverges.
  std::vector<Op> shorten(std::vector<Op> ops) {
    for (std::size_t i = ops.size(); i-- > 0 && runs_ < 400;) {
      std::vector<Op> candidate = ops;
      candidate.erase(candidate.begin() + static_cast<std::ptrdiff_t>(i));
      if (run(candidate)) ops = std::move(candidate);
    }
    return ops;
  }

  std::size_t succeeded() const { return succeeded_; }

 private:
  const FsFactory& factory_;
  std::string scratch_;
  int runs_ = 0;
  std::size_t succeeded_ = 0;  // operations that succeeded, over all runs
};

TEST_P(FsDifferential, MatchesTheKernelOnRandomOperations) {
  if (!writable()) GTEST_SKIP() << "read-only subject";
  const char* one_seed = std::getenv("ANYFS_DIFF_SEED");
  const char* ops_env = std::getenv("ANYFS_DIFF_OPS");
  const std::size_t n_ops = ops_env ? std::stoul(ops_env) : 2000;
  std::vector<std::uint64_t> seeds;
  if (one_seed)
    seeds.push_back(std::stoull(one_seed));
  else
    for (std::uint64_t s = 1; s <= (std::getenv("ANYFS_SOAK") ? 50u : 3u); ++s) seeds.push_back(s);

  DifferentialRun runner(GetParam(), tmp_.str() + "/diff");
  for (std::uint64_t seed : seeds) {
    Generator gen(seed);
    std::vector<Op> ops;
    for (std::size_t i = 0; i < n_ops; ++i) ops.push_back(gen.next());
    auto diverged = runner.run(ops);
    if (!diverged) continue;  // (runner.succeeded() below says how much of the sequences did something)
    std::vector<Op> prefix(ops.begin(),
                           ops.begin() + static_cast<std::ptrdiff_t>(std::min(diverged->index + 1, ops.size())));
    std::vector<Op> shortest = runner.shorten(prefix);
    std::string listing;
    for (const auto& op : shortest) listing += "  " + op.to_string() + "\n";
    auto last = runner.run(shortest);
    ADD_FAILURE() << "seed " << seed << " (replay: ANYFS_DIFF_SEED=" << seed << "): diverged at op #" << diverged->index
                  << (diverged->index < ops.size() ? " " + ops[diverged->index].to_string() : " (final trees)")
                  << "\n  ours:   " << diverged->ours << "\n  kernel: " << diverged->oracle
                  << "\nshortest failing sequence (" << shortest.size() << " of " << prefix.size() << " ops):\n"
                  << listing << (last ? "  which gives ours=" + last->ours + " kernel=" + last->oracle : "");
    return;
  }
  // A sequence where nearly everything fails would test little: keep it honest.
  const std::size_t total = seeds.size() * n_ops;
  RecordProperty("succeeded_operations", static_cast<int>(runner.succeeded()));
  EXPECT_GT(runner.succeeded() * 100, total * 35) << runner.succeeded() << " of " << total << " operations succeeded";
}

}  // namespace anyfs::testing
