#include "notify/live_hub.h"

#include <algorithm>

#include "notify/live_channels.h"
#include "notify/sse_frame.h"

namespace renderq::notify {

namespace {

const char* EventName(LiveEvent::Kind kind) {
  return kind == LiveEvent::Kind::kState ? "state" : "progress";
}

}  // namespace

LiveHub::LiveHub(ChannelPublisher* publisher, const Clock* clock, LiveHubOptions options, Log log)
    : publisher_(publisher), clock_(clock), options_(options), log_(std::move(log)) {
  if (!log_) log_ = [](std::string_view) {};
  next_keepalive_at_ = clock_->NowMs() + options_.keepalive_ms;
}

void LiveHub::PublishOrLog(const std::string& channel, std::string_view message, int keep) {
  if (Status s = publisher_->Publish(channel, message, keep); !s.ok()) {
    // nginx down or restarting: its streams are gone with it, and clients
    // that reconnect get their first events from the views kept here.
    log_("cannot publish to " + channel + ": " + s.ToString());
  }
}

void LiveHub::Load(const std::vector<LiveEvent>& states) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const LiveEvent& e : states) {
    if (e.kind != LiveEvent::Kind::kState || e.terminal) continue;
    for (const std::string& name : {JobChannel(e.job_id), OwnerChannel(e.owner_id)}) {
      UpdateView(channels_[name], e);
    }
  }
}

void LiveHub::UpdateView(Channel& channel, const LiveEvent& e) {
  channel.last_seq = std::max(channel.last_seq, e.seq);
  if (e.kind == LiveEvent::Kind::kState) {
    if (e.terminal) {
      channel.jobs.erase(e.job_id);
    } else {
      auto parsed = nlohmann::json::parse(e.data, nullptr, /*allow_exceptions=*/false);
      if (parsed.is_object()) channel.jobs[e.job_id] = JobView{std::move(parsed), e.seq};
    }
    return;
  }
  // Progress: the job object a later subscriber starts from shows it too.
  const auto it = channel.jobs.find(e.job_id);
  if (it == channel.jobs.end()) return;
  const auto progress = nlohmann::json::parse(e.data, nullptr, false);
  if (!progress.is_object()) return;
  for (const char* key : {"progress", "eta_seconds"}) {
    if (progress.contains(key)) it->second.job[key] = progress[key];
  }
  it->second.seq = e.seq;
}

void LiveHub::Apply(const std::string& name, const LiveEvent& e) {
  PublishOrLog(name, SseFrame(e.seq, EventName(e.kind), e.data), /*keep=*/0);
  UpdateView(channels_[name], e);
  if (e.terminal && name.starts_with("j.")) {
    // Ends every stream of this job, after the terminal state just sent.
    if (Status s = publisher_->Delete(name); !s.ok()) {
      log_("cannot close the streams of " + name + ": " + s.ToString());
    }
  }
}

void LiveHub::Dispatch(const LiveEvent& e) {
  for (const std::string& name : {JobChannel(e.job_id), OwnerChannel(e.owner_id)}) {
    Channel& channel = channels_[name];
    if (channel.holds > 0) {
      channel.waiting.push_back(e);
    } else {
      Apply(name, e);
      DropIfIdle(name);
    }
  }
}

void LiveHub::DropIfIdle(const std::string& name) {
  const auto it = channels_.find(name);
  if (it != channels_.end() && it->second.holds == 0 && it->second.jobs.empty() &&
      it->second.waiting.empty()) {
    channels_.erase(it);
  }
}

void LiveHub::Remember(const LiveEvent& e) {
  auto parsed = nlohmann::json::parse(e.data, nullptr, false);
  if (!parsed.is_object()) return;
  if (finished_.emplace(e.job_id, Finished{std::move(parsed), e.seq}).second) {
    finished_order_.push_back(e.job_id);
  }
  while (finished_order_.size() > options_.recent_terminal) {
    finished_.erase(finished_order_.front());
    finished_order_.pop_front();
  }
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

Status LiveHub::Open(const std::string& sid, const std::string& name) {
  if (!StreamChannel(name)) return Status::InvalidArgument("not a stream channel: " + name);
  std::lock_guard<std::mutex> lock(mu_);
  if (holds_.count(sid)) return Status::InvalidArgument("subscriber " + sid + " is open already");
  Channel& channel = channels_[name];
  Hold hold{name, clock_->NowMs() + options_.hold_ms, false};

  std::string first;
  if (name.starts_with("j.") && channel.jobs.empty()) {
    // A job that finished between the responder's check and now: its final
    // state, and then the stream ends.
    if (const auto it = finished_.find(name.substr(2)); it != finished_.end()) {
      first = SseFrame(it->second.seq, "state", it->second.job.dump());
      hold.end_after = true;
    }
  } else {
    std::vector<const JobView*> views;
    for (const auto& [id, view] : channel.jobs) views.push_back(&view);
    // In the order the jobs were submitted (RFC 3339 UTC times sort as text).
    std::sort(views.begin(), views.end(), [](const JobView* a, const JobView* b) {
      const std::string ta = a->job.value("created_at", ""), tb = b->job.value("created_at", "");
      return ta != tb ? ta < tb : a->job.value("id", "") < b->job.value("id", "");
    });
    for (const JobView* view : views)
      first += SseFrame(channel.last_seq, "state", view->job.dump());
  }
  if (!first.empty()) PublishOrLog(SubscriberChannel(sid), first, /*keep=*/1);
  ++channel.holds;
  holds_.emplace(sid, std::move(hold));
  return Status::Ok();
}

void LiveHub::Subscribed(const std::string& sid) {
  std::lock_guard<std::mutex> lock(mu_);
  Release(sid);
}

void LiveHub::Release(const std::string& sid) {
  const auto it = holds_.find(sid);
  if (it == holds_.end()) return;
  const Hold hold = it->second;
  holds_.erase(it);
  if (hold.end_after) {
    if (Status s = publisher_->Delete(SubscriberChannel(sid)); !s.ok()) {
      log_("cannot end the stream of " + sid + ": " + s.ToString());
    }
  }
  Channel& channel = channels_[hold.channel];
  if (--channel.holds > 0) return;
  std::deque<LiveEvent> waiting;
  waiting.swap(channel.waiting);
  for (const LiveEvent& e : waiting) Apply(hold.channel, e);
  DropIfIdle(hold.channel);
}

void LiveHub::Tick() {
  std::lock_guard<std::mutex> lock(mu_);
  const TimeMs now = clock_->NowMs();
  std::vector<std::string> expired;
  for (const auto& [sid, hold] : holds_) {
    if (hold.deadline <= now) expired.push_back(sid);
  }
  for (const std::string& sid : expired) Release(sid);
  for (auto& [job, p] : progress_) {
    if (p.pending && now - p.last_at >= options_.progress_interval_ms) {
      const LiveEvent e = std::move(*p.pending);
      p.pending.reset();
      p.last_at = now;
      Dispatch(e);
    }
  }
  if (now >= next_keepalive_at_) {
    PublishOrLog(std::string(kKeepAliveChannel), SseComment("keep-alive"), 0);
    next_keepalive_at_ = now + options_.keepalive_ms;
  }
}

TimeMs LiveHub::NextTickAt() const {
  std::lock_guard<std::mutex> lock(mu_);
  TimeMs next = next_keepalive_at_;
  for (const auto& [sid, hold] : holds_) next = std::min(next, hold.deadline);
  for (const auto& [job, p] : progress_) {
    if (p.pending) next = std::min(next, p.last_at + options_.progress_interval_ms);
  }
  return next;
}

}  // namespace renderq::notify
