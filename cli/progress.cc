#include "progress.h"

#include <csignal>

namespace anyfs::cli {
namespace {

std::atomic<int> g_stop{k_go_on};
struct sigaction g_before[4];
constexpr int k_signals[4] = {SIGINT, SIGTERM, SIGUSR1, SIGUSR2};

void on_signal(int sig) {
  // A second interrupt does not turn a pause into a cancel: only SIGUSR2 cancels.
  if (sig == SIGUSR2) g_stop.store(k_cancel);
  else if (g_stop.load() == k_go_on) g_stop.store(k_pause);
}

}  // namespace

StopOnSignals::StopOnSignals() {
  g_stop.store(k_go_on);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int i = 0; i < 4; ++i) sigaction(k_signals[i], &sa, &g_before[i]);
}

StopOnSignals::~StopOnSignals() {
  for (int i = 0; i < 4; ++i) sigaction(k_signals[i], &g_before[i], nullptr);
}

const std::atomic<int>* StopOnSignals::request() const { return &g_stop; }

}  // namespace anyfs::cli
