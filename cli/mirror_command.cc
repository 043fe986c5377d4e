// mirror (docs/CLI.md, "Mirror"): keeps a dataset of another pool (or a pipe)
// equal to a dataset of this one, as HAMMER's mirror-stream does: each round
// sends the state of the source's last committed transaction group as an
// incremental from the state the target has, read from the source's history
// — so the source is opened read-only and a writer may be busy on it.
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "anyfs/pool.h"
#include "context.h"
#include "format.h"
#include "progress.h"

namespace anyfs::cli {
namespace {

using Runner = std::function<int(Context&)>;

constexpr std::string_view k_state_prefix = "tid-";

// The TID of the newest state the target holds from a mirror ("tid-N" snapshots).
Result<std::optional<std::uint64_t>> last_state(Pool& dst, const std::string& target) {
  auto names = dst.datasets();
  if (!names) return std::unexpected(names.error());
  if (std::find(names->begin(), names->end(), target) == names->end()) return std::optional<std::uint64_t>();
  std::optional<std::uint64_t> best;
  for (const auto& s : ANYFS_TRY(dst.snapshots(target)))
    if (s.name.starts_with(k_state_prefix))
      if (auto n = std::strtoull(s.name.c_str() + k_state_prefix.size(), nullptr, 10); n > 0 && (!best || n > *best))
        best = n;
  return best;
}

// Sends one state of `dataset` at `tid` (from `base`) into `dst`'s `target`,
// through a pipe: the source writes on a thread of its own.
Result<ReceiveReport> transfer(Pool& src, const std::string& dataset, std::uint64_t tid,
                               std::optional<std::uint64_t> base, Pool& dst, const std::string& target) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return fail(Errc::Io, "", fmt::format("making a pipe: {}", std::strerror(errno)));
  Result<SendReport> sent = fail(Errc::Io, "", "not sent");
  std::thread sender([&] {
    sent = src.send(dataset, "", {.at_tid = tid, .from_tid = base}, [&](std::string_view bytes) -> Result<void> {
      while (!bytes.empty()) {
        ssize_t n = ::write(fds[1], bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(Errc::Io, "", fmt::format("writing to the receiver: {}", std::strerror(errno)));
        bytes.remove_prefix(static_cast<std::size_t>(n));
      }
      return {};
    });
    ::close(fds[1]);
  });
  auto got = dst.receive(target, [&](std::span<char> out) -> Result<std::size_t> {
    while (true) {
      ssize_t n = ::read(fds[0], out.data(), out.size());
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) return fail(Errc::Io, "", fmt::format("reading from the sender: {}", std::strerror(errno)));
    }
  });
  ::close(fds[0]);  // a receiver that stopped early makes the sender's writes fail, not block
  sender.join();
  if (!sent) return std::unexpected(sent.error());
  return got;
}

// After a round: the target is a mirror (read-only until promoted) and keeps
// only its newest state as the next round's base.
Result<void> tidy_target(Pool& dst, const std::string& target, std::uint64_t keep) {
  if (ANYFS_TRY(dst.get_property(target, "readonly")) != "on") ANYFS_CHECK(dst.set_property(target, "readonly", "on"));
  for (const auto& s : ANYFS_TRY(dst.snapshots(target)))
    if (s.name.starts_with(k_state_prefix) && s.name != fmt::format("{}{}", k_state_prefix, keep))
      ANYFS_CHECK(dst.destroy_snapshot(target, s.name));
  return {};
}

Runner setup_mirror(CLI::App& app) {
  struct Args {
    std::string dataset, destination, target;
    bool follow = false;
    double interval = 1.0;
  };
  auto a = std::make_shared<Args>();
  app.description(
      "Make a dataset of another pool equal to one of this pool, and with --follow keep it so: each round\n"
      "sends the state of the last committed transaction group as an incremental from the state the\n"
      "target has (its newest tid-N snapshot). The source is read from its history, so it is opened\n"
      "read-only and may be written meanwhile; it needs history on (history=1h or more) to reach the\n"
      "target's state. The target is read-only (readonly=on) until promoted: property set readonly=off.\n"
      "DST is a pool file, or - for the streams on standard output (to `anyfs receive` elsewhere).");
  app.add_option("dataset", a->dataset, "Dataset of this pool to mirror (\"\" for the root dataset)")->required();
  app.add_option("destination", a->destination, "Pool file to mirror into, or - for standard output")->required();
  app.add_option("--to", a->target, "Dataset of the destination (default: the same name)");
  app.add_flag("-f,--follow", a->follow, "Keep going: a round each time the source commits, until interrupted");
  app.add_option("--interval", a->interval, "Seconds between looks at the source with --follow (default 1)")
      ->check(CLI::Range(0.05, 3600.0));
  return [a](Context& ctx) {
    const std::string target = a->target.empty() ? a->dataset : a->target;
    const bool to_stdout = a->destination == "-";
    if (to_stdout && ::isatty(STDOUT_FILENO))
      return ctx.report(Error{Errc::InvalidArgument, "", "refusing to write streams to a terminal: pipe them to "
                                                         "`anyfs receive`"});
    return with_pool(ctx, [&](Pool& src) -> Result<void> {
      std::shared_ptr<Pool> dst;
      std::optional<std::uint64_t> have;
      if (!to_stdout) {
        dst = ANYFS_TRY(Pool::open(a->destination));
        have = ANYFS_TRY(last_state(*dst, target));
      }
      StopOnSignals signals;
      std::uint64_t rounds = 0, bytes = 0;
      const auto started = std::chrono::steady_clock::now();
      while (true) {
        const std::uint64_t tid = ANYFS_TRY(src.committed_tid());
        if (!have || *have < tid) {
          if (to_stdout) {
            // Each stream says another follows while --follow goes on: `receive` keeps reading.
            auto sent = ANYFS_TRY(src.send(a->dataset, "", {.at_tid = tid, .from_tid = have, .more_follows = a->follow},
                                           [&](std::string_view b) -> Result<void> {
                                             if (std::fwrite(b.data(), 1, b.size(), stdout) != b.size())
                                               return fail(Errc::Io, "standard output", std::strerror(errno));
                                             return {};
                                           }));
            std::fflush(stdout);
            bytes += sent.bytes;
            have = sent.to_tid;  // the end of the transaction group sent: the next base
          } else {
            auto got = transfer(src, a->dataset, tid, have, *dst, target);
            if (!got) {
              auto e = got.error();
              if (have && e.code == Errc::NotFound)
                e.message += "; the target's newest state did not come from this dataset";
              if (e.code == Errc::NoData) e.message += "; mirror reads the source's history: set history=1h (or more)";
              return std::unexpected(e);
            }
            const std::uint64_t state = std::stoull(got->snapshot.substr(k_state_prefix.size()));
            ANYFS_CHECK(tidy_target(*dst, target, state));
            have = state;
            bytes += got->bytes;
            if (!ctx.json())
              std::cerr << fmt::format("mirror: {} at TID {} ({}, {} objects)\n", target.empty() ? "(root)" : target,
                                       got->snapshot.substr(k_state_prefix.size()), human_bytes(got->bytes),
                                       got->objects);
          }
          rounds++;
        }
        if (!a->follow || signals.request()->load() != k_go_on) break;
        std::this_thread::sleep_for(std::chrono::duration<double>(a->interval));
        if (signals.request()->load() != k_go_on) break;
      }
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      nlohmann::json out = {{"dataset", a->dataset}, {"target", target}, {"rounds", rounds}, {"bytes", bytes},
                            {"tid", have.value_or(0)}, {"seconds", seconds}};
      std::string human = fmt::format("mirrored {} to {} up to TID {}: {} round(s), {}", a->dataset.empty() ? "(root)" : a->dataset,
                                      target.empty() ? "(root)" : target, have.value_or(0), rounds, human_bytes(bytes));
      if (to_stdout) std::cerr << (ctx.json() ? out.dump() : human) << '\n';
      else ctx.print(out, human);
      return {};
    });
  };
}

}  // namespace

const std::vector<Command>& mirror_commands() {
  static const std::vector<Command> k_commands = {
      {"mirror", "Keep a dataset of another pool equal to one of this pool: mirror DATASET DST [--follow]",
       Access::Read, setup_mirror},
  };
  return k_commands;
}

}  // namespace anyfs::cli
