#include "notify/live_hub.h"

#include <algorithm>

#include "notify/live_channels.h"
#include "notify/sse_frame.h"

namespace renderq::notify {

namespace {

const char* EventName(LiveEvent::Kind kind) {
  return kind == LiveEvent::Kind::kState ? "state" : "progress";
}

std::vector<std::string> ChannelsOf(const std::vector<std::string>& sids) {
  std::vector<std::string> out;
  out.reserve(sids.size());
  for (const std::string& sid : sids) out.push_back(SubscriberChannel(sid));
  return out;
}

// The streams' channels, `batch` to a request (one request names at most
// that many channels; nginx's limit on a channel id's length).
template <typename Send>
void InBatches(const std::vector<std::string>& sids, std::size_t batch, Send send) {
  const std::vector<std::string> channels = ChannelsOf(sids);
  for (std::size_t i = 0; i < channels.size(); i += batch) {
    send(std::vector<std::string>(
        channels.begin() + static_cast<std::ptrdiff_t>(i),
        channels.begin() + static_cast<std::ptrdiff_t>(std::min(channels.size(), i + batch))));
  }
}

}  // namespace

LiveHub::LiveHub(ChannelPublisher* publisher, const Clock* clock, LiveHubOptions options, Log log)
    : publisher_(publisher), clock_(clock), options_(options), log_(std::move(log)) {
  if (!log_) log_ = [](std::string_view) {};
  next_keepalive_at_ = clock_->NowMs() + options_.keepalive_ms;
}

void LiveHub::Start(const std::vector<LiveEvent>& states) {
  std::lock_guard<std::mutex> lock(mu_);
  // Streams of an earlier dispatcher read k too: deleting it ends them, and
  // their clients come back to this one.
  if (Status s = publisher_->Delete({std::string(kKeepAliveChannel)}); !s.ok()) {
    log_("cannot end the streams of an earlier dispatcher: " + s.ToString());
  }
  // The views start again from the database: what they held may be stale
  // (a dispatcher that lost the database missed events meanwhile).
  jobs_.clear();
  owned_.clear();
  progress_.clear();
  for (const LiveEvent& e : states) {
    if (e.kind == LiveEvent::Kind::kState && !e.terminal) UpdateView(e);
  }
}

void LiveHub::PublishTo(const std::vector<std::string>& sids, std::string_view message) {
  InBatches(sids, options_.batch, [&](const std::vector<std::string>& batch) {
    if (Status s = publisher_->Publish(batch, message); !s.ok()) {
      // nginx down or restarting: its streams are gone with it, and clients
      // that reconnect start from the views kept here.
      log_("cannot publish to " + std::to_string(batch.size()) + " streams: " + s.ToString());
    }
  });
}

void LiveHub::End(const std::vector<std::string>& sids) {
  InBatches(sids, options_.batch, [&](const std::vector<std::string>& batch) {
    if (Status s = publisher_->Delete(batch); !s.ok()) {
      log_("cannot end " + std::to_string(batch.size()) + " streams: " + s.ToString());
    }
  });
  for (const std::string& sid : sids) Forget(sid);
}

void LiveHub::UpdateView(const LiveEvent& e) {
  last_seq_ = std::max(last_seq_, e.seq);
  if (e.kind == LiveEvent::Kind::kState) {
    if (e.terminal) {
      jobs_.erase(e.job_id);
      if (auto it = owned_.find(e.owner_id); it != owned_.end()) {
        it->second.erase(e.job_id);
        if (it->second.empty()) owned_.erase(it);
      }
      return;
    }
    auto parsed = nlohmann::ordered_json::parse(e.data, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_object()) return;
    jobs_[e.job_id] = JobView{e.owner_id, std::move(parsed), e.seq};
    owned_[e.owner_id].insert(e.job_id);
    return;
  }
  // Progress: the job object a later subscriber starts from shows it too.
  const auto it = jobs_.find(e.job_id);
  if (it == jobs_.end()) return;
  const auto progress = nlohmann::ordered_json::parse(e.data, nullptr, false);
  if (!progress.is_object()) return;
  for (const char* key : {"progress", "eta_seconds"}) {
    if (progress.contains(key)) it->second.job[key] = progress[key];
  }
  it->second.seq = e.seq;
}

void LiveHub::Remember(const LiveEvent& e) {
  auto parsed = nlohmann::ordered_json::parse(e.data, nullptr, false);
  if (!parsed.is_object()) return;
  if (finished_.insert_or_assign(e.job_id, JobView{e.owner_id, std::move(parsed), e.seq}).second) {
    finished_order_.push_back(e.job_id);
  }
  while (finished_order_.size() > options_.recent_terminal) {
    finished_.erase(finished_order_.front());
    finished_order_.pop_front();
  }
}

void LiveHub::Forget(const std::string& sid) {
  const auto it = streams_.find(sid);
  if (it == streams_.end()) return;
  if (auto r = readers_.find(it->second.channel); r != readers_.end()) {
    r->second.erase(sid);
    if (r->second.empty()) readers_.erase(r);
  }
  streams_.erase(it);
}

void LiveHub::Dispatch(const LiveEvent& e) {
  UpdateView(e);
  std::vector<std::string> job_readers, all;
  if (auto r = readers_.find(JobChannel(e.job_id)); r != readers_.end()) {
    job_readers.assign(r->second.begin(), r->second.end());
  }
  all = job_readers;
  if (auto r = readers_.find(OwnerChannel(e.owner_id)); r != readers_.end()) {
    all.insert(all.end(), r->second.begin(), r->second.end());
  }
  if (!all.empty()) PublishTo(all, SseFrame(e.seq, EventName(e.kind), e.data));
  // The job's streams end after its terminal state, just sent.
  if (e.terminal) {
    const TimeMs now = clock_->NowMs();
    for (const std::string& sid : job_readers) EndLater(sid, now);
  }
}

void LiveHub::EndLater(const std::string& sid, TimeMs now) {
  const auto it = streams_.find(sid);
  if (it == streams_.end()) return;
  // Nothing more is published to it; it is deleted (and forgotten) when due.
  if (auto r = readers_.find(it->second.channel); r != readers_.end()) {
    r->second.erase(sid);
    if (r->second.empty()) readers_.erase(r);
  }
  it->second.channel.clear();
  ending_.emplace(now + options_.end_delay_ms, sid);
}

void LiveHub::OnEvent(const LiveEvent& e) {
  std::lock_guard<std::mutex> lock(mu_);
  const TimeMs now = clock_->NowMs();
  if (e.kind == LiveEvent::Kind::kProgress) {
    Progress& p = progress_[e.job_id];
    if (now - p.last_at >= options_.progress_interval_ms) {
      p.last_at = now;
      p.pending.reset();
      Dispatch(e);
    } else {
      p.pending = e;  // the latest value wins
    }
    return;
  }
  if (e.terminal) {
    progress_.erase(e.job_id);
    Remember(e);
  } else if (const auto it = progress_.find(e.job_id); it != progress_.end()) {
    it->second.pending.reset();  // older than this change
  }
  Dispatch(e);
}

std::string LiveHub::FirstEvents(Stream& stream) {
  const std::string& channel = stream.channel;
  std::vector<const JobView*> views;
  if (channel.starts_with("j.")) {
    const std::string job = channel.substr(2);
    if (const auto it = jobs_.find(job); it != jobs_.end()) {
      views.push_back(&it->second);
    } else if (const auto done = finished_.find(job); done != finished_.end()) {
      // Finished between the responder's look and now: its final state, then the end.
      views.push_back(&done->second);
      stream.end_after = true;
    }
  } else if (const auto owned = owned_.find(std::stoll(channel.substr(2))); owned != owned_.end()) {
    for (const std::string& job : owned->second) views.push_back(&jobs_.at(job));
    // In the order the jobs were submitted (RFC 3339 UTC times sort as text).
    std::sort(views.begin(), views.end(), [](const JobView* a, const JobView* b) {
      const std::string ta = a->job.value("created_at", ""), tb = b->job.value("created_at", "");
      return ta != tb ? ta < tb : a->job.value("id", "") < b->job.value("id", "");
    });
  }
  std::string first;
  for (const JobView* view : views) {
    first += SseFrame(stream.end_after ? view->seq : last_seq_, "state", view->job.dump());
  }
  // A stream with nothing to show yet gets a comment: its channel exists.
  if (first.empty()) first = SseComment("stream open");
  return first;
}

Status LiveHub::Open(const std::string& sid, const std::string& channel) {
  if (!StreamChannel(channel)) return Status::InvalidArgument("not a stream channel: " + channel);
  std::lock_guard<std::mutex> lock(mu_);
  if (streams_.count(sid)) return Status::InvalidArgument("stream " + sid + " is open already");
  streams_.emplace(sid, Stream{channel, clock_->NowMs(), false, false});
  return Status::Ok();
}

void LiveHub::Subscribed(const std::string& sid) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = streams_.find(sid);
  if (it == streams_.end() || it->second.subscribed) return;
  Stream& stream = it->second;
  stream.subscribed = true;
  // The first events and everything after go out in one order from here,
  // under the lock that orders events: nothing falls between them.
  PublishTo({sid}, FirstEvents(stream));
  if (stream.end_after) {
    EndLater(sid, clock_->NowMs());
  } else {
    readers_[stream.channel].insert(sid);
  }
}

void LiveHub::Unsubscribed(const std::string& sid) {
  std::lock_guard<std::mutex> lock(mu_);
  Forget(sid);
}

std::size_t LiveHub::streams() const {
  std::lock_guard<std::mutex> lock(mu_);
  return streams_.size();
}

void LiveHub::Tick() {
  std::lock_guard<std::mutex> lock(mu_);
  const TimeMs now = clock_->NowMs();
  std::vector<std::string> due;
  while (!ending_.empty() && ending_.begin()->first <= now) {
    due.push_back(ending_.begin()->second);
    ending_.erase(ending_.begin());
  }
  if (!due.empty()) End(due);
  std::vector<std::string> abandoned;
  for (const auto& [sid, stream] : streams_) {
    if (!stream.subscribed && now - stream.opened_at >= options_.subscribe_within_ms) {
      abandoned.push_back(sid);
    }
  }
  for (const std::string& sid : abandoned) Forget(sid);
  for (auto& [job, p] : progress_) {
    if (p.pending && now - p.last_at >= options_.progress_interval_ms) {
      const LiveEvent e = std::move(*p.pending);
      p.pending.reset();
      p.last_at = now;
      Dispatch(e);
    }
  }
  if (now >= next_keepalive_at_) {
    if (Status s = publisher_->Publish({std::string(kKeepAliveChannel)}, SseComment("keep-alive"));
        !s.ok()) {
      log_("cannot send keep-alives: " + s.ToString());
    }
    next_keepalive_at_ = now + options_.keepalive_ms;
  }
}

TimeMs LiveHub::NextTickAt() const {
  std::lock_guard<std::mutex> lock(mu_);
  TimeMs next = next_keepalive_at_;
  if (!ending_.empty()) next = std::min(next, ending_.begin()->first);
  for (const auto& [sid, stream] : streams_) {
    if (!stream.subscribed) next = std::min(next, stream.opened_at + options_.subscribe_within_ms);
  }
  for (const auto& [job, p] : progress_) {
    if (p.pending) next = std::min(next, p.last_at + options_.progress_interval_ms);
  }
  return next;
}

}  // namespace renderq::notify
