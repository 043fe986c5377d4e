// mount and unmount (docs/CLI.md, "Mounting"; docs/MOUNT.md for the behaviour).
//
// `mount` opens the pool itself instead of through the Context: in daemon mode
// it must fork before the pool starts any thread, and it blocks the stop
// signals before any thread exists, so that only its sigwait sees them.
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "anyfs/mount.h"
#include "context.h"
#include "control.h"
#include "pool/location.h"

namespace anyfs::cli {
namespace {

using Runner = std::function<int(Context&)>;

struct MountArgs {
  std::vector<std::string> positional;  // [DATASET[@SNAP]] MOUNTPOINT
  bool foreground = false;
  bool snapdir_visible = false;
  bool allow_other = false;
  bool debug = false;
  bool no_writeback = false;
  unsigned threads = 8;
  double cache_seconds = 10.0;
  std::vector<std::string> options;  // -o, as mount(8) takes them
};

// -o OPT[,OPT...]: the mount(8) options that mean something here; the last of
// two opposites wins, as with mount(8).
Result<void> apply_mount_options(const std::vector<std::string>& groups, MountOptions& options, bool& read_only) {
  for (const auto& group : groups) {
    std::stringstream words(group);
    for (std::string o; std::getline(words, o, ',');) {
      if (o == "dev") options.devices = true;
      else if (o == "nodev") options.devices = false;
      else if (o == "suid") options.setuid = true;
      else if (o == "nosuid") options.setuid = false;
      else if (o == "ro") read_only = true;
      else if (o == "rw") read_only = false;
      else if (o == "allow_other") options.allow_other = true;
      else if (o == "default_permissions" || o == "exec" || o.empty()) continue;  // always so
      else
        return fail(Errc::InvalidArgument, o,
                    "unknown mount option (known: dev, nodev, suid, nosuid, ro, rw, allow_other)");
    }
  }
  if ((options.devices || options.setuid) && ::geteuid() != 0)
    return fail(Errc::NotPermitted, "-o dev/suid", "only root may mount with device nodes or set-id programs enabled");
  return {};
}

Result<std::string> absolute(const std::string& p) {
  char buf[PATH_MAX];
  if (::realpath(p.c_str(), buf) == nullptr) return fail_errno(errno, p);
  return std::string(buf);
}

// What to mount: the dataset, the point in time (if any) and where.
struct MountPlan {
  std::string pool;
  std::string dataset;
  std::optional<AsOf> as_of;
  std::string mountpoint;
  MountOptions options;
};

Result<MountPlan> plan_mount(Context& ctx, const MountArgs& a, bool read_only) {
  if (ctx.pool_path().empty()) return fail(Errc::InvalidArgument, "", "mount needs a pool: -p POOL or ANYFS_POOL");
  if (a.positional.empty() || a.positional.size() > 2)
    return fail(Errc::InvalidArgument, "", "usage: anyfs mount [DATASET[@SNAP]] MOUNTPOINT");
  MountPlan plan;
  plan.pool = ANYFS_TRY(absolute(ctx.pool_path()));
  plan.mountpoint = ANYFS_TRY(absolute(a.positional.back()));
  if (a.positional.size() == 2) {
    const std::string& spec = a.positional.front();
    if (auto at = spec.find('@'); at != std::string::npos) {
      auto snap = ANYFS_TRY(parse_snapshot_spec(spec));
      plan.dataset = snap.dataset;
      plan.as_of = AsOf::at_snapshot(snap.name);
    } else {
      plan.dataset = spec;
      if (!spec.empty()) ANYFS_CHECK(check_dataset_name(spec));
    }
  }
  if (!ctx.as_of_text().empty()) {
    if (plan.as_of) return fail(Errc::InvalidArgument, a.positional.front(), "a snapshot and --at name two points in time");
    plan.as_of = ANYFS_TRY(parse_as_of(ctx.as_of_text()));
  }
  plan.options.allow_other = a.allow_other || ::geteuid() == 0;
  const bool asked_read_only = read_only;
  ANYFS_CHECK(apply_mount_options(a.options, plan.options, read_only));
  if (asked_read_only && !read_only) return fail(Errc::InvalidArgument, "-o rw", "conflicts with --read-only");
  plan.options.read_only = read_only || plan.as_of.has_value();
  plan.options.snapdir_visible = a.snapdir_visible;
  plan.options.debug = a.debug;
  plan.options.writeback_cache = !a.no_writeback;
  plan.options.max_threads = a.threads;
  plan.options.cache_seconds = a.cache_seconds;
  plan.options.source = plan.pool;
  return plan;
}

// Daemon mode: the parent waits for one byte (the exit code) from the child,
// which reports for itself; EOF means the child died before it could say.
int wait_for_daemon(int fd) {
  char code = 0;
  ssize_t n;
  while ((n = ::read(fd, &code, 1)) < 0 && errno == EINTR) {
  }
  ::close(fd);
  if (n != 1) {
    std::cerr << "anyfs: the mount daemon exited before the mount was ready\n";
    return k_exit_failure;
  }
  return code;
}

void tell_parent(int& fd, int code) {
  if (fd < 0) return;
  char c = static_cast<char>(code);
  (void)!::write(fd, &c, 1);
  ::close(fd);
  fd = -1;
}

void detach_from_terminal() {
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::close(null);
  }
  (void)!::chdir("/");
}

int run_mount(Context& ctx, const MountArgs& a, bool read_only) {
  auto plan = plan_mount(ctx, a, read_only);
  if (!plan) return ctx.report(plan.error());
  int notify = -1;
  if (!a.foreground) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return ctx.report(fail_errno(errno, "", "pipe").error());
    pid_t pid = ::fork();
    if (pid < 0) return ctx.report(fail_errno(errno, "", "fork").error());
    if (pid > 0) {
      ::close(fds[1]);
      return wait_for_daemon(fds[0]);
    }
    ::close(fds[0]);
    notify = fds[1];
    ::setsid();
  }
  // Before any thread: only the sigwait below takes these.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaddset(&stop_signals, s);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto fail_early = [&](const Error& e) {
    int code = ctx.report(e);
    tell_parent(notify, code);
    return code;
  };
  auto pool = Pool::open(plan->pool, ctx.open_options(plan->options.read_only));
  if (!pool) return fail_early(pool.error());
  auto dataset = plan->as_of ? (*pool)->dataset_at(plan->dataset, *plan->as_of) : (*pool)->dataset(plan->dataset);
  if (!dataset) return fail_early(dataset.error());
  auto mount = Mount::start(*pool, *dataset, plan->mountpoint, plan->options);
  if (!mount) return fail_early(mount.error());
  // scrub and volume remove|move|replace from other processes run here (cli/control.h).
  std::unique_ptr<ControlServer> control;
  if (!(*pool)->read_only()) {
    auto started = ControlServer::start(*pool, plan->pool);
    if (started) control = std::move(*started);
  }

  const std::string what = plan->dataset.empty() ? plan->pool : plan->pool + ":" + plan->dataset;
  ctx.print({{"mountpoint", plan->mountpoint}, {"pool", plan->pool}, {"dataset", plan->dataset},
             {"read_only", plan->options.read_only}, {"pid", ::getpid()}},
            fmt::format("mounted {} at {}{}{}", what, plan->mountpoint, plan->options.read_only ? " (read-only)" : "",
                        a.foreground ? "; Ctrl-C or `anyfs unmount` to stop" : fmt::format(" (pid {})", ::getpid())));
  std::cout.flush();
  if (notify >= 0) {
    tell_parent(notify, k_exit_ok);
    detach_from_terminal();
  }
  // The mount ends by a signal, or by an unmount from outside (then the
  // watcher wakes the sigwait).
  std::thread watcher([&] {
    (void)(*mount)->wait();
    ::kill(::getpid(), SIGUSR1);
  });
  int sig = 0;
  sigwait(&stop_signals, &sig);
  control.reset();
  auto stopped = (*mount)->stop();
  watcher.join();
  mount->reset();
  dataset->reset();
  auto closed = (*pool)->close();
  if (!stopped) return ctx.report(stopped.error());
  if (!closed) return ctx.report(closed.error());
  return k_exit_ok;
}

Runner setup_mount(CLI::App& app) {
  auto a = std::make_shared<MountArgs>();
  app.add_option("target", a->positional,
                 "[DATASET[@SNAP]] MOUNTPOINT: the root dataset by default; @SNAP or --at mounts the past, read-only")
      ->required()
      ->expected(1, 2);
  app.add_flag("-f,--foreground", a->foreground, "Stay in the foreground (default: return once mounted)");
  app.add_flag("--snapdir-visible", a->snapdir_visible, "List .anyfs in the root (it is always reachable by name)");
  app.add_flag("--allow-other", a->allow_other, "Let other users in (always on for root)");
  app.add_option("--threads", a->threads, "Threads serving requests at most")->check(CLI::Range(1, 256));
  app.add_option("--cache-seconds", a->cache_seconds, "How long the kernel keeps names and attributes")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_flag("--no-writeback-cache", a->no_writeback,
               "Send every write() to the daemon (default: the kernel merges them in its page cache)");
  app.add_flag("--debug", a->debug, "Print every FUSE request on stderr (with -f)");
  app.add_option("-o,--options", a->options,
                 "Mount options, comma-separated: dev (device nodes can be opened) and suid (set-id bits take "
                 "effect), root only, for a root filesystem or a chroot in a pool; nodev, nosuid (the default); "
                 "ro, rw; allow_other")
      ->allow_extra_args(false);
  return [=](Context& ctx) { return run_mount(ctx, *a, ctx.read_only()); };
}

// --- unmount ---------------------------------------------------------------------------

// "\040" → ' ' (how /proc escapes mount paths).
std::string unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8)));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// The pool behind the anyfs mount at `mountpoint` (its source is anyfs:POOL).
Result<std::string> anyfs_mount_source(const std::string& mountpoint) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string w; fields >> w;) f.push_back(w);
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || dash + 2 >= f.end()) continue;
    if (unescape(f[4]) != mountpoint || *(dash + 1) != "fuse.anyfs") continue;
    std::string source = unescape(*(dash + 2));
    return source.starts_with("anyfs:") ? source.substr(6) : source;
  }
  return fail(Errc::NotFound, mountpoint, "no anyfs mount here");
}

// Waits until the daemon serving `pool` has closed it (its writer lock is free).
Result<void> wait_for_close(const std::string& pool, std::chrono::seconds limit) {
  int fd = ::open(pool.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};  // not a path we can see: nothing to wait for
  auto deadline = std::chrono::steady_clock::now() + limit;
  Result<void> out = {};
  while (::flock(fd, LOCK_SH | LOCK_NB) != 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      out = fail(Errc::TimedOut, pool, "the mount daemon has not closed the pool yet");
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::close(fd);
  return out;
}

Result<void> unmount_and_wait(const std::string& given, bool lazy) {
  const std::string mountpoint = ANYFS_TRY(absolute(given));
  const std::string pool = ANYFS_TRY(anyfs_mount_source(mountpoint));
  ANYFS_CHECK(anyfs::unmount(mountpoint, lazy));
  // A lazy unmount leaves the daemon serving those still inside.
  if (lazy) return {};
  return wait_for_close(pool, std::chrono::seconds(120));
}

Runner setup_unmount(CLI::App& app) {
  auto mountpoint = std::make_shared<std::string>();
  auto lazy = std::make_shared<bool>(false);
  app.add_option("mountpoint", *mountpoint, "Where an anyfs pool is mounted")->required();
  app.add_flag("-l,--lazy", *lazy, "Detach now even if in use; the daemon ends when the last user leaves");
  return [=](Context& ctx) {
    auto r = unmount_and_wait(*mountpoint, *lazy);
    if (!r) return ctx.report(r.error());
    ctx.print({{"unmounted", *mountpoint}}, "unmounted " + *mountpoint);
    return static_cast<int>(k_exit_ok);
  };
}

}  // namespace

const std::vector<Command>& mount_commands() {
  static const std::vector<Command> table = {
      {"mount", "Mount a dataset (live, at a snapshot, or --at a time) as a directory, with FUSE", Access::Read,
       setup_mount},
      {"unmount", "Unmount an anyfs mount; waits until everything acknowledged is committed", Access::Read,
       setup_unmount},
  };
  return table;
}

}  // namespace anyfs::cli
