// What long commands share: a one-line progress report on stderr (redrawn at
// most ten times a second, only when stderr is a terminal and output is not
// JSON), and the signals that stop them between two steps.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <string>

#include "context.h"

namespace anyfs::cli {

class ProgressLine {
 public:
  explicit ProgressLine(const Context& ctx) : on_(!ctx.json() && ::isatty(2)) {}
  ~ProgressLine() { done(); }
  void show(const std::string& text) {
    if (!on_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    std::cerr << "\r\033[K" << text << std::flush;
    shown_ = true;
  }
  void done() {
    if (on_ && shown_) std::cerr << "\r\033[K" << std::flush;
    shown_ = false;
  }

 private:
  bool on_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

// While one lives, SIGINT, SIGTERM and SIGUSR1 ask the run to pause (its
// progress kept) and SIGUSR2 to cancel, through request(); the handlers
// before are put back after.
class StopOnSignals {
 public:
  StopOnSignals();
  ~StopOnSignals();
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;
  const std::atomic<int>* request() const;
};

}  // namespace anyfs::cli
