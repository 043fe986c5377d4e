#include "context.h"

#include <fmt/format.h>

#include <fstream>
#include <iostream>

#include "anyfs/host_fs.h"
#include "anyfs/layers/path_filter.h"
#include "anyfs/layers/read_only.h"
#include "anyfs/layers/tracing.h"

namespace anyfs::cli {

int exit_code_for(Errc code) {
  switch (code) {
    case Errc::NotFound: return k_exit_not_found;
    case Errc::Exists: return k_exit_exists;
    case Errc::ReadOnly:
    case Errc::Permission:
    case Errc::NotPermitted: return k_exit_denied;
    case Errc::Corrupt:
    case Errc::Io: return k_exit_corrupt;
    case Errc::InvalidPath:
    case Errc::InvalidArgument:
    case Errc::NameTooLong: return k_exit_usage;
    default: return k_exit_failure;
  }
}

Result<std::shared_ptr<Fs>> Context::fs() {
  if (fs_) return fs_;
  if (options_.host_root.empty())
    return fail(Errc::InvalidArgument, "", "this command needs --host DIR (the directory to work in)");
  std::shared_ptr<Fs> fs = ANYFS_TRY(open_host_fs(options_.host_root));
  if (!options_.denied.empty()) {
    PathFilterOptions filter;
    for (const auto& glob : options_.denied) filter.rules.push_back({FilterAction::Deny, glob});
    fs = ANYFS_TRY(make_path_filter(fs, filter));
  }
  if (options_.read_only) fs = make_read_only(fs);
  if (!options_.trace_file.empty()) {
    trace_out_ = std::make_unique<std::ofstream>(options_.trace_file, std::ios::app);
    if (!*trace_out_) return fail(Errc::Io, options_.trace_file, "cannot open the trace file");
    fs = make_tracing(fs, make_stream_trace_sink(*trace_out_));
  }
  fs_ = fs;
  return fs_;
}

void Context::print(const nlohmann::json& value, const std::string& human) {
  if (json())
    std::cout << value.dump() << '\n';
  else if (!human.empty())
    std::cout << human << (human.back() == '\n' ? "" : "\n");
}

int Context::report(const Error& error) {
  if (json()) {
    nlohmann::json j = {{"error",
                         {{"code", errc_name(error.code)},
                          {"errno", to_errno(error.code)},
                          {"path", error.path},
                          {"message", error.message}}}};
    std::cerr << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  } else {
    std::cerr << "anyfs: " << error.to_string() << '\n';
  }
  return exit_code_for(error.code);
}

}  // namespace anyfs::cli
