// The file commands: ls, stat, cat, put, mkdir, rm, mv, ln, find, df. Each is a
// row of the table at the bottom: a name, a summary, and a setup function that
// adds its options and returns what it runs.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <iterator>

#include "context.h"
#include "transfer.h"
#include "fs/path.h"

namespace anyfs::cli {
namespace {

using Runner = std::function<int(Context&)>;

// Runs `body` on two locations that must be in the same dataset.
template <class F>
int with_pair(Context& ctx, const std::string& a, const std::string& b, F&& body) {
  auto first = ctx.at(a);
  if (!first) return ctx.report(first.error());
  auto second = ctx.at(b);
  if (!second) return ctx.report(second.error());
  if (first->fs != second->fs) return ctx.report(Error(Errc::CrossDevice, b, "the two paths are in different datasets"));
  Result<void> r = body(*first->fs, first->path, second->path);
  return r ? k_exit_ok : ctx.report(r.error());
}

// Runs `body` with the command's Fs; any Error becomes a report and exit code.
template <class F>
int with_fs(Context& ctx, F&& body) {
  auto fs = ctx.fs();
  if (!fs) return ctx.report(fs.error());
  Result<void> r = body(**fs);
  return r ? k_exit_ok : ctx.report(r.error());
}

std::string mode_string(const Stat& st) {
  static constexpr char k_kind[] = {'-', 'd', 'l', '?'};
  std::string out(1, k_kind[static_cast<int>(st.kind)]);
  for (int shift = 6; shift >= 0; shift -= 3) {
    out += (st.mode >> shift) & 4 ? 'r' : '-';
    out += (st.mode >> shift) & 2 ? 'w' : '-';
    out += (st.mode >> shift) & 1 ? 'x' : '-';
  }
  return out;
}

nlohmann::json stat_json(const Stat& st) {
  return {{"kind", file_kind_name(st.kind)},
          {"mode", st.mode},
          {"uid", st.uid},
          {"gid", st.gid},
          {"nlink", st.nlink},
          {"size", st.size},
          {"blocks", st.blocks},
          {"ino", st.ino},
          {"atime_ns", st.atime_ns},
          {"mtime_ns", st.mtime_ns},
          {"ctime_ns", st.ctime_ns},
          {"btime_ns", st.btime_ns}};
}

// Lists `dir` into `list` (JSON rows) and `human`; with `recursive`, every
// directory below too, each under a "path:" heading as ls -R does.
Result<void> list_dir(Fs& fs, const std::string& dir, bool longer, bool recursive, nlohmann::json& list,
                      std::string& human) {
  auto entries = ANYFS_TRY(fs.read_dir(dir));
  if (recursive) human += (human.empty() ? "" : "\n") + dir + ":\n";
  std::vector<std::string> subdirs;
  for (const auto& e : entries) {
    std::string p = path::child(dir, e.name);
    auto st = fs.lstat(p);
    nlohmann::json row = {{"name", e.name}, {"kind", file_kind_name(e.kind)}, {"ino", e.ino}};
    if (recursive) row["path"] = p;
    if (st) row["size"] = st->size, row["mode"] = st->mode, row["nlink"] = st->nlink;
    list.push_back(row);
    if (longer && st)
      human += fmt::format("{} {:>3} {:>12} {}\n", mode_string(*st), st->nlink, st->size, e.name);
    else
      human += e.name + (e.kind == FileKind::Directory ? "/\n" : "\n");
    if (e.kind == FileKind::Directory) subdirs.push_back(p);
  }
  if (recursive)
    for (const auto& sub : subdirs) ANYFS_CHECK(list_dir(fs, sub, longer, recursive, list, human));
  return {};
}

Runner setup_ls(CLI::App& app) {
  auto path = std::make_shared<std::string>("/");
  auto longer = std::make_shared<bool>(false);
  auto recursive = std::make_shared<bool>(false);
  app.add_option("path", *path, "Directory to list (default /)");
  app.add_flag("-l,--long", *longer, "Show kind, mode, links and size");
  app.add_flag("-R,--recursive", *recursive, "List every directory below too");
  return [=](Context& ctx) {
    return with_target(ctx, *path, [&](Fs& fs, const std::string& dir) -> Result<void> {
      nlohmann::json list = nlohmann::json::array();
      std::string human;
      ANYFS_CHECK(list_dir(fs, dir, *longer, *recursive, list, human));
      ctx.print(list, human);
      return {};
    });
  };
}

Runner setup_stat(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto no_follow = std::make_shared<bool>(false);
  app.add_option("path", *path, "Object to describe")->required();
  app.add_flag("-L,--no-follow", *no_follow, "Describe a symlink itself, not its target");
  return [=](Context& ctx) {
    return with_target(ctx, *path, [&](Fs& fs, const std::string& p) -> Result<void> {
      Stat st = ANYFS_TRY(*no_follow ? fs.lstat(p) : fs.stat(p));
      nlohmann::json out = stat_json(st);
      std::string target;
      if (st.kind == FileKind::Symlink) {
        target = ANYFS_TRY(fs.readlink(p));
        out["target"] = target;
      }
      ctx.print(out, fmt::format("{}: {} {:o} size {} nlink {} ino {} uid {} gid {}{}", *path, file_kind_name(st.kind),
                                 st.mode, st.size, st.nlink, st.ino, st.uid, st.gid,
                                 target.empty() ? "" : " -> " + target));
      return {};
    });
  };
}

Runner setup_cat(CLI::App& app) {
  auto paths = std::make_shared<std::vector<std::string>>();
  app.add_option("paths", *paths, "Files to print")->required();
  return [=](Context& ctx) {
    for (const auto& location : *paths) {
      int code = with_target(ctx, location, [&](Fs& fs, const std::string& p) -> Result<void> {
        return copy_out(fs, p, std::cout);
      });
      if (code != k_exit_ok) return code;
    }
    std::cout.flush();
    return static_cast<int>(k_exit_ok);
  };
}


Runner setup_put(CLI::App& app) {
  auto source = std::make_shared<std::string>();
  auto dest = std::make_shared<std::string>();
  auto mode = std::make_shared<std::uint32_t>(0644);
  app.add_option("source", *source, "Local file to copy in, or - for standard input")->required();
  app.add_option("dest", *dest, "Path to write")->required();
  app.add_option("-m,--mode", *mode, "Permission bits of a new file (octal)")
      ->default_str("0644")
      ->transform([](std::string s) { return std::to_string(std::stoul(s, nullptr, 8)); });
  return [=](Context& ctx) {
    return with_target(ctx, *dest, [&](Fs& fs, const std::string& p) -> Result<void> {
      std::uint64_t bytes = ANYFS_TRY(copy_in(*source, fs, p, *mode));
      ctx.print({{"path", *dest}, {"bytes", bytes}}, "");
      return {};
    });
  };
}

Runner setup_mkdir(CLI::App& app) {
  auto paths = std::make_shared<std::vector<std::string>>();
  auto parents = std::make_shared<bool>(false);
  app.add_option("paths", *paths, "Directories to create")->required();
  app.add_flag("-p,--parents", *parents, "Create missing parents; an existing directory is fine");
  return [=](Context& ctx) {
    for (const auto& location : *paths) {
      int code = with_target(ctx, location, [&](Fs& fs, const std::string& p) -> Result<void> {
        return *parents ? fs.mkdirs(p) : fs.mkdir(p);
      });
      if (code != k_exit_ok) return code;
    }
    ctx.print({{"created", *paths}}, "");
    return static_cast<int>(k_exit_ok);
  };
}

Runner setup_rm(CLI::App& app) {
  auto paths = std::make_shared<std::vector<std::string>>();
  auto recursive = std::make_shared<bool>(false);
  app.add_option("paths", *paths, "Objects to remove")->required();
  app.add_flag("-r,--recursive", *recursive, "Remove directories and everything under them");
  return [=](Context& ctx) {
    std::uint64_t removed = 0;
    for (const auto& location : *paths) {
      int code = with_target(ctx, location, [&](Fs& fs, const std::string& p) -> Result<void> {
        if (*recursive) {
          ANYFS_TRY(fs.lstat(p));  // a missing path is an error here, as with rm -r
          removed += ANYFS_TRY(fs.remove_all(p));
        } else {
          ANYFS_CHECK(fs.remove(p));
          ++removed;
        }
        return {};
      });
      if (code != k_exit_ok) return code;
    }
    ctx.print({{"removed", removed}}, "");
    return static_cast<int>(k_exit_ok);
  };
}

Runner setup_mv(CLI::App& app) {
  auto from = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  auto no_replace = std::make_shared<bool>(false);
  auto exchange = std::make_shared<bool>(false);
  app.add_option("from", *from, "Existing path")->required();
  app.add_option("to", *to, "New path")->required();
  auto* nr = app.add_flag("-n,--no-replace", *no_replace, "Fail if the destination exists");
  app.add_flag("-x,--exchange", *exchange, "Swap the two paths atomically")->excludes(nr);
  return [=](Context& ctx) {
    return with_pair(ctx, *from, *to, [&](Fs& fs, const std::string& a, const std::string& b) -> Result<void> {
      RenameFlags flags = *exchange ? RenameFlags::Exchange : *no_replace ? RenameFlags::NoReplace : RenameFlags::None;
      ANYFS_CHECK(fs.rename(a, b, flags));
      ctx.print({{"from", *from}, {"to", *to}}, "");
      return {};
    });
  };
}

Runner setup_ln(CLI::App& app) {
  auto target = std::make_shared<std::string>();
  auto link = std::make_shared<std::string>();
  auto symbolic = std::make_shared<bool>(false);
  app.add_option("target", *target, "Existing file (or, with -s, the symlink's text)")->required();
  app.add_option("link", *link, "New name")->required();
  app.add_flag("-s,--symbolic", *symbolic, "Make a symlink instead of a hard link");
  return [=](Context& ctx) {
    int code = *symbolic ? with_target(ctx, *link, [&](Fs& fs, const std::string& p) { return fs.symlink(*target, p); })
                         : with_pair(ctx, *target, *link,
                                     [&](Fs& fs, const std::string& a, const std::string& b) { return fs.link(a, b); });
    if (code == k_exit_ok) ctx.print({{"target", *target}, {"link", *link}, {"symbolic", *symbolic}}, "");
    return code;
  };
}

Result<void> walk(Fs& fs, const std::string& dir, const std::string& glob, nlohmann::json& out, std::string& human) {
  for (const auto& e : ANYFS_TRY(fs.read_dir(dir))) {
    std::string p = path::child(dir, e.name);
    if (glob.empty() || path::glob_match(glob, p)) {
      out.push_back({{"path", p}, {"kind", file_kind_name(e.kind)}});
      human += p + "\n";
    }
    if (e.kind == FileKind::Directory) ANYFS_CHECK(walk(fs, p, glob, out, human));
  }
  return {};
}

Runner setup_find(CLI::App& app) {
  auto root = std::make_shared<std::string>("/");
  auto glob = std::make_shared<std::string>();
  app.add_option("path", *root, "Where to start (default /)");
  app.add_option("--glob", *glob, "Only paths matching this glob ('*.txt', '/src/**/*.h')");
  return [=](Context& ctx) {
    return with_target(ctx, *root, [&](Fs& fs, const std::string& start) -> Result<void> {
      nlohmann::json out = nlohmann::json::array();
      std::string human;
      ANYFS_TRY(fs.stat(start));
      ANYFS_CHECK(walk(fs, path::normalize(start), *glob, out, human));
      ctx.print(out, human);
      return {};
    });
  };
}

Runner setup_df(CLI::App&) {
  return [](Context& ctx) {
    return with_fs(ctx, [&](Fs& fs) -> Result<void> {
      StatFs sf = ANYFS_TRY(fs.statfs());
      ctx.print({{"block_size", sf.block_size},
                 {"total_blocks", sf.total_blocks},
                 {"free_blocks", sf.free_blocks},
                 {"avail_blocks", sf.avail_blocks},
                 {"total_files", sf.total_files},
                 {"free_files", sf.free_files}},
                fmt::format("size {} B, free {} B, files free {}", sf.total_blocks * sf.block_size,
                            sf.avail_blocks * sf.block_size, sf.free_files));
      return {};
    });
  };
}

}  // namespace

const std::vector<Command>& file_commands() {
  static const std::vector<Command> k_commands = {
      {"ls", "List a directory", Access::Read, setup_ls},
      {"stat", "Show an object's attributes", Access::Read, setup_stat},
      {"cat", "Print files", Access::Read, setup_cat},
      {"put", "Write a file from a local file or standard input: put HOSTFILE|- PATH", Access::Write, setup_put},
      {"mkdir", "Create directories", Access::Write, setup_mkdir},
      {"rm", "Remove files, symlinks and directories", Access::Write, setup_rm},
      {"mv", "Rename or move atomically", Access::Write, setup_mv},
      {"ln", "Make a hard link or (-s) a symlink", Access::Write, setup_ln},
      {"find", "List paths under a directory, optionally matching a glob", Access::Read, setup_find},
      {"df", "Show space and file counts", Access::Read, setup_df},
  };
  return k_commands;
}

}  // namespace anyfs::cli
