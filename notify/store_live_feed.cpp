#include "notify/store_live_feed.h"

#include <nlohmann/json.hpp>

namespace renderq::notify {

namespace {

LiveEvent StateEvent(std::int64_t seq, const std::string& job_id, std::int64_t owner_id,
                     JobState state, std::string json) {
  LiveEvent e;
  e.seq = seq;
  e.kind = LiveEvent::Kind::kState;
  e.job_id = job_id;
  e.owner_id = owner_id;
  e.data = std::move(json);
  e.terminal = IsTerminal(state);
  return e;
}

}  // namespace

Result<LiveSnapshot> StoreLiveFeed::Snapshot() {
  ASSIGN_OR_RETURN(ActiveJobs active, store_->ReadActiveJobs());
  LiveSnapshot snapshot;
  snapshot.position = active.last_event;
  running_.clear();
  reported_.clear();
  for (const Job& job : active.jobs) {
    snapshot.states.push_back(
        StateEvent(active.last_event, job.id, job.owner_id, job.state, JobJsonText(job)));
    if (job.state == JobState::kRunning) running_[job.id] = job.owner_id;
  }
  return snapshot;
}

Result<std::vector<LiveEvent>> StoreLiveFeed::ReadAfter(std::int64_t position, std::size_t limit) {
  ASSIGN_OR_RETURN(std::vector<JobEvent> events, store_->JobEventsAfter(position, limit));
  std::vector<LiveEvent> out;
  out.reserve(events.size());
  for (JobEvent& e : events) {
    if (e.state == JobState::kRunning) {
      running_[e.job_id] = e.owner_id;
    } else {
      running_.erase(e.job_id);
      reported_.erase(e.job_id);
    }
    position = e.seq;
    out.push_back(StateEvent(e.seq, e.job_id, e.owner_id, e.state, std::move(e.job_json)));
  }
  // A full batch: more events wait; progress comes when the feed has caught up.
  if (events.size() < limit) RETURN_IF_ERROR(AddProgress(position, out));
  return out;
}

Status StoreLiveFeed::AddProgress(std::int64_t position, std::vector<LiveEvent>& events) {
  const TimeMs now = clock_->NowMs();
  if (running_.empty() || now - progress_read_at_ < progress_every_ms_) return Status::Ok();
  progress_read_at_ = now;
  ASSIGN_OR_RETURN(QueueSnapshot queue, store_->Queue());
  for (const Job& job : queue.running) {
    const auto known = running_.find(job.id);
    if (known == running_.end()) continue;
    const auto last = reported_.find(job.id);
    if (last != reported_.end() && last->second == job.progress) continue;
    reported_[job.id] = job.progress;
    LiveEvent e;
    e.seq = position;
    e.kind = LiveEvent::Kind::kProgress;
    e.job_id = job.id;
    e.owner_id = known->second;
    nlohmann::json data = {{"id", job.id}, {"progress", job.progress}};
    data["eta_seconds"] = job.eta_seconds ? nlohmann::json(*job.eta_seconds) : nlohmann::json();
    e.data = data.dump();
    events.push_back(std::move(e));
  }
  return Status::Ok();
}

void StoreLiveFeed::WaitForChange(TimeMs timeout_ms) {
  // While jobs run, look at least as often as progress is read.
  if (!running_.empty()) timeout_ms = std::min(timeout_ms, progress_every_ms_);
  (void)store_->WaitForChange(std::chrono::milliseconds(std::max<TimeMs>(0, timeout_ms)));
}

}  // namespace renderq::notify
