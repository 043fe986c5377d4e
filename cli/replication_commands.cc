// send and receive (docs/CLI.md, "Send and receive"): a dataset's snapshot as
// a replication stream on standard output or in a file, and a stream applied
// to a pool from standard input or a file — `anyfs send | anyfs receive`.
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "anyfs/pool.h"
#include "context.h"
#include "format.h"
#include "progress.h"
#include "pool/location.h"

namespace anyfs::cli {
namespace {

using Runner = std::function<int(Context&)>;

Error os_error(const std::string& path, const char* what) {
  return Error{errno == ENOSPC ? Errc::NoSpace : Errc::Io, path, fmt::format("{}: {}", what, std::strerror(errno))};
}

// A descriptor written to in full, retrying short writes and interrupts.
Result<void> write_all(int fd, std::string_view bytes, const std::string& name) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(os_error(name, "writing the stream"));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

std::string rate(std::uint64_t bytes, std::chrono::steady_clock::time_point since) {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
  return seconds > 0 ? human_bytes(static_cast<std::uint64_t>(double(bytes) / seconds)) + "/s" : "-";
}

// "DATASET@SNAP" → (dataset, snapshot); "@SNAP" is the root dataset's.
Result<SnapshotSpec> sent_snapshot(const std::string& text) {
  if (text.find('@') == std::string::npos)
    return fail(Errc::InvalidArgument, text, "name the snapshot to send: DATASET@SNAP (or @SNAP for the root dataset)");
  return parse_snapshot_spec(text);
}

// -i: "@SNAP", "SNAP", "DATASET@SNAP", "#BOOKMARK" or "DATASET#BOOKMARK", of `dataset`.
Result<std::string> base_of(const std::string& text, const std::string& dataset) {
  for (char mark : {'#', '@'}) {
    auto at = text.find(mark);
    if (at == std::string::npos) continue;
    if (at > 0 && text.substr(0, at) != dataset)
      return fail(Errc::InvalidArgument, text,
                  fmt::format("the base of an incremental must be a snapshot or bookmark of the dataset sent ({})",
                              dataset.empty() ? "(root)" : dataset));
    return std::string(1, mark) + text.substr(at + 1);
  }
  return "@" + text;
}

nlohmann::json send_json(const SendReport& r, bool dry_run) {
  return {{"incremental", r.incremental}, {"from_tid", r.from_tid}, {"to_tid", r.to_tid},
          {"guid", r.to_guid},            {"bytes", r.bytes},       {"records", r.records},
          {"objects", r.objects},         {"chunks", r.chunks},     {"chunk_bytes", r.chunk_bytes},
          {"streams", r.streams},         {"dry_run", dry_run}};
}

Runner setup_send(CLI::App& app) {
  struct Args {
    std::string snapshot, from, every_from, output, token;
    bool dry_run = false, recursive = false, history = false;
  };
  auto a = std::make_shared<Args>();
  app.description(
      "Write a replication stream of a snapshot: everything it holds (full), or with -i only what changed\n"
      "since a base snapshot or bookmark of the same dataset (incremental). Chunks go once each, as stored.\n"
      "The stream checks itself; `anyfs receive` applies it all or nothing. Examples:\n"
      "  anyfs -p a.anyfs send home@mon | anyfs -p b.anyfs receive backup/home\n"
      "  anyfs -p a.anyfs send -i @mon home@tue -o tue.stream\n"
      "  anyfs -p a.anyfs send -i '#mon' home@wed | ssh host anyfs -p b.anyfs receive backup/home\n"
      "  anyfs -p a.anyfs send --history -i @mon home@tue | anyfs -p b.anyfs receive backup/home");
  app.add_option("snapshot", a->snapshot, "DATASET@SNAP to send (@SNAP: the root dataset's)");
  app.add_option("-t,--resume", a->token,
                 "Send the rest of a stream a resumable receive (receive -s) kept part of: the token its target's "
                 "receive_resume_token property shows");
  app.add_option("-i,--incremental", a->from,
                 "Send only the changes since this base: @SNAP, #BOOKMARK (quote it in a shell), or "
                 "DATASET@SNAP / DATASET#BOOKMARK of the same dataset");
  app.add_option("-I", a->every_from,
                 "As -i, and every snapshot in between too: one stream each, in one package that receive takes "
                 "whole");
  app.add_flag("-R,--recursive", a->recursive,
               "The dataset and every dataset below it (each needs the snapshot), with their local properties; "
               "without -i/-I every snapshot up to the one named (a whole replica)");
  app.add_flag("--history", a->history,
               "Every state between too, not only the snapshot: each transaction group the dataset's history "
               "keeps (history=all or a window) and each snapshot, one stream each. The receiver holds each state "
               "of history as the snapshot tid-N (N: the sender's TID), readable as DATASET@tid-N");
  app.add_option("-o,--output", a->output, "Write the stream to this file (default: standard output)");
  app.add_flag("-n,--dry-run", a->dry_run, "Write nothing; print the size the stream would have");
  return [a](Context& ctx) {
    if (a->snapshot.empty() == a->token.empty())
      return ctx.report(Error{Errc::InvalidArgument, "", "name the snapshot to send (DATASET@SNAP), or resume with "
                                                         "-t TOKEN — one of the two"});
    auto spec = a->token.empty() ? sent_snapshot(a->snapshot) : Result<SnapshotSpec>(SnapshotSpec{});
    if (!spec) return ctx.report(spec.error());
    int fd = STDOUT_FILENO;
    std::string name = "standard output";
    if (!a->dry_run && !a->output.empty() && a->output != "-") {
      fd = ::open(a->output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) return ctx.report(os_error(a->output, "opening the output"));
      name = a->output;
    } else if (!a->dry_run && ::isatty(STDOUT_FILENO)) {
      return ctx.report(Error{Errc::InvalidArgument, "", "refusing to write a stream to a terminal: redirect it, "
                                                         "pipe it to `anyfs receive`, or use -o FILE"});
    }
    const bool to_stdout = !a->dry_run && fd == STDOUT_FILENO;
    ProgressLine progress(ctx);
    const auto started = std::chrono::steady_clock::now();
    SendOptions options;
    if (!a->token.empty()) {
      if (!a->from.empty())
        return ctx.report(Error{Errc::InvalidArgument, "", "-t takes the base from the token; drop -i"});
      options.resume_token = a->token;
    }
    if (!a->every_from.empty()) {
      if (!a->from.empty()) return ctx.report(Error{Errc::InvalidArgument, "", "-i and -I: give one of the two"});
      a->from = a->every_from;
      options.intermediates = true;
    }
    options.recursive = a->recursive;
    options.history = a->history;
    if (!a->from.empty()) {
      auto base = base_of(a->from, spec->dataset);
      if (!base) return ctx.report(base.error());
      options.from = *base;
    }
    options.progress = [&](std::uint64_t bytes) {
      progress.show(fmt::format("send: {} ({})", human_bytes(bytes), rate(bytes, started)));
    };
    int code = with_pool(ctx, [&](Pool& pool) -> Result<void> {
      auto report = ANYFS_TRY(pool.send(spec->dataset, spec->name, options, [&](std::string_view bytes) -> Result<void> {
        if (a->dry_run) return {};
        return write_all(fd, bytes, name);
      }));
      progress.done();
      if (fd != STDOUT_FILENO && ::fsync(fd) != 0) return std::unexpected(os_error(name, "syncing the output"));
      std::string human = fmt::format(
          "{} {}{} of {}{}: {} ({} objects, {} chunks of {}){}", a->dry_run ? "would send" : "sent",
          report.streams > 1 ? "a" : (report.incremental ? "an incremental" : "a full"),
          report.streams > 1 ? fmt::format(" package of {} streams", report.streams) : std::string(" stream"), a->token.empty() ? a->snapshot : "the resumed stream",
          report.incremental ? fmt::format(" from TID {}", report.from_tid) : std::string(), human_bytes(report.bytes),
          report.objects, report.chunks, human_bytes(report.chunk_bytes),
          a->dry_run ? "" : fmt::format(" at {}", rate(report.bytes, started)));
      // The stream owns standard output; the summary goes beside it.
      if (to_stdout) {
        std::cerr << (ctx.json() ? send_json(report, false).dump() : human) << '\n';
      } else {
        ctx.print(send_json(report, a->dry_run), human);
      }
      return {};
    });
    if (fd != STDOUT_FILENO) ::close(fd);
    return code;
  };
}

Runner setup_receive(CLI::App& app) {
  struct Args {
    std::string dataset, input;
    bool force = false, resumable = false, abort = false;
  };
  auto a = std::make_shared<Args>();
  app.description(
      "Apply a replication stream (from `anyfs send`) to this pool, all or nothing: a full stream makes a\n"
      "new dataset, an incremental one applies to the dataset holding its base snapshot (found by guid).\n"
      "Either ends by taking the sent snapshot. A damaged, cut or refused stream changes nothing.");
  app.add_option("dataset", a->dataset, "Dataset to receive into (\"\" for the root dataset)")->required();
  app.add_option("-i,--input", a->input, "Read the stream from this file (default: standard input)");
  app.add_flag("-F,--force", a->force,
               "Roll the target back to the stream's base first when it changed since (destroys its newer "
               "snapshots)");
  app.add_flag("-s,--resumable", a->resumable,
               "Keep what arrives: if the stream stops early, the target's receive_resume_token property tells "
               "`send -t` where to go on from");
  app.add_flag("-A,--abort", a->abort, "Discard what a resumable receive into DATASET kept, and read no stream");
  return [a](Context& ctx) {
    if (a->abort) {
      return with_pool(ctx, [&](Pool& pool) -> Result<void> {
        ANYFS_CHECK(pool.abort_receive(a->dataset));
        ctx.print({{"dataset", a->dataset}, {"aborted", true}},
                  fmt::format("discarded the resumable receive into {}", a->dataset.empty() ? "(root)" : a->dataset));
        return {};
      });
    }
    int fd = STDIN_FILENO;
    std::string name = "standard input";
    if (!a->input.empty() && a->input != "-") {
      fd = ::open(a->input.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return ctx.report(os_error(a->input, "opening the stream"));
      name = a->input;
    } else if (::isatty(STDIN_FILENO)) {
      return ctx.report(Error{Errc::InvalidArgument, "", "receive reads a stream from standard input (a pipe or a "
                                                         "file), not a terminal; or use -i FILE"});
    }
    ProgressLine progress(ctx);
    const auto started = std::chrono::steady_clock::now();
    ReceiveOptions options;
    options.force = a->force;
    options.resumable = a->resumable;
    // From a file (or a redirected one) the whole is known: the line says how far, and when it ends.
    struct stat input {};
    const std::uint64_t total =
        ::fstat(fd, &input) == 0 && S_ISREG(input.st_mode) ? static_cast<std::uint64_t>(input.st_size) : 0;
    options.progress = [&](std::uint64_t bytes) {
      std::string line = fmt::format("receive: {} ({})", human_bytes(bytes), rate(bytes, started));
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (total > 0 && bytes > 0 && bytes <= total)
        line = fmt::format("receive: {} of {} ({}%, {}, {:.0f} s left)", human_bytes(bytes), human_bytes(total),
                           bytes * 100 / total, rate(bytes, started), seconds * double(total - bytes) / double(bytes));
      progress.show(line);
    };
    int code = with_pool(ctx, [&](Pool& pool) -> Result<void> {
      auto report = ANYFS_TRY(pool.receive(
          a->dataset,
          [&](std::span<char> out) -> Result<std::size_t> {
            while (true) {
              ssize_t n = ::read(fd, out.data(), out.size());
              if (n >= 0) return static_cast<std::size_t>(n);
              if (errno != EINTR) return std::unexpected(os_error(name, "reading the stream"));
            }
          },
          options));
      progress.done();
      const std::string target = fmt::format("{}@{}", report.dataset, report.snapshot);
      ctx.print({{"streams", report.streams},
                 {"received", report.received},
                 {"dataset", report.dataset},
                 {"snapshot", report.snapshot},
                 {"guid", report.guid},
                 {"incremental", report.incremental},
                 {"rolled_back", report.rolled_back},
                 {"tid", report.tid},
                 {"bytes", report.bytes},
                 {"objects", report.objects},
                 {"chunks", report.chunks},
                 {"chunks_stored", report.chunks_stored}},
                fmt::format("received {} as {}{}: {}, {} objects, {} chunks ({} new) at {}",
                            report.streams > 1 ? fmt::format("a package of {} streams", report.streams)
                                               : (report.incremental ? "an incremental stream" : "a full stream"),
                            report.streams > 1 ? fmt::format("{} (the last of {})", target, fmt::join(report.received, ", "))
                                               : target,
                            report.rolled_back ? " (rolled back to its base first)" : "",
                            human_bytes(report.bytes), report.objects, report.chunks, report.chunks_stored,
                            rate(report.bytes, started)));
      return {};
    });
    if (fd != STDIN_FILENO) ::close(fd);
    return code;
  };
}

}  // namespace

const std::vector<Command>& replication_commands() {
  static const std::vector<Command> k_commands = {
      {"send", "Write a replication stream of a snapshot: send [-i BASE] DATASET@SNAP | -t TOKEN [-o FILE]", Access::Read,
       setup_send},
      {"receive", "Apply a replication stream from stdin, all or nothing: receive [-F] [-s] [-A] DATASET", Access::Write,
       setup_receive},
  };
  return k_commands;
}

}  // namespace anyfs::cli
