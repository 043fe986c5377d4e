// scrub and status: checking every copy of every chunk (repairing from good
// ones), and the health of a pool and its volumes (docs/CLI.md, "Scrub" and
// "Status").
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <signal.h>

#include <cmath>
#include <fstream>

#include "context.h"
#include "control.h"
#include "format.h"
#include "progress.h"

namespace anyfs::cli {

nlohmann::json scrub_json(const ScrubReport& s) {
  return {{"state", s.state},         {"chunks_total", s.chunks_total}, {"chunks_done", s.chunks_done},
          {"bytes_read", s.bytes_read}, {"bad_copies", s.bad_copies},   {"repaired", s.repaired},
          {"lost", s.lost},           {"damaged", s.damaged},           {"unrepaired_volumes", s.unrepaired_volumes},
          {"started_ns", s.started_ns},
          {"ended_ns", s.ended_ns},   {"seconds", s.seconds},           {"resumed", s.resumed},
          {"pid", s.pid}};
}

ScrubReport scrub_from_json(const nlohmann::json& j) {
  ScrubReport s;
  s.state = j.value("state", "");
  s.chunks_total = j.value("chunks_total", std::uint64_t{0});
  s.chunks_done = j.value("chunks_done", std::uint64_t{0});
  s.bytes_read = j.value("bytes_read", std::uint64_t{0});
  s.bad_copies = j.value("bad_copies", std::uint64_t{0});
  s.repaired = j.value("repaired", std::uint64_t{0});
  s.lost = j.value("lost", std::uint64_t{0});
  s.damaged = j.value("damaged", std::vector<std::string>{});
  s.unrepaired_volumes = j.value("unrepaired_volumes", std::vector<std::string>{});
  s.started_ns = j.value("started_ns", std::int64_t{0});
  s.ended_ns = j.value("ended_ns", std::int64_t{0});
  s.seconds = j.value("seconds", 0.0);
  s.resumed = j.value("resumed", false);
  s.pid = j.value("pid", std::int64_t{0});
  return s;
}

nlohmann::json volume_status_json(const VolumeStatus& v) {
  return {{"uuid", v.uuid},
          {"path", v.path},
          {"state", v.state},
          {"fault", v.fault},
          {"cap_bytes", v.cap_bytes},
          {"size_bytes", v.size_bytes},
          {"chunks", v.chunks},
          {"read_errors", v.read_errors},
          {"checksum_errors", v.checksum_errors},
          {"write_errors", v.write_errors},
          {"repaired", v.repaired}};
}

namespace {

double percent(std::uint64_t done, std::uint64_t total) {
  return total == 0 ? 100.0 : std::min(100.0, 100.0 * static_cast<double>(done) / static_cast<double>(total));
}

std::string scrub_line(const ScrubReport& s) {
  const double rate = s.seconds > 0 ? static_cast<double>(s.bytes_read) / s.seconds : 0;
  return fmt::format("scrub {}: {:.1f}% ({} of {} chunks), {} read at {}/s, {} bad cop{} ({} repaired), {} lost",
                     s.state, percent(s.chunks_done, s.chunks_total), s.chunks_done, s.chunks_total,
                     human_bytes(s.bytes_read), human_bytes(static_cast<std::uint64_t>(rate)), s.bad_copies,
                     s.bad_copies == 1 ? "y" : "ies", s.repaired, s.lost);
}

// Whether process `pid` is a live `anyfs ... scrub` (a scrub recorded as
// running may have been killed; a mount daemon's is asked over its socket).
bool scrub_alive(std::int64_t pid) {
  if (pid <= 0 || ::kill(static_cast<pid_t>(pid), 0) != 0) return false;
  std::ifstream cmd(fmt::format("/proc/{}/cmdline", pid));
  std::string arg;
  bool anyfs = false, scrub = false;
  for (int i = 0; std::getline(cmd, arg, '\0'); ++i) {
    if (i == 0) anyfs = arg.find("anyfs") != std::string::npos;
    if (arg == "scrub") scrub = true;
  }
  return anyfs && scrub;
}

std::function<int(Context&)> setup_scrub(CLI::App& app) {
  auto rate = std::make_shared<double>(0);
  auto pause = std::make_shared<bool>(false);
  auto resume = std::make_shared<bool>(false);
  auto cancel = std::make_shared<bool>(false);
  auto restart = std::make_shared<bool>(false);
  auto no_repair = std::make_shared<bool>(false);
  app.add_option("--rate", *rate, "Read at most this many MB (10^6 bytes) a second (default: no limit)")
      ->check(CLI::PositiveNumber);
  auto* p = app.add_flag("--pause", *pause,
                         "Pause the scrub under way (in another process: it is signalled; its progress is kept)");
  auto* r = app.add_flag("--resume", *resume, "Go on with a paused or interrupted scrub (an error if there is none)");
  auto* c = app.add_flag("--cancel", *cancel, "Stop the scrub under way and forget its progress");
  auto* s = app.add_flag("--restart", *restart, "Start over even if a scrub was paused or interrupted");
  app.add_flag("--no-repair", *no_repair, "Check only: leave bad copies as they are");
  p->excludes(r)->excludes(c)->excludes(s);
  r->excludes(c)->excludes(s);
  c->excludes(s);
  return [=](Context& ctx) -> int {
    {
      // --pause / --cancel: a scrub running in another process holds the pool
      // for writing: it is signalled. Else the record is changed here.
      if (*pause || *cancel) {
        // A mount daemon holding the pool runs (or marks) it.
        auto daemon = ask_daemon(ctx.pool_path(), {{"op", *cancel ? "scrub-cancel" : "scrub-pause"}}, nullptr);
        if (!daemon) return ctx.report(daemon.error());
        if (*daemon) {
          const auto& r = **daemon;
          ctx.print(r, r.contains("signalled")
                           ? fmt::format("asked the scrub running in the mount daemon (pid {}) to {}",
                                         r.value("signalled", 0), r.value("request", ""))
                           : scrub_line(scrub_from_json(r)));
          return k_exit_ok;
        }
        auto pool = Pool::open(ctx.pool_path(), ctx.open_options(true));
        if (!pool) return ctx.report(pool.error());
        auto health = (*pool)->health();
        (void)(*pool)->close();
        if (!health) return ctx.report(health.error());
        if (health->scrub && health->scrub->state == "running" && scrub_alive(health->scrub->pid) &&
            health->scrub->pid != ::getpid()) {
          ::kill(static_cast<pid_t>(health->scrub->pid), *cancel ? SIGUSR2 : SIGUSR1);
          ctx.print({{"signalled", health->scrub->pid}, {"request", *cancel ? "cancel" : "pause"}},
                    fmt::format("asked the scrub running in pid {} to {}", health->scrub->pid,
                                *cancel ? "cancel" : "pause"));
          return k_exit_ok;
        }
        return with_pool(ctx, [&](Pool& pool) -> Result<void> {
          const ScrubReport stopped = ANYFS_TRY(pool.stop_scrub(*cancel));
          ctx.print(scrub_json(stopped), scrub_line(stopped));
          return {};
        });
      }
      int code = k_exit_ok;
      StopOnSignals signals;
      ProgressLine line(ctx);
      auto report_of = [&](const ScrubReport& report) {
        line.done();
        std::string human = scrub_line(report);
        if (report.state == "paused")
          human += fmt::format("\npaused: `anyfs -p {} scrub` goes on from here", ctx.pool_path());
        for (const auto& d : report.damaged) human += "\n  no good copy: " + d;
        for (const auto& v : report.unrepaired_volumes)
          human += fmt::format("\n  {}: its pages around bad copies are damaged and no other volume may take them: "
                               "`anyfs -p {} volume replace {} NEW` rebuilds it from the other copies",
                               v, ctx.pool_path(), v);
        if (report.lost > report.damaged.size() && !report.damaged.empty())
          human += fmt::format("\n  ... {} chunks in all", report.lost);
        ctx.print(scrub_json(report), human);
        if (report.lost > 0) code = k_exit_corrupt;
      };
      // A pool mounted writable is scrubbed by its mount daemon.
      if (!ctx.pool_path().empty()) {
        auto daemon = ask_daemon(
            ctx.pool_path(),
            {{"op", "scrub"}, {"rate_bytes_per_s", *rate * 1e6}, {"repair", !*no_repair}, {"restart", *restart}},
            [&](const nlohmann::json& p) { line.show(scrub_line(scrub_from_json(p))); }, signals.request(),
            {{"op", "scrub-pause"}});
        if (!daemon) return ctx.report(daemon.error());
        if (*daemon) {
          report_of(scrub_from_json(**daemon));
          return code;
        }
      }
      const int run = with_pool(ctx, [&](Pool& pool) -> Result<void> {
        if (*resume) {
          auto health = ANYFS_TRY(pool.health());
          if (!health.scrub || (health.scrub->state != "running" && health.scrub->state != "paused"))
            return fail(Errc::NotFound, ctx.pool_path(), "no paused or interrupted scrub to resume");
        }
        ScrubOptions options;
        options.rate_bytes_per_s = *rate * 1e6;
        options.repair = !*no_repair;
        options.restart = *restart;
        options.stop = signals.request();
        options.progress = [&](const ScrubReport& s) { line.show(scrub_line(s)); };
        report_of(ANYFS_TRY(pool.scrub(options)));
        return {};
      });
      return run != k_exit_ok ? run : code;
    }
  };
}

std::function<int(Context&)> setup_status(CLI::App&) {
  return [=](Context& ctx) {
    return with_pool(ctx, [&](Pool& pool) -> Result<void> {
      const PoolHealth h = ANYFS_TRY(pool.health());
      nlohmann::json out = {{"pool", pool.path()},
                            {"state", h.state},
                            {"reason", h.reason},
                            {"read_only", h.read_only},
                            {"chunks_without_copy", h.chunks_without_copy}};
      out["volumes"] = nlohmann::json::array();
      for (const auto& v : h.volumes) out["volumes"].push_back(volume_status_json(v));
      out["scrub"] = h.scrub ? scrub_json(*h.scrub) : nlohmann::json();
      std::string human = fmt::format("  pool: {}\n state: {}{}\n", pool.path(), h.state, h.read_only ? " (read-only)" : "");
      if (!h.reason.empty()) human += fmt::format("status: {}\n", h.reason);
      if (h.evacuation) {
        const auto& e = *h.evacuation;
        out["evacuation"] = {{"path", e.path},           {"onto", e.onto},         {"chunks_total", e.chunks_total},
                             {"chunks_moved", e.chunks_moved}, {"bytes_moved", e.bytes_moved}, {"chunks_left", e.chunks_left},
                             {"seconds", e.seconds}};
        human += fmt::format(" drain: {}{}: {} of {} chunk copies moved ({}), {} left\n", e.path,
                             e.onto.empty() ? "" : " onto " + e.onto, e.chunks_moved, e.chunks_total,
                             human_bytes(e.bytes_moved), e.chunks_left);
      } else {
        out["evacuation"] = nullptr;
      }
      if (h.scrub) {
        human += " scrub: " + scrub_line(*h.scrub).substr(6);
        if (h.scrub->state == "running" && !scrub_alive(h.scrub->pid)) human += " (interrupted: `scrub` resumes it)";
        human += "\n";
      } else {
        human += " scrub: none yet\n";
      }
      if (h.volumes.empty()) {
        human += "volumes: none (a single-file pool: chunks in the pool file)";
      } else {
        human += fmt::format("\n  {:<9} {:>10} {:>8} {:>6} {:>6} {:>6} {:>8}  {}\n", "STATE", "SIZE", "CHUNKS", "READ",
                             "CKSUM", "WRITE", "REPAIRED", "VOLUME");
        for (const auto& v : h.volumes) {
          human += fmt::format("  {:<9} {:>10} {:>8} {:>6} {:>6} {:>6} {:>8}  {}\n", v.state, human_bytes(v.size_bytes),
                               v.chunks, v.read_errors, v.checksum_errors, v.write_errors, v.repaired, v.path);
          if (!v.fault.empty()) human += fmt::format("            {}\n", v.fault);
        }
        human.pop_back();
      }
      ctx.print(out, human);
      return {};
    });
  };
}

}  // namespace

const std::vector<Command>& upkeep_commands() {
  static const std::vector<Command> k_commands = {
      {"scrub",
       "Read and check every copy of every chunk, repair bad copies from good ones; resumable "
       "(--pause/--resume/--cancel, --rate); exit 6 when data has no good copy",
       Access::Write, setup_scrub},
      {"status", "Pool health (ONLINE/DEGRADED/FAULTED), volumes with error counts, scrub and drain progress",
       Access::Read, setup_status},
  };
  return k_commands;
}

}  // namespace anyfs::cli
