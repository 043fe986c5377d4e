#include "control.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace anyfs::cli {

nlohmann::json scrub_json(const ScrubReport& s);           // upkeep_commands.cc
nlohmann::json drain_json(const EvacuationReport& e);      // volume_commands.cc

namespace {

// The socket's name: the pool file's device and inode, in the abstract namespace.
Result<sockaddr_un> address_of(const std::string& pool_path, socklen_t& length) {
  struct stat st {};
  if (::stat(pool_path.c_str(), &st) != 0) return fail_errno(errno, pool_path, "stat");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string name = fmt::format("anyfs-control-{:x}-{:x}", st.st_dev, st.st_ino);
  std::memcpy(addr.sun_path + 1, name.data(), name.size());  // sun_path[0] = 0: abstract
  length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  return addr;
}

bool send_line(int fd, const nlohmann::json& j) {
  const std::string line = j.dump() + "\n";
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::send(fd, line.data() + done, line.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// One line from `fd` (without its newline); nullopt at the end or on an
// error. `interrupted` is called when a signal cut a wait short.
std::optional<std::string> read_line(int fd, std::string& buffer, const std::function<void()>& interrupted = nullptr) {
  while (true) {
    if (auto nl = buffer.find('\n'); nl != std::string::npos) {
      std::string line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      return line;
    }
    char chunk[4096];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) {
      if (interrupted) interrupted();
      continue;
    }
    if (n <= 0) return std::nullopt;
    buffer.append(chunk, static_cast<std::size_t>(n));
    if (buffer.size() > (1u << 20)) return std::nullopt;
  }
}

nlohmann::json error_json(const Error& e) {
  return {{"error", {{"code", errc_name(e.code)}, {"path", e.path}, {"message", e.message}}}};
}

}  // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::start(std::shared_ptr<Pool> pool, const std::string& pool_path) {
  socklen_t length = 0;
  const sockaddr_un addr = ANYFS_TRY(address_of(pool_path, length));
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno(errno, pool_path, "control socket");
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), length) != 0 || ::listen(fd, 4) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EADDRINUSE) return fail(Errc::Exists, pool_path, "another daemon serves this pool");
    return fail_errno(err, pool_path, "control socket");
  }
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(pool), fd));
}

ControlServer::ControlServer(std::shared_ptr<Pool> pool, int fd) : pool_(std::move(pool)), fd_(fd) {
  thread_ = std::thread([this] { serve(); });
}

ControlServer::~ControlServer() {
  closing_ = true;
  stop_ = k_pause;
  ::shutdown(fd_, SHUT_RDWR);
  thread_.join();
  ::close(fd_);
}

void ControlServer::serve() {
  while (!closing_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    // Only this daemon's user, or root.
    ucred who{};
    socklen_t size = sizeof who;
    if (::getsockopt(client, SOL_SOCKET, SO_PEERCRED, &who, &size) != 0 || (who.uid != ::getuid() && who.uid != 0)) {
      send_line(client, error_json(Error(Errc::Permission, "", "the mount daemon answers its own user only")));
      ::close(client);
      continue;
    }
    // A pause or cancel comes while a request runs: each client on a thread of its own.
    std::thread([this, client] {
      answer(client);
      ::close(client);
    }).detach();
  }
}

void ControlServer::answer(int client) {
  std::string buffer;
  const auto line = read_line(client, buffer);
  if (!line) return;
  const nlohmann::json request = nlohmann::json::parse(*line, nullptr, false);
  const std::string op = request.is_object() ? request.value("op", "") : "";
  auto progress = [&](const nlohmann::json& j) { send_line(client, {{"progress", j}}); };
  Result<nlohmann::json> result = fail(Errc::InvalidArgument, "", "unknown request: " + op);
  if (op == "scrub-pause" || op == "scrub-cancel") {
    // A scrub here is told; one stopped elsewhere is marked.
    const auto health = pool_->health();
    if (health && health->scrub && health->scrub->state == "running" && health->scrub->pid == ::getpid()) {
      stop_ = op == "scrub-cancel" ? k_cancel : k_pause;
      result = nlohmann::json{{"signalled", ::getpid()}, {"request", op == "scrub-cancel" ? "cancel" : "pause"}};
    } else {
      auto stopped = pool_->stop_scrub(op == "scrub-cancel");
      result = stopped ? Result<nlohmann::json>(scrub_json(*stopped)) : std::unexpected(stopped.error());
    }
  } else if (op == "scrub") {
    stop_ = k_go_on;
    ScrubOptions o;
    o.rate_bytes_per_s = request.value("rate_bytes_per_s", 0.0);
    o.repair = request.value("repair", true);
    o.restart = request.value("restart", false);
    o.stop = &stop_;
    o.progress = [&](const ScrubReport& s) { progress(scrub_json(s)); };
    auto done = pool_->scrub(o);
    result = done ? Result<nlohmann::json>(scrub_json(*done)) : std::unexpected(done.error());
  } else if (op == "volume-remove") {
    stop_ = k_go_on;
    RemoveVolumeOptions o;
    o.to = request.value("to", "");
    o.to_cap_bytes = request.value("to_cap_bytes", std::uint64_t{0});
    o.abort = request.value("abort", false);
    o.stop = &stop_;
    o.progress = [&](const EvacuationReport& e) { progress(drain_json(e)); };
    auto done = pool_->remove_volume(request.value("path", ""), o);
    result = done ? Result<nlohmann::json>(drain_json(*done)) : std::unexpected(done.error());
  }
  if (result) send_line(client, {{"result", *result}});
  else send_line(client, error_json(result.error()));
}

Result<std::optional<nlohmann::json>> ask_daemon(const std::string& pool_path, const nlohmann::json& request,
                                                 const std::function<void(const nlohmann::json&)>& progress,
                                                 const std::atomic<int>* stop, const nlohmann::json& on_stop) {
  socklen_t length = 0;
  const sockaddr_un addr = ANYFS_TRY(address_of(pool_path, length));
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno(errno, pool_path, "control socket");
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), length) != 0) {
    ::close(fd);
    return std::optional<nlohmann::json>();  // no daemon serves it
  }
  std::string buffer;
  Result<std::optional<nlohmann::json>> out = fail(Errc::Io, pool_path, "the mount daemon hung up");
  bool stop_sent = false;
  auto interrupted = [&] {
    if (stop_sent || stop == nullptr || stop->load() == k_go_on || on_stop.is_null()) return;
    stop_sent = true;
    (void)ask_daemon(pool_path, on_stop, nullptr);
  };
  if (send_line(fd, request)) {
    while (auto line = read_line(fd, buffer, interrupted)) {
      const nlohmann::json j = nlohmann::json::parse(*line, nullptr, false);
      if (j.contains("progress")) {
        if (progress) progress(j["progress"]);
      } else if (j.contains("result")) {
        out = std::optional<nlohmann::json>(j["result"]);
        break;
      } else if (j.contains("error")) {
        const auto& e = j["error"];
        out = fail(errc_from_name(e.value("code", "Io")), e.value("path", ""), e.value("message", ""));
        break;
      }
    }
  }
  ::close(fd);
  return out;
}

}  // namespace anyfs::cli
