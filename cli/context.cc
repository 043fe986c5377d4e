#include "context.h"

#include <fmt/format.h>

#include <fstream>
#include <iostream>

#include "anyfs/host_fs.h"
#include "anyfs/layers/path_filter.h"
#include "anyfs/layers/read_only.h"
#include "anyfs/layers/tracing.h"
#include "pool/location.h"

namespace anyfs::cli {

int exit_code_for(Errc code) {
  switch (code) {
    case Errc::NotFound:
    case Errc::NoData: return k_exit_not_found;
    case Errc::Exists: return k_exit_exists;
    case Errc::ReadOnly:
    case Errc::Permission:
    case Errc::NotPermitted: return k_exit_denied;
    case Errc::Corrupt:
    case Errc::Io: return k_exit_corrupt;
    case Errc::InvalidPath:
    case Errc::InvalidArgument:
    case Errc::NameTooLong: return k_exit_usage;
    case Errc::Busy: return k_exit_busy;
    default: return k_exit_failure;
  }
}

Result<std::shared_ptr<Pool>> Context::pool() {
  if (pool_) return pool_;
  if (options_.pool_path.empty())
    return fail(Errc::InvalidArgument, "", "this command needs a pool: -p POOL or ANYFS_POOL");
  pool_ = ANYFS_TRY(Pool::open(options_.pool_path, open_options(!writes() || options_.read_only)));
  return pool_;
}

Result<Target> Context::at(std::string_view location) {
  if (options_.pool_path.empty()) {
    if (!location.empty() && location.front() != '/')
      return fail(Errc::InvalidArgument, std::string(location),
                  "a location naming a dataset or snapshot needs a pool (-p POOL)");
    return Target{ANYFS_TRY(fs()), std::string(location)};
  }
  Location loc = ANYFS_TRY(parse_location(location));
  if (loc.snapshot && !options_.at.empty())
    return fail(Errc::InvalidArgument, std::string(location), "a snapshot location and --at name two points in time");
  std::optional<AsOf> as_of;
  if (loc.snapshot) as_of = AsOf::at_snapshot(*loc.snapshot);
  if (!options_.at.empty()) as_of = ANYFS_TRY(parse_as_of(options_.at));
  std::string key = loc.dataset + (loc.snapshot ? "@" + *loc.snapshot : as_of ? "@--at" : "");
  auto it = datasets_.find(key);
  if (it == datasets_.end()) {
    auto pool = ANYFS_TRY(this->pool());
    std::shared_ptr<Fs> ds = as_of ? std::shared_ptr<Fs>(ANYFS_TRY(pool->dataset_at(loc.dataset, *as_of)))
                                   : std::shared_ptr<Fs>(ANYFS_TRY(pool->dataset(loc.dataset)));
    it = datasets_.emplace(key, ANYFS_TRY(wrap(ds))).first;
  }
  return Target{it->second, loc.path};
}

int Context::finish(int code) {
  if (pool_) {
    auto closed = pool_->close();
    datasets_.clear();
    pool_.reset();
    if (!closed && code == k_exit_ok) return report(closed.error());
  }
  return code;
}

Result<std::shared_ptr<Fs>> Context::fs() {
  if (fs_) return fs_;
  if (!options_.pool_path.empty()) {
    fs_ = ANYFS_TRY(at("/")).fs;
    return fs_;
  }
  if (options_.host_root.empty())
    return fail(Errc::InvalidArgument, "", "this command needs a pool (-p POOL) or --host DIR");
  fs_ = ANYFS_TRY(wrap(ANYFS_TRY(open_host_fs(options_.host_root))));
  return fs_;
}

Result<std::shared_ptr<Fs>> Context::wrap(std::shared_ptr<Fs> fs) {
  if (!options_.denied.empty()) {
    PathFilterOptions filter;
    for (const auto& glob : options_.denied) filter.rules.push_back({FilterAction::Deny, glob});
    fs = ANYFS_TRY(make_path_filter(fs, filter));
  }
  if (options_.read_only) fs = make_read_only(fs);
  if (!options_.trace_file.empty()) {
    if (!trace_out_) trace_out_ = std::make_unique<std::ofstream>(options_.trace_file, std::ios::app);
    if (!*trace_out_) return fail(Errc::Io, options_.trace_file, "cannot open the trace file");
    fs = make_tracing(fs, make_stream_trace_sink(*trace_out_));
  }
  return fs;
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
