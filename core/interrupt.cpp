#include "core/interrupt.hpp"

#include <signal.h>

#include <atomic>
#include <csignal>

#include "core/error.hpp"

namespace podlift {

namespace {
std::atomic<int> g_signal{0};
std::atomic<bool> g_reload{false};

void on_hup(int) {
  g_reload.store(true);
}

void on_signal(int sig) {
  if (g_signal.exchange(sig) != 0) {
    // Second signal: the user insists. Restore the default action and re-raise.
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
}
}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void install_reload_handler() {
  struct sigaction sa = {};
  sa.sa_handler = on_hup;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGHUP, &sa, nullptr);
}

bool take_reload_request() {
  return g_reload.exchange(false);
}

bool interrupted() {
  return g_signal.load() != 0;
}

void check_interrupted() {
  int sig = g_signal.load();
  if (sig != 0) {
    throw Error(std::string("interrupted by ") + (sig == SIGINT ? "SIGINT" : "SIGTERM"),
                ExitCode::kInterrupted);
  }
}

void set_interrupted(bool value) {
  g_signal.store(value ? SIGTERM : 0);
}

}  // namespace podlift
