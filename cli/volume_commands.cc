// volume add|list|remove|move|replace: the volume files of a pool
// (docs/CLI.md, "Volumes").
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cctype>
#include <filesystem>

#include "context.h"
#include "control.h"
#include "format.h"
#include "progress.h"

namespace anyfs::cli {

Result<VolumeSpec> parse_volume_spec(const std::string& text) {
  VolumeSpec spec{text, 0};
  const auto colon = text.rfind(':');
  if (colon != std::string::npos && colon + 1 < text.size()) {
    const std::string size = text.substr(colon + 1);
    std::size_t digits = 0;
    while (digits < size.size() && std::isdigit(static_cast<unsigned char>(size[digits]))) ++digits;
    std::string unit = size.substr(digits);
    for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (unit.ends_with("IB")) unit.resize(unit.size() - 2);
    else if (unit.size() > 1 && unit.ends_with("B")) unit.pop_back();
    const std::string units = "KMGTP";
    const bool is_size = digits > 0 && digits <= 15 && (unit.empty() || (unit.size() == 1 && units.find(unit[0]) != std::string::npos));
    if (is_size) {
      std::uint64_t bytes = std::stoull(size.substr(0, digits));
      if (!unit.empty())
        for (std::size_t k = 0; k <= units.find(unit[0]); ++k) bytes *= 1024;
      if (bytes < (1u << 20))
        return fail(Errc::InvalidArgument, text, "a volume's size must be at least 1M (or none: it grows as it needs)");
      spec.path = text.substr(0, colon);
      spec.cap_bytes = bytes;
    }
  }
  if (spec.path.empty()) return fail(Errc::InvalidArgument, text, "a volume needs a path: PATH[:SIZE]");
  return spec;
}

nlohmann::json volume_status_json(const VolumeStatus& v);  // upkeep_commands.cc

nlohmann::json drain_json(const EvacuationReport& e) {
  return {{"path", e.path},           {"onto", e.onto},           {"state", e.state},
          {"chunks_total", e.chunks_total}, {"chunks_moved", e.chunks_moved}, {"bytes_moved", e.bytes_moved},
          {"chunks_left", e.chunks_left}, {"seconds", e.seconds},   {"resumed", e.resumed}};
}

namespace {

EvacuationReport drain_from_json(const nlohmann::json& j) {
  EvacuationReport e;
  e.path = j.value("path", "");
  e.onto = j.value("onto", "");
  e.state = j.value("state", "");
  e.chunks_total = j.value("chunks_total", std::uint64_t{0});
  e.chunks_moved = j.value("chunks_moved", std::uint64_t{0});
  e.bytes_moved = j.value("bytes_moved", std::uint64_t{0});
  e.chunks_left = j.value("chunks_left", std::uint64_t{0});
  e.seconds = j.value("seconds", 0.0);
  e.resumed = j.value("resumed", false);
  return e;
}

std::string drain_line(const EvacuationReport& e) {
  const double rate = e.seconds > 0 ? static_cast<double>(e.bytes_moved) / e.seconds : 0;
  return fmt::format("draining {}{}: {} of {} chunk copies moved ({}, {}/s), {} left", e.path,
                     e.onto.empty() ? "" : " onto " + e.onto, e.chunks_moved, e.chunks_total,
                     human_bytes(e.bytes_moved), human_bytes(static_cast<std::uint64_t>(rate)), e.chunks_left);
}

// remove OLD [--abort] | move OLD NEW[:SIZE] | replace OLD NEW[:SIZE], in
// this process (`pool`) or, when `pool` is null, by the mount daemon holding
// the pool (nullopt when there is none).
Result<std::optional<EvacuationReport>> drain_run(Context& ctx, Pool* pool, const std::string& action,
                                                  const std::vector<std::string>& args, bool abort) {
  const std::size_t want = action == "remove" ? 1 : 2;
  if (args.size() != want || (abort && action != "remove"))
    return fail(Errc::InvalidArgument, "",
                action == "remove" ? "volume remove PATH [--abort]" : fmt::format("volume {} OLD NEW[:SIZE]", action));
  RemoveVolumeOptions options;
  options.abort = abort;
  if (want == 2) {
    const VolumeSpec to = ANYFS_TRY(parse_volume_spec(args[1]));
    options.to = to.path;
    options.to_cap_bytes = to.cap_bytes;
  }
  StopOnSignals signals;
  ProgressLine line(ctx);
  if (pool == nullptr) {
    // Paths as this process sees them: the daemon runs in /.
    std::error_code ec;
    const std::string from = std::filesystem::absolute(args[0], ec).string();
    const std::string to = options.to.empty() ? "" : std::filesystem::absolute(options.to, ec).string();
    auto answer = ANYFS_TRY(ask_daemon(
        ctx.pool_path(),
        {{"op", "volume-remove"}, {"path", from}, {"to", to}, {"to_cap_bytes", options.to_cap_bytes}, {"abort", abort}},
        [&](const nlohmann::json& p) { line.show(drain_line(drain_from_json(p))); }, signals.request(), nullptr));
    line.done();
    if (!answer) return std::optional<EvacuationReport>();
    return std::optional<EvacuationReport>(drain_from_json(*answer));
  }
  options.stop = signals.request();
  options.progress = [&](const EvacuationReport& e) { line.show(drain_line(e)); };
  const EvacuationReport report = ANYFS_TRY(pool->remove_volume(args[0], options));
  line.done();
  return std::optional<EvacuationReport>(report);
}

void print_drain(Context& ctx, const EvacuationReport& report, const std::string& action,
                 const std::vector<std::string>& args) {
  std::string human;
  if (report.state == "removed")
    human = fmt::format("removed volume {}: {} chunk copies moved{} ({}) in {:.1f} s", report.path, report.chunks_moved,
                        report.onto.empty() ? "" : " onto " + report.onto, human_bytes(report.bytes_moved),
                        report.seconds);
  else if (report.state == "aborted")
    human = fmt::format("drain of {} aborted: it takes new chunks again ({} copies left on it; `anyfs gc` "
                        "reclaims those moved off)",
                        report.path, report.chunks_left);
  else
    human = drain_line(report) + fmt::format("\nstopped: `anyfs -p {} volume {} {}` goes on from here",
                                             ctx.pool_path(), action, fmt::join(args, " "));
  ctx.print(drain_json(report), human);
}

std::function<int(Context&)> setup_volume(CLI::App& app) {
  auto action = std::make_shared<std::string>();
  auto args = std::make_shared<std::vector<std::string>>();
  auto abort = std::make_shared<bool>(false);
  app.add_option("action", *action,
                 "add PATH[:SIZE]... (new volume files; SIZE caps one, e.g. 10G) | list | remove PATH (drain it "
                 "onto the others, then delete it) | move OLD NEW[:SIZE] (drain onto a new file) | replace OLD "
                 "NEW[:SIZE] (the same, for a missing or failing volume: rebuilt from the other copies)")
      ->required()
      ->check(CLI::IsMember({"add", "list", "remove", "move", "replace"}));
  app.add_option("args", *args, "the volumes, as the action says");
  app.add_flag("--abort", *abort, "remove: end a drain under way; the volume takes new chunks again");
  return [=](Context& ctx) -> int {
    if (*action == "list") ctx.reads_only();
    const bool drains = *action == "remove" || *action == "move" || *action == "replace";
    if (drains && !ctx.pool_path().empty()) {
      // A pool mounted writable is drained by its mount daemon.
      auto by_daemon = drain_run(ctx, nullptr, *action, *args, *abort);
      if (!by_daemon) return ctx.report(by_daemon.error());
      if (*by_daemon) {
        print_drain(ctx, **by_daemon, *action, *args);
        return k_exit_ok;
      }
    }
    return with_pool(ctx, [&](Pool& pool) -> Result<void> {
      if (drains) {
        const auto report = ANYFS_TRY(drain_run(ctx, &pool, *action, *args, *abort));
        print_drain(ctx, *report, *action, *args);
        return {};
      }
      if (*action == "add") {
        if (args->empty()) return fail(Errc::InvalidArgument, "", "volume add PATH[:SIZE]...");
        std::vector<VolumeSpec> specs;
        for (const auto& a : *args) specs.push_back(ANYFS_TRY(parse_volume_spec(a)));
        nlohmann::json out = nlohmann::json::array();
        std::string human;
        for (const auto& spec : specs) {
          const VolumeStatus added = ANYFS_TRY(pool.add_volume(spec));
          out.push_back(volume_status_json(added));
          human += fmt::format("added volume {} ({}){}\n", added.path, added.uuid,
                               added.cap_bytes ? ", capped at " + human_bytes(added.cap_bytes) : "");
        }
        if (!human.empty()) human.pop_back();
        ctx.print(out, human);
        return {};
      }
      if (!args->empty()) return fail(Errc::InvalidArgument, args->front(), "volume list takes no arguments");
      nlohmann::json out = nlohmann::json::array();
      const auto volumes = ANYFS_TRY(pool.volumes());
      std::string human = volumes.empty() ? "no volumes: a single-file pool (chunks in the pool file)"
                                          : fmt::format("{:<4} {:<9} {:>10} {:>10} {:>9}  {}\n", "#", "state",
                                                        "size", "cap", "chunks", "path");
      for (std::size_t i = 0; i < volumes.size(); ++i) {
        const auto& v = volumes[i];
        out.push_back(volume_status_json(v));
        human += fmt::format("{:<4} {:<9} {:>10} {:>10} {:>9}  {}\n", i + 1, v.state, human_bytes(v.size_bytes),
                             v.cap_bytes ? human_bytes(v.cap_bytes) : "-", v.chunks, v.path);
      }
      if (!volumes.empty()) human.pop_back();
      ctx.print(out, human);
      return {};
    });
  };
}

}  // namespace

const std::vector<Command>& volume_commands() {
  static const std::vector<Command> k_commands = {
      {"volume",
       "The pool's volume files: volume add PATH[:SIZE]... | list | remove PATH [--abort] | move OLD NEW | "
       "replace OLD NEW",
       Access::Write, setup_volume},
  };
  return k_commands;
}

}  // namespace anyfs::cli
