// The anyfs command: global options, then one subcommand from the table.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "context.h"

#ifndef ANYFS_VERSION
#define ANYFS_VERSION "0.0.0"
#endif

namespace anyfs::cli {
namespace {

constexpr const char* k_footer = R"(Exit codes: 0 ok, 1 failure, 2 usage error, 3 not found (or no longer kept),
4 exists, 5 denied (read-only, permission), 6 corrupt or I/O error, 7 busy (another writer,
open files, children, newer snapshots or clones in the way). See docs/CLI.md.)";

int run(int argc, char** argv) {
  CLI::App app{
      "anyfs: a filesystem in a file, with dedup, compression and checksums.\n"
      "Commands work on a pool (-p POOL or ANYFS_POOL; create one with `anyfs init POOL`)\n"
      "or on a host directory (--host DIR), confined so that no path or symlink leaves it.\n"
      "Locations in a pool: /path (root dataset), DATASET:/path, and the read-only past:\n"
      "DATASET@SNAP:/path, @SNAP:/path (a snapshot of the root dataset), or --at TID|TIME.",
      "anyfs"};
  app.set_version_flag("--version", std::string("anyfs ") + ANYFS_VERSION);
  app.footer(k_footer);
  app.require_subcommand(1);
  GlobalOptions options;
  app.add_flag("--json", options.json, "Print results (and errors, on stderr) as JSON");
  // ANYFS_POOL is read after parsing: an explicit --host must win over it.
  auto* pool_option = app.add_option("-p,--pool", options.pool_path, "Pool file to work on (default: $ANYFS_POOL)");
  app.add_option("--at", options.at,
                 "Read locations as of a TID or a time: 2026-11-22T10:00:00.5Z, 2026-11-22 10:00+01:00, "
                 "@UNIXSECONDS, 90 seconds ago, 2 hours ago, yesterday; needs history or a snapshot there");
  auto* host_option = app.add_option("--host", options.host_root,
                                     "Host directory to work in (the root of the tree); wins over ANYFS_POOL");
  pool_option->excludes(host_option);
  app.add_flag("--read-only", options.read_only, "Refuse every change");
  app.add_option("--deny", options.denied, "Hide paths matching this glob (repeatable)");
  app.add_option("--trace", options.trace_file, "Append a JSON line per filesystem call to this file");
  app.add_option("--cache", options.cache_bytes,
                 "Memory for decoded chunks, e.g. 256M or 2G; 0 turns the cache off (default: 1/16 of the "
                 "memory the process may use, 32M..4G)")
      ->check(CLI::Validator(
          [](std::string& text) { return text.starts_with('-') ? std::string("a size cannot be negative") : std::string(); },
          "SIZE"))
      ->transform(CLI::AsSizeValue(false));

  std::function<int(Context&)> chosen;
  Access access = Access::Read;
  for (const auto* table : {&pool_commands(), &dataset_commands(), &history_commands(), &file_commands(), &mount_commands(),
                            &volume_commands(), &upkeep_commands(), &replication_commands(), &mirror_commands()}) {
    for (const Command& command : *table) {
      CLI::App* sub = app.add_subcommand(command.name, command.summary);
      sub->fallthrough();
      sub->footer(k_footer);
      auto runner = command.setup(*sub);
      Access a = command.access;
      sub->callback([&chosen, &access, runner, a] {
        chosen = runner;
        access = a;
      });
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? k_exit_ok : k_exit_usage;
  }
  if (options.pool_path.empty() && options.host_root.empty())
    if (const char* env = std::getenv("ANYFS_POOL"); env != nullptr) options.pool_path = env;
  Context ctx(options, access);
  return ctx.finish(chosen(ctx));
}

}  // namespace
}  // namespace anyfs::cli

int main(int argc, char** argv) {
  try {
    return anyfs::cli::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "anyfs: internal error: " << e.what() << '\n';
    return anyfs::cli::k_exit_failure;
  }
}
