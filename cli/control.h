// The mount daemon's control channel: a pool mounted writable is held by its
// daemon (the writer lock), so `scrub` and `volume remove|move|replace` run
// there, asked over a Unix socket in the abstract namespace named after the
// pool file (its device and inode). A request is one JSON line; the answer is
// JSON lines — {"progress":…} now and then, then {"result":…} or {"error":…}.
// Only the daemon's own user (or root) is answered (SO_PEERCRED).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "anyfs/pool.h"

namespace anyfs::cli {

class ControlServer {
 public:
  // Listens for requests about `pool` (opened from `pool_path`). Errors:
  // Exists (another daemon serves this pool), Io.
  static Result<std::unique_ptr<ControlServer>> start(std::shared_ptr<Pool> pool, const std::string& pool_path);
  // Stops listening; a request under way is asked to pause and waited for.
  ~ControlServer();

 private:
  ControlServer(std::shared_ptr<Pool> pool, int fd);
  void serve();
  void answer(int client);

  std::shared_ptr<Pool> pool_;
  int fd_;
  std::atomic<int> stop_{k_go_on};  // the request under way (scrub, drain)
  std::atomic<bool> closing_{false};
  std::thread thread_;
};

// Sends `request` to the daemon serving the pool at `pool_path`, calling
// `progress` with each progress line. When `stop` becomes set (a signal
// while waiting), `on_stop` is sent on a connection of its own once, and the
// answer still awaited. nullopt when no daemon serves the pool. Errors:
// those the daemon reports (as they were), Io.
Result<std::optional<nlohmann::json>> ask_daemon(const std::string& pool_path, const nlohmann::json& request,
                                                 const std::function<void(const nlohmann::json&)>& progress,
                                                 const std::atomic<int>* stop = nullptr,
                                                 const nlohmann::json& on_stop = nullptr);

}  // namespace anyfs::cli
