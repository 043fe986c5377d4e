// What every command gets: the Fs to work on (built from the global options),
// the output mode, and one way to report results and errors.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "anyfs/fs.h"

namespace anyfs::cli {

// Exit codes (documented in docs/CLI.md; stable for scripts).
enum ExitCode : int {
  k_exit_ok = 0,
  k_exit_failure = 1,    // any other error
  k_exit_usage = 2,      // bad arguments
  k_exit_not_found = 3,  // Errc::NotFound
  k_exit_exists = 4,     // Errc::Exists
  k_exit_denied = 5,     // Errc::ReadOnly, Permission, NotPermitted
  k_exit_corrupt = 6,    // Errc::Corrupt, Io
};

int exit_code_for(Errc code);

struct GlobalOptions {
  bool json = false;
  std::string host_root;            // --host DIR
  bool read_only = false;           // --read-only
  std::vector<std::string> denied;  // --deny GLOB
  std::string trace_file;           // --trace FILE
};

class Context {
 public:
  explicit Context(const GlobalOptions& options) : options_(options) {}

  bool json() const { return options_.json; }

  // The Fs the command works on: HostFs over --host, wrapped in the layers the
  // global options ask for. Fails with a usage error if --host is missing.
  Result<std::shared_ptr<Fs>> fs();

  // Prints a result: `value` as JSON with --json, else `human`.
  void print(const nlohmann::json& value, const std::string& human);

  // Reports an error on stderr (as JSON with --json) and returns its exit code.
  int report(const Error& error);

 private:
  const GlobalOptions& options_;
  std::shared_ptr<Fs> fs_;
  std::unique_ptr<std::ostream> trace_out_;
};

// One subcommand: its name, summary, how it adds its options, and what it runs.
struct Command {
  const char* name;
  const char* summary;
  // Adds the command's options to `app`; returns the function that runs it.
  std::function<std::function<int(Context&)>(CLI::App& app)> setup;
};

// The table of file commands (cli/file_commands.cc).
const std::vector<Command>& file_commands();

}  // namespace anyfs::cli
