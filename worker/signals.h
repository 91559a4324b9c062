// SignalWatcher: SIGTERM/SIGINT/SIGHUP handled on a dedicated thread.
//
// Construct it in main() before starting any other thread: it blocks those
// signals in the calling thread, so every thread started later inherits the
// mask and only the watcher's sigwait() receives them. SIGTERM and SIGINT set
// the stop flag (a repeated one changes nothing: the exit is already bounded)
// and poke the main thread with SIGUSR2 (a no-op handler
// without SA_RESTART) so a poll() it sits in returns at once; SIGHUP calls the
// reopen callback (log rotation).
//
// Thread safety: the callbacks run on the watcher thread. The destructor
// stops and joins it.
#pragma once

#include <pthread.h>
#include <atomic>
#include <functional>
#include <thread>

namespace renderq {

class SignalWatcher {
 public:
  SignalWatcher(std::atomic<bool>* stop, std::function<void(int signal)> on_stop,
                std::function<void()> on_hangup);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  void Loop();

  std::atomic<bool>* stop_;
  std::function<void(int)> on_stop_;
  std::function<void()> on_hangup_;
  pthread_t main_thread_;
  std::atomic<bool> quit_{false};
  std::thread thread_;
};

}  // namespace renderq
