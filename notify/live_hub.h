// LiveHub: turns the job changes read from the database into the event
// streams nginx holds (nchan), so that every subscriber gets first a `state`
// event per job it may see, then each later event once and in order.
//
// Every stream reads a channel of its own, s.<sid> (and the keep-alive
// channel k). nginx tells the dispatcher's hook server about a stream twice:
// before nchan subscribes it (an auth_request -> Open: the stream may start,
// for the channel the responder chose after checking the token), and once
// nchan has subscribed it (nchan_subscribe_request -> Subscribed). Then the
// hub publishes the stream's first events into s.<sid>, made from its views
// of the jobs as published so far, and from then on every event the stream
// may see (its job's, or its owner's), all under one lock: nothing falls
// between the first events and the next, and one channel has one order.
// nchan keeps no message (subscribers start at the newest): with several
// nginx workers, Debian's nchan 1.3.6 was seen to drop messages a
// subscriber should have fetched from a channel's store, never ones pushed
// to it live; and a stream that reads only its own channel cannot be handed
// a message that was on its way between workers when it started.
//
// The views hold, per active job, the job object as of its last published
// change (progress included). A job's streams end after its terminal state:
// their channels are deleted `end_delay_ms` later, because nchan may hand a
// subscriber a deletion before a message published just ahead of it. A
// subscriber to a job that has just finished gets its final state and its
// stream ends the same way. When the dispatcher starts, it deletes k, which
// ends the streams of an earlier dispatcher (which it does not know): their
// clients reconnect and start afresh here.
//
// Progress events are thinned to one per second per job (the latest value
// wins); a state change drops a pending progress of its job, which would be
// older. Every `keepalive_ms` a comment goes to every stream.
//
// Thread safety: every method may be called from any thread; one mutex
// orders them, and publishing happens under it (a local unix socket).
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/model/clock.h"
#include "core/model/status.h"
#include "notify/channel_publisher.h"
#include "notify/live_event.h"

namespace renderq::notify {

struct LiveHubOptions {
  TimeMs progress_interval_ms = 1'000;  // SPEC: at most one progress per second per job
  TimeMs keepalive_ms = 15'000;
  TimeMs subscribe_within_ms = 10'000;   // an Open never followed by a subscription is dropped
  TimeMs end_delay_ms = 1'000;           // from a job's terminal state to the end of its streams
  std::size_t batch = 100;               // channels per publish request
  std::size_t recent_terminal = 10'000;  // finished jobs remembered for late subscribers
};

class LiveHub {
 public:
  using Log = std::function<void(std::string_view)>;

  // `publisher` and `clock` must outlive the hub.
  LiveHub(ChannelPublisher* publisher, const Clock* clock, LiveHubOptions options = {},
          Log log = nullptr);

  // The dispatcher (re)starts, or lost the database for a while: ends every
  // stream open so far (their clients reconnect and start afresh) and takes
  // the active jobs' states as the database holds them.
  void Start(const std::vector<LiveEvent>& states);

  // A change, in commit order.
  void OnEvent(const LiveEvent& event);

  // nginx is about to subscribe `sid` to the stream of `channel` (j.<job> or
  // o.<owner>). kInvalidArgument for any other name or a sid seen before.
  Status Open(const std::string& sid, const std::string& channel);
  // nginx has subscribed `sid`: its first events go out now; and later, its
  // client has gone.
  void Subscribed(const std::string& sid);
  void Unsubscribed(const std::string& sid);

  // Runs what is due: thinned progress, keep-alives, forgotten Opens.
  void Tick();
  // When Tick() has something to do next.
  TimeMs NextTickAt() const;

  std::size_t streams() const;

 private:
  struct JobView {
    std::int64_t owner_id = 0;
    nlohmann::ordered_json job;
    std::int64_t seq = 0;
  };
  struct Stream {
    std::string channel;  // j.<job> or o.<owner>
    TimeMs opened_at = 0;
    bool subscribed = false;
    bool end_after = false;  // the job had finished: end after the first event
  };
  struct Progress {
    TimeMs last_at = -1'000'000'000;
    std::optional<LiveEvent> pending;
  };

  std::string FirstEvents(Stream& stream);
  void Dispatch(const LiveEvent& event);
  void UpdateView(const LiveEvent& event);
  void Remember(const LiveEvent& terminal);
  void Forget(const std::string& sid);
  void PublishTo(const std::vector<std::string>& sids, std::string_view message);
  void End(const std::vector<std::string>& sids);
  void EndLater(const std::string& sid, TimeMs now);

  ChannelPublisher* publisher_;
  const Clock* clock_;
  LiveHubOptions options_;
  Log log_;
  mutable std::mutex mu_;
  std::map<std::string, JobView> jobs_;                   // active jobs
  std::map<std::int64_t, std::set<std::string>> owned_;   // owner -> active jobs
  std::map<std::string, Stream> streams_;                 // by sid
  std::map<std::string, std::set<std::string>> readers_;  // channel -> sids
  std::map<std::string, Progress> progress_;              // by job
  std::multimap<TimeMs, std::string> ending_;             // due time -> sid to end
  std::map<std::string, JobView> finished_;               // by job, bounded
  std::deque<std::string> finished_order_;
  std::int64_t last_seq_ = 0;
  TimeMs next_keepalive_at_ = 0;
};

}  // namespace renderq::notify
