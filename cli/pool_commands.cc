// The pool commands: init, import, export, get, cp, du, info, verify, gc,
// compact, property. File commands (ls, cat, put, ...) are in file_commands.cc
// and work on pools through the same locations.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>

#include "context.h"
#include "format.h"
#include "progress.h"
#include "fs/path.h"
#include "transfer.h"

namespace anyfs::cli {
namespace {

using Runner = std::function<int(Context&)>;

// The running counts of an import or export on the progress line.
class Progress {
 public:
  Progress(const Context& ctx, std::string verb) : line_(ctx), verb_(std::move(verb)) {}
  void operator()(const TreeCounts& c) {
    line_.show(fmt::format("{} {} files, {} dirs, {}", verb_, c.files, c.dirs, human_bytes(c.bytes)));
  }
  void done() { line_.done(); }

 private:
  ProgressLine line_;
  std::string verb_;
};

nlohmann::json counts_json(const TreeCounts& c) {
  return {{"files", c.files},       {"dirs", c.dirs},   {"symlinks", c.symlinks},
          {"hardlinks", c.hardlinks}, {"bytes", c.bytes}, {"skipped", c.skipped}};
}

WarnFn warner(Context& ctx) {
  return [&ctx](const std::string& p, const std::string& why) {
    if (ctx.json())
      std::cerr << nlohmann::json({{"warning", {{"path", p}, {"message", why}}}}).dump() << '\n';
    else
      std::cerr << "anyfs: warning: " << p << ": " << why << '\n';
  };
}

Runner setup_init(CLI::App& app) {
  auto pool_path = std::make_shared<std::string>();
  auto page_size = std::make_shared<std::uint32_t>(16384);
  auto props = std::make_shared<std::vector<std::string>>();
  app.add_option("pool", *pool_path, "Pool file to create (default: -p POOL)");
  app.add_option("--page-size", *page_size, "SQLite page size, 4096..65536 (see docs/PERFORMANCE.md)")->default_str("16384");
  app.add_option("-o,--property", *props, "NAME=VALUE for the root dataset (repeatable)");
  auto volumes = std::make_shared<std::vector<std::string>>();
  app.add_option("--volume", *volumes,
                 "PATH[:SIZE]: keep chunks in this volume file (repeatable; SIZE caps it, e.g. 10G). None: a "
                 "single-file pool");
  return [=](Context& ctx) {
    std::string target = pool_path->empty() ? ctx.pool_path() : *pool_path;
    if (target.empty()) return ctx.report(Error(Errc::InvalidArgument, "", "init needs a pool file: init POOL"));
    PoolCreateOptions options;
    options.page_size = *page_size;
    for (const auto& v : *volumes) {
      auto spec = parse_volume_spec(v);
      if (!spec) return ctx.report(spec.error());
      options.volumes.push_back(*spec);
    }
    for (const auto& p : *props) {
      auto eq = p.find('=');
      if (eq == std::string::npos) return ctx.report(Error(Errc::InvalidArgument, p, "expected NAME=VALUE"));
      options.properties.emplace_back(p.substr(0, eq), p.substr(eq + 1));
    }
    auto pool = Pool::create(target, options);
    if (!pool) return ctx.report(pool.error());
    auto closed = (*pool)->close();
    if (!closed) return ctx.report(closed.error());
    ctx.print({{"pool", target}, {"created", true}, {"volumes", options.volumes.size()}},
              options.volumes.empty()
                  ? fmt::format("created pool {}", target)
                  : fmt::format("created pool {} with {} volume file(s)", target, options.volumes.size()));
    return static_cast<int>(k_exit_ok);
  };
}

Runner setup_import(CLI::App& app) {
  auto host = std::make_shared<std::string>();
  auto dest = std::make_shared<std::string>("/");
  app.add_option("hostdir", *host, "Host directory (or file) to copy in")->required();
  app.add_option("dest", *dest, "Where in the pool (default /): its contents land there");
  return [=](Context& ctx) {
    return with_target(ctx, *dest, [&](Fs& fs, const std::string& p) -> Result<void> {
      Progress progress(ctx, "importing");
      auto counts = import_tree(*host, fs, p, std::ref(progress), warner(ctx));
      progress.done();
      if (!counts) return std::unexpected(counts.error());
      ctx.print(counts_json(*counts), fmt::format("imported {} files, {} dirs, {} symlinks, {} hard links, {}",
                                                  counts->files, counts->dirs, counts->symlinks, counts->hardlinks,
                                                  human_bytes(counts->bytes)));
      return {};
    });
  };
}

Runner setup_export(CLI::App& app) {
  auto src = std::make_shared<std::string>();
  auto host = std::make_shared<std::string>();
  app.add_option("src", *src, "Location in the pool to copy out")->required();
  app.add_option("hostdir", *host, "Host directory to create or fill")->required();
  return [=](Context& ctx) {
    return with_target(ctx, *src, [&](Fs& fs, const std::string& p) -> Result<void> {
      Progress progress(ctx, "exporting");
      auto counts = export_tree(fs, p, *host, std::ref(progress), warner(ctx));
      progress.done();
      if (!counts) return std::unexpected(counts.error());
      ctx.print(counts_json(*counts), fmt::format("exported {} files, {} dirs, {} symlinks, {} hard links, {}",
                                                  counts->files, counts->dirs, counts->symlinks, counts->hardlinks,
                                                  human_bytes(counts->bytes)));
      return {};
    });
  };
}

Runner setup_get(CLI::App& app) {
  auto src = std::make_shared<std::string>();
  auto dest = std::make_shared<std::string>();
  app.add_option("path", *src, "File in the pool")->required();
  app.add_option("hostfile", *dest, "Host file to write, or - for standard output")->required();
  return [=](Context& ctx) {
    return with_target(ctx, *src, [&](Fs& fs, const std::string& p) -> Result<void> {
      if (*dest == "-") {
        ANYFS_CHECK(copy_out(fs, p, std::cout));
        std::cout.flush();
        return {};
      }
      std::ofstream out(*dest, std::ios::binary | std::ios::trunc);
      if (!out) return fail(Errc::Io, *dest, "cannot write the host file");
      ANYFS_CHECK(copy_out(fs, p, out));
      out.close();
      if (!out) return fail(Errc::Io, *dest, "writing the host file failed");
      return {};
    });
  };
}

Runner setup_cp(CLI::App& app) {
  auto from = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  app.add_option("from", *from, "Existing file")->required();
  app.add_option("to", *to, "New file: shares every chunk with `from` (a reflink)")->required();
  return [=](Context& ctx) {
    auto a = ctx.at(*from);
    if (!a) return ctx.report(a.error());
    auto b = ctx.at(*to);
    if (!b) return ctx.report(b.error());
    auto* ds = dynamic_cast<Dataset*>(a->fs.get());
    if (a->fs != b->fs) return ctx.report(Error(Errc::CrossDevice, *to, "the two paths are in different datasets"));
    Result<void> r = ds ? ds->reflink(a->path, b->path)
                        : fail(Errc::Unsupported, *from, "cp is a reflink inside a pool (without --deny/--trace layers)");
    if (!r) return ctx.report(r.error());
    ctx.print({{"from", *from}, {"to", *to}, {"reflink", true}}, "");
    return static_cast<int>(k_exit_ok);
  };
}

Result<void> usage(Fs& fs, const std::string& p, std::uint64_t& bytes, std::uint64_t& blocks, std::uint64_t& files) {
  Stat st = ANYFS_TRY(fs.lstat(p));
  files++;
  if (st.kind == FileKind::Regular) bytes += st.size, blocks += st.blocks;
  if (st.kind == FileKind::Directory)
    for (const auto& e : ANYFS_TRY(fs.read_dir(p))) ANYFS_CHECK(usage(fs, path::child(p, e.name), bytes, blocks, files));
  return {};
}

Runner setup_du(CLI::App& app) {
  auto paths = std::make_shared<std::vector<std::string>>();
  app.add_option("paths", *paths, "Locations to sum (default /)");
  return [=](Context& ctx) {
    std::vector<std::string> list = paths->empty() ? std::vector<std::string>{"/"} : *paths;
    nlohmann::json out = nlohmann::json::array();
    std::string human;
    for (const auto& location : list) {
      int code = with_target(ctx, location, [&](Fs& fs, const std::string& p) -> Result<void> {
        std::uint64_t bytes = 0, blocks = 0, files = 0;
        ANYFS_CHECK(usage(fs, p, bytes, blocks, files));
        out.push_back({{"path", location}, {"bytes", bytes}, {"allocated", blocks * 512}, {"objects", files}});
        human += fmt::format("{:>12} {}\n", human_bytes(bytes), location);
        return {};
      });
      if (code != k_exit_ok) return code;
    }
    ctx.print(out, human);
    return static_cast<int>(k_exit_ok);
  };
}

Runner setup_info(CLI::App&) {
  return [](Context& ctx) {
    return with_pool(ctx, [&](Pool& pool) -> Result<void> {
      PoolStats s = ANYFS_TRY(pool.stats());
      nlohmann::json j = {{"pool", pool.path()},
                          {"datasets", s.datasets},
                          {"files", s.files},
                          {"logical_bytes", s.logical_bytes},
                          {"referenced_bytes", s.referenced_bytes},
                          {"history_bytes", s.history_bytes},
                          {"snapshots", s.snapshots},
                          {"chunks", s.chunks},
                          {"chunk_raw_bytes", s.chunk_raw_bytes},
                          {"chunk_stored_bytes", s.chunk_stored_bytes},
                          {"unreferenced_chunks", s.unreferenced_chunks},
                          {"file_bytes", s.file_bytes},
                          {"free_bytes", s.free_bytes},
                          {"dedup_ratio", s.dedup_ratio()},
                          {"compression_ratio", s.compression_ratio()},
                          {"last_tid", s.last_tid}};
      ctx.print(j, fmt::format("pool         {}\n"
                               "files        {} in {} dataset(s)\n"
                               "logical      {}\n"
                               "history      {} held only by {} snapshot(s) and history\n"
                               "chunks       {} ({} raw, {} stored)\n"
                               "dedup        {:.2f}x\n"
                               "compression  {:.2f}x\n"
                               "on disk      {}\n"
                               "free inside  {} (reused by new data; compact returns it)\n"
                               "unreferenced {} chunk(s)\n"
                               "last TID     {}",
                               pool.path(), s.files, s.datasets, human_bytes(s.logical_bytes),
                               human_bytes(s.history_bytes), s.snapshots, s.chunks,
                               human_bytes(s.chunk_raw_bytes), human_bytes(s.chunk_stored_bytes), s.dedup_ratio(),
                               s.compression_ratio(), human_bytes(s.file_bytes), human_bytes(s.free_bytes), s.unreferenced_chunks, s.last_tid));
      return {};
    });
  };
}

Runner setup_verify(CLI::App& app) {
  auto quick = std::make_shared<bool>(false);
  app.add_flag("--quick", *quick, "Check records only, without reading every chunk");
  return [=](Context& ctx) {
    auto pool = ctx.pool();
    if (!pool) return ctx.report(pool.error());
    auto report = (*pool)->verify({.read_chunks = !*quick});
    if (!report) return ctx.report(report.error());
    nlohmann::json j = {{"ok", report->ok()},           {"page_checksums", report->page_checksums},
                        {"pages", report->pages}, {"wal_frames", report->wal_frames},       {"inodes", report->inodes},
                        {"dirents", report->dirents},   {"extents", report->extents},
                        {"chunks", report->chunks},     {"chunk_bytes_read", report->chunk_bytes_read},
                        {"problems", report->problems}};
    std::string human = fmt::format("checked {} pages, {} inodes, {} entries, {} extents, {} chunks ({} read)\n",
                                    report->pages, report->inodes,
                                    report->dirents, report->extents, report->chunks,
                                    human_bytes(report->chunk_bytes_read));
    if (!report->page_checksums)
      human += "note: the pool's pages carry no checksums (made before them); `anyfs compact` adds them\n";
    for (const auto& p : report->problems) human += "DAMAGE: " + p + "\n";
    human += report->ok() ? "ok" : fmt::format("{} problem(s) found", report->problems.size());
    ctx.print(j, human);
    return report->ok() ? static_cast<int>(k_exit_ok) : static_cast<int>(k_exit_corrupt);
  };
}

Runner setup_gc(CLI::App& app) {
  auto grace = std::make_shared<std::int64_t>(3600);
  app.add_option("--grace", *grace, "Keep chunks unreferenced for less than this many seconds")->default_str("3600");
  return [=](Context& ctx) {
    return with_pool(ctx, [&](Pool& pool) -> Result<void> {
      GcReport r = ANYFS_TRY(pool.gc({.grace_seconds = *grace}));
      ctx.print({{"chunks_removed", r.chunks_removed},
                 {"bytes_freed", r.bytes_freed},
                 {"orphans_removed", r.orphans_removed},
                 {"chunks_waiting", r.chunks_waiting}},
                fmt::format("removed {} chunk(s) and {} orphan(s), freed {}; {} waiting for the grace period",
                            r.chunks_removed, r.orphans_removed, human_bytes(r.bytes_freed), r.chunks_waiting));
      return {};
    });
  };
}

Runner setup_compact(CLI::App&) {
  return [](Context& ctx) {
    return with_pool(ctx, [&](Pool& pool) -> Result<void> {
      CompactReport r = ANYFS_TRY(pool.compact());
      ctx.print({{"bytes_before", r.bytes_before},
                 {"bytes_after", r.bytes_after},
                 {"page_checksums_added", r.page_checksums_added}},
                fmt::format("{} -> {}{}", human_bytes(r.bytes_before), human_bytes(r.bytes_after),
                            r.page_checksums_added ? "; every page now carries a checksum" : ""));
      return {};
    });
  };
}

Runner setup_property(CLI::App& app) {
  auto action = std::make_shared<std::string>();
  auto args = std::make_shared<std::vector<std::string>>();
  auto dataset = std::make_shared<std::string>();
  app.add_option("action", *action, "get NAME | set NAME=VALUE | inherit NAME | list")
      ->required()
      ->check(CLI::IsMember({"get", "set", "inherit", "list"}));
  app.add_option("args", *args, "NAME (get, inherit) or NAME=VALUE (set)");
  app.add_option("-d,--dataset", *dataset, "Dataset (default: the root dataset)");
  return [=](Context& ctx) {
    return with_pool(ctx, [&](Pool& pool) -> Result<void> {
      if (*action == "list") {
        nlohmann::json out = nlohmann::json::array();
        std::string human;
        for (const auto& p : ANYFS_TRY(pool.properties(*dataset))) {
          out.push_back({{"name", p.name}, {"value", p.value}, {"source", p.source}});
          human += fmt::format("{:<12} {:<10} {}\n", p.name, p.value, p.source);
        }
        ctx.print(out, human);
        return {};
      }
      if (args->size() != 1)
        return fail(Errc::InvalidArgument, "", "property get NAME | set NAME=VALUE | inherit NAME | list");
      if (*action == "inherit") {
        ANYFS_CHECK(pool.inherit_property(*dataset, args->front()));
        for (const auto& p : ANYFS_TRY(pool.properties(*dataset)))
          if (p.name == args->front()) ctx.print({{"name", p.name}, {"value", p.value}, {"source", p.source}}, "");
        return {};
      }
      if (*action == "get") {
        for (const auto& p : ANYFS_TRY(pool.properties(*dataset)))
          if (p.name == args->front()) {
            ctx.print({{"name", p.name}, {"value", p.value}, {"source", p.source}}, p.value);
            return {};
          }
        return std::unexpected(pool.get_property(*dataset, args->front()).error());
      }
      auto eq = args->front().find('=');
      if (eq == std::string::npos) return fail(Errc::InvalidArgument, args->front(), "expected NAME=VALUE");
      std::string name = args->front().substr(0, eq);
      ANYFS_CHECK(pool.set_property(*dataset, name, args->front().substr(eq + 1)));
      std::string value = ANYFS_TRY(pool.get_property(*dataset, name));
      ctx.print({{"name", name}, {"value", value}, {"source", "local"}}, "");
      return {};
    });
  };
}

}  // namespace

const std::vector<Command>& pool_commands() {
  // property and gc/compact write; "property get/list" still open writable — simple and rare.
  static const std::vector<Command> k_commands = {
      {"init", "Create a pool file: init POOL [-o NAME=VALUE] [--volume PATH[:SIZE]]...", Access::Write, setup_init},
      {"import", "Copy a host directory into the pool: import HOSTDIR [DEST]", Access::Write, setup_import},
      {"export", "Copy a pool location out to a host directory: export SRC HOSTDIR", Access::Read, setup_export},
      {"get", "Copy a file out: get PATH HOSTFILE|-", Access::Read, setup_get},
      {"cp", "Copy a file without copying data (a reflink)", Access::Write, setup_cp},
      {"du", "Sum the sizes under locations", Access::Read, setup_du},
      {"info", "Show pool figures: files, bytes, chunks, dedup and compression", Access::Read, setup_info},
      {"verify", "Check every invariant and every chunk; exit 6 on damage", Access::Read, setup_verify},
      {"gc", "Remove chunks nothing references (after a grace period)", Access::Write, setup_gc},
      {"compact", "Rewrite the pool file to its smallest size (and add page checksums to an old pool)", Access::Write, setup_compact},
      {"property", "Get, set or list dataset properties", Access::Write, setup_property},
  };
  return k_commands;
}

}  // namespace anyfs::cli
