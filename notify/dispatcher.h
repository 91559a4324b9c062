// Dispatcher: what renderq-notify runs. Three loops on their own threads:
//
//   live      reads the outbox (LiveFeed) in commit order and hands every
//             event to the LiveHub, which publishes it to nginx; runs the
//             hub's timers; wakes the delivery engine when events arrive
//   webhooks  the DeliveryEngine (libcurl multi)
//   hooks     the HookServer nginx asks about each event stream
//
// Storage trouble is logged and retried every second; the dispatcher never
// exits for it. Stop() ends all three within about a second.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string_view>
#include <thread>

#include "core/model/clock.h"
#include "core/model/status.h"
#include "notify/delivery_engine.h"
#include "notify/hook_server.h"
#include "notify/live_feed.h"
#include "notify/live_hub.h"

namespace renderq::notify {

class Dispatcher {
 public:
  using Log = std::function<void(std::string_view)>;

  // Every pointer must outlive the dispatcher. `engine` and `hooks` may be
  // null (live events only, or webhooks only).
  Dispatcher(LiveFeed* feed, LiveHub* hub, DeliveryEngine* engine, HookServer* hooks,
             const Clock* clock, Log log);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  void Start();
  void Stop();

  // The position of the last event handed to the hub (for tests and logs).
  std::int64_t position() const { return position_.load(); }

 private:
  void LiveLoop();
  bool Resume();

  LiveFeed* feed_;
  LiveHub* hub_;
  DeliveryEngine* engine_;
  HookServer* hooks_;
  const Clock* clock_;
  Log log_;
  std::atomic<bool> stop_{false};
  std::atomic<std::int64_t> position_{0};
  bool started_feed_ = false;
  std::thread live_;
  std::thread webhooks_;
};

}  // namespace renderq::notify
