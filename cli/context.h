// What every command gets: the Fs to work on (built from the global options),
// the output mode, and one way to report results and errors.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "anyfs/fs.h"
#include "anyfs/pool.h"

namespace CLI {
class App;
}  // namespace CLI

namespace anyfs::cli {

// Exit codes (documented in docs/CLI.md; stable for scripts).
enum ExitCode : int {
  k_exit_ok = 0,
  k_exit_failure = 1,    // any other error
  k_exit_usage = 2,      // bad arguments
  k_exit_not_found = 3,  // Errc::NotFound
  k_exit_exists = 4,     // Errc::Exists
  k_exit_denied = 5,     // Errc::ReadOnly, Permission, NotPermitted
  k_exit_corrupt = 6,    // Errc::Corrupt, Io; verify found damage
  k_exit_busy = 7,       // Errc::Busy: another process writes the pool
};

int exit_code_for(Errc code);

struct GlobalOptions {
  bool json = false;
  std::string pool_path;            // -p POOL (or ANYFS_POOL)
  std::string at;                   // --at TID|TIME
  std::string host_root;            // --host DIR
  bool read_only = false;           // --read-only
  std::vector<std::string> denied;  // --deny GLOB
  std::string trace_file;           // --trace FILE
  std::optional<std::uint64_t> cache_bytes;  // --cache SIZE
};

// Whether a command changes what it works on: reading commands open a pool
// read-only, so they work beside a writer.
enum class Access { Read, Write };

// A location resolved for a command: the Fs it lives in and the path inside.
struct Target {
  std::shared_ptr<Fs> fs;
  std::string path;
};

class Context {
 public:
  Context(const GlobalOptions& options, Access access) : options_(options), access_(access) {}

  bool json() const { return options_.json; }
  bool writes() const { return access_ == Access::Write; }
  // A command that writes only for some of its actions reads for this one:
  // its pool opens read-only (beside a writer). Before pool() is first called.
  void reads_only() { access_ = Access::Read; }
  bool read_only() const { return options_.read_only; }
  // --at as given ("" when absent).
  const std::string& as_of_text() const { return options_.at; }

  // The Fs of a location (docs/CLI.md, "Locations"): with a pool, `/path`,
  // `DATASET:/path`, `DATASET@SNAP:/path`, `@SNAP:/path`; with --host, a path.
  // Wrapped in the layers the global options ask for.
  Result<Target> at(std::string_view location);
  // The root dataset's Fs (or the host directory's).
  Result<std::shared_ptr<Fs>> fs();

  // The pool named by -p / ANYFS_POOL, opened on first use (read-only for
  // reading commands). Errors: InvalidArgument without -p.
  Result<std::shared_ptr<Pool>> pool();
  const std::string& pool_path() const { return options_.pool_path; }
  // How a pool is opened for this command: read-only or not, the cache asked for.
  PoolOpenOptions open_options(bool read_only) const {
    PoolOpenOptions open;
    open.read_only = read_only;
    open.cache_bytes = options_.cache_bytes;
    return open;
  }

  // Ends the command: a writing command commits and closes its pool (an error
  // there turns success into failure). Returns the final exit code.
  int finish(int code);

  // Prints a result: `value` as JSON with --json, else `human`.
  void print(const nlohmann::json& value, const std::string& human);

  // Reports an error on stderr (as JSON with --json) and returns its exit code.
  int report(const Error& error);

 private:
  Result<std::shared_ptr<Fs>> wrap(std::shared_ptr<Fs> fs);

  const GlobalOptions& options_;
  Access access_;
  std::shared_ptr<Pool> pool_;
  std::map<std::string, std::shared_ptr<Fs>> datasets_;
  std::shared_ptr<Fs> fs_;
  std::unique_ptr<std::ostream> trace_out_;
};

// One subcommand: its name, summary, how it adds its options, and what it runs.
struct Command {
  const char* name;
  const char* summary;
  Access access;
  // Adds the command's options to `app`; returns the function that runs it.
  std::function<std::function<int(Context&)>(CLI::App& app)> setup;
};

// The table of file commands (cli/file_commands.cc).
const std::vector<Command>& file_commands();
// The pool commands (cli/pool_commands.cc).
const std::vector<Command>& pool_commands();
// Snapshots, bookmarks, rollback, diff, history, log, prune (cli/history_commands.cc).
const std::vector<Command>& history_commands();
// dataset create|list|destroy|rename (cli/dataset_commands.cc).
const std::vector<Command>& dataset_commands();
// mount, unmount (cli/mount_commands.cc).
const std::vector<Command>& mount_commands();
// volume add|list|remove|move|replace (cli/volume_commands.cc).
const std::vector<Command>& volume_commands();
// scrub, status (cli/upkeep_commands.cc).
const std::vector<Command>& upkeep_commands();
// send, receive (cli/replication_commands.cc).
const std::vector<Command>& replication_commands();
// mirror (cli/mirror_command.cc).
const std::vector<Command>& mirror_commands();
// "PATH[:SIZE]" (SIZE such as 512M or 10G, at least 1M) as a volume to make.
Result<VolumeSpec> parse_volume_spec(const std::string& text);

// Runs `body` on the pool; an Error becomes a report and exit code.
template <class F>
int with_pool(Context& ctx, F&& body) {
  auto pool = ctx.pool();
  if (!pool) return ctx.report(pool.error());
  Result<void> r = body(**pool);
  return r ? k_exit_ok : ctx.report(r.error());
}

// Runs `body` on the Fs of `location`; an Error becomes a report and exit code.
template <class F>
int with_target(Context& ctx, std::string_view location, F&& body) {
  auto target = ctx.at(location);
  if (!target) return ctx.report(target.error());
  Result<void> r = body(*target->fs, target->path);
  return r ? k_exit_ok : ctx.report(r.error());
}

}  // namespace anyfs::cli
