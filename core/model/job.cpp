#include "core/model/job.h"

#include <array>
#include <cstdio>
#include <ctime>

#include <nlohmann/json.hpp>

namespace renderq {
namespace {

constexpr std::array<std::pair<JobState, const char*>, 5> kStateNames = {{
    {JobState::kQueued, "queued"},
    {JobState::kRunning, "running"},
    {JobState::kSucceeded, "succeeded"},
    {JobState::kFailed, "failed"},
    {JobState::kCanceled, "canceled"},
}};

template <typename T>
nlohmann::json OrNull(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json TimestampOrNull(const std::optional<TimeMs>& t) {
  return t ? nlohmann::json(FormatTimestamp(*t)) : nlohmann::json(nullptr);
}

}  // namespace

const char* JobStateName(JobState state) {
  for (const auto& [s, name] : kStateNames) {
    if (s == state) return name;
  }
  return "unknown";
}

std::optional<JobState> ParseJobState(std::string_view name) {
  for (const auto& [s, n] : kStateNames) {
    if (name == n) return s;
  }
  return std::nullopt;
}

std::string FormatTimestamp(TimeMs t) {
  // Floor division so times before the epoch still get a 0..999 millisecond part.
  TimeMs ms = t % 1000;
  TimeMs secs = t / 1000;
  if (ms < 0) {
    ms += 1000;
    secs -= 1;
  }
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  if (gmtime_r(&tt, &tm) == nullptr) return "invalid-time";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

nlohmann::json JobToJson(const Job& job) {
  // Member by member rather than from an initializer list: the list builds
  // every pair as a temporary array first, which costs a submit's answer
  // about twice the work.
  const std::string self = "/api/v1/jobs/" + job.id;
  nlohmann::json j = nlohmann::json::object();
  j["id"] = job.id;
  j["state"] = JobStateName(job.state);
  j["progress"] = job.progress;
  j["attempts"] = job.attempts;
  j["cancel_requested"] = job.cancel_requested;
  j["created_at"] = FormatTimestamp(job.created_at);
  j["started_at"] = TimestampOrNull(job.started_at);
  j["finished_at"] = TimestampOrNull(job.finished_at);
  j["kind"] = job.kind;
  j["media_type"] = job.media_type.value_or("image/png");
  if (job.scene) {
    j["width"] = job.scene->width;
    j["height"] = job.scene->height;
    j["samples"] = job.scene->samples;
  }
  nlohmann::json& links = j["links"];
  links["result"] = self + "/result";
  links["self"] = self;
  // SPEC: position only while queued; eta for queued or running jobs, else null.
  if (job.state == JobState::kQueued) j["position"] = OrNull(job.position);
  const bool active = job.state == JobState::kQueued || job.state == JobState::kRunning;
  j["eta_seconds"] = active ? OrNull(job.eta_seconds) : nlohmann::json(nullptr);
  if (job.error_code) {
    nlohmann::json& error = j["error"];
    error["code"] = *job.error_code;
    error["message"] = job.error_message.value_or("");
  } else {
    j["error"] = nullptr;
  }
  if (IsTerminal(job.state)) {
    j["device"] = OrNull(job.device);
    j["render_seconds"] = OrNull(job.render_seconds);
    if (job.scene) j["samples_per_second"] = OrNull(job.samples_per_second);
  }
  return j;
}

std::string JobJsonText(const Job& job) {
  return JobToJson(job).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace renderq
