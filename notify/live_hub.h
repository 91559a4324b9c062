// LiveHub: turns the job changes read from the database into the event
// streams nginx holds (nchan), so that every subscriber gets first a `state`
// event per job it may see, then each later event once and in order.
//
// How a stream starts without a gap or a repeat. A subscriber reads two
// channels at once (nchan multiplexing): its own s.<sid> and the stream's
// channel C (j.<job> or o.<owner>). Before nchan subscribes it, nginx asks
// the dispatcher (nchan_authorize_request -> Open): the hub publishes the
// subscriber's first events into s.<sid>, where nchan keeps them for the
// subscriber to read first, and holds C: events for C wait in the hub. Once
// nchan has subscribed it (nchan_subscribe_request -> Subscribed) the hub
// publishes what waited. The first events are made from what the hub has
// published on C, so they are exactly the stream's state at the cut. A hold
// lasts at most `hold_ms` (a client that left in between) and delays only
// the streams of C, which belong to the same owner.
//
// Progress events are thinned to one per second per job (the latest value
// wins); a state change drops a pending progress of its job, which would be
// older. A job's channel is deleted after its terminal state, which ends the
// job's streams. Every `keepalive_ms` a comment goes to every stream.
//
// Thread safety: every method may be called from any thread; one mutex
// orders them, and publishing happens under it (a local unix socket).
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/status.h"
#include "notify/channel_publisher.h"
#include "notify/live_event.h"

namespace renderq::notify {

struct LiveHubOptions {
  TimeMs hold_ms = 500;                 // nginx subscribes within milliseconds of Open
  TimeMs progress_interval_ms = 1'000;  // SPEC: at most one progress per second per job
  TimeMs keepalive_ms = 15'000;
  std::size_t recent_terminal = 10'000;  // finished jobs remembered for late subscribers
};

class LiveHub {
 public:
  using Log = std::function<void(std::string_view)>;

  // `publisher` and `clock` must outlive the hub.
  LiveHub(ChannelPublisher* publisher, const Clock* clock, LiveHubOptions options = {},
          Log log = nullptr);

  // The dispatcher (re)starts: the active jobs' states as the database holds
  // them, without publishing them (streams open now already have them).
  void Load(const std::vector<LiveEvent>& states);

  // A change, in commit order.
  void OnEvent(const LiveEvent& event);

  // nginx is about to subscribe `sid` to `channel` (j.<job> or o.<owner>).
  // kInvalidArgument for a name that is neither.
  Status Open(const std::string& sid, const std::string& channel);
  // nginx has subscribed `sid`.
  void Subscribed(const std::string& sid);

  // Runs what is due: holds that ran out, thinned progress, keep-alives.
  void Tick();
  // When Tick() has something to do next.
  TimeMs NextTickAt() const;

 private:
  struct JobView {
    nlohmann::json job;
    std::int64_t seq = 0;
  };
  struct Channel {
    std::map<std::string, JobView> jobs;  // active jobs as published on the channel
    std::int64_t last_seq = 0;
    std::deque<LiveEvent> waiting;  // events held back while holds > 0
    int holds = 0;
  };
  struct Hold {
    std::string channel;
    TimeMs deadline = 0;
    bool end_after = false;  // the job had finished: the stream ends after its first event
  };
  struct Progress {
    TimeMs last_at = -1'000'000'000;
    std::optional<LiveEvent> pending;
  };
  struct Finished {
    nlohmann::json job;
    std::int64_t seq = 0;
  };

  void Dispatch(const LiveEvent& event);
  void Apply(const std::string& name, const LiveEvent& event);
  void UpdateView(Channel& channel, const LiveEvent& event);
  void Release(const std::string& sid);
  void DropIfIdle(const std::string& name);
  void Remember(const LiveEvent& terminal);
  void PublishOrLog(const std::string& channel, std::string_view message, int keep);

  ChannelPublisher* publisher_;
  const Clock* clock_;
  LiveHubOptions options_;
  Log log_;
  mutable std::mutex mu_;
  std::map<std::string, Channel> channels_;
  std::map<std::string, Hold> holds_;         // by sid
  std::map<std::string, Progress> progress_;  // by job
  std::map<std::string, Finished> finished_;  // by job
  std::deque<std::string> finished_order_;
  TimeMs next_keepalive_at_ = 0;
};

}  // namespace renderq::notify
