#include "worker/signals.h"

#include <csignal>

namespace renderq {
namespace {

// SIGUSR1 ends the watcher; SIGUSR2 only interrupts the main thread's poll().
sigset_t WatchedSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) sigaddset(&set, s);
  return set;
}

void IgnoreWakeUp(int /*signal*/) {}

}  // namespace

SignalWatcher::SignalWatcher(std::atomic<bool>* stop, std::function<void(int)> on_stop,
                             std::function<void()> on_hangup)
    : stop_(stop),
      on_stop_(std::move(on_stop)),
      on_hangup_(std::move(on_hangup)),
      main_thread_(pthread_self()) {
  struct sigaction wake {};
  wake.sa_handler = IgnoreWakeUp;
  sigemptyset(&wake.sa_mask);
  wake.sa_flags = 0;  // no SA_RESTART: a blocking poll() returns EINTR
  sigaction(SIGUSR2, &wake, nullptr);
  const sigset_t set = WatchedSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  thread_ = std::thread([this] { Loop(); });
}

SignalWatcher::~SignalWatcher() {
  quit_ = true;
  pthread_kill(thread_.native_handle(), SIGUSR1);
  thread_.join();
}

void SignalWatcher::Loop() {
  const sigset_t set = WatchedSignals();
  while (!quit_.load()) {
    int signal = 0;
    if (sigwait(&set, &signal) != 0) continue;
    if (signal == SIGHUP) {
      if (on_hangup_) on_hangup_();
    } else if (signal == SIGTERM || signal == SIGINT) {
      stop_->store(true);
      if (on_stop_) on_stop_(signal);
      pthread_kill(main_thread_, SIGUSR2);
    }
  }
}

}  // namespace renderq
