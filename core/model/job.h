// The job model: what a job row holds and how the API shows it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace renderq {

enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kCanceled };

const char* JobStateName(JobState state);  // "queued", "running", ...
std::optional<JobState> ParseJobState(std::string_view name);
inline bool IsTerminal(JobState s) {
  return s == JobState::kSucceeded || s == JobState::kFailed || s == JobState::kCanceled;
}

// Milliseconds since the Unix epoch, UTC. Every timestamp in renderq is one.
using TimeMs = std::int64_t;

// Error codes a failed job can carry (the `error.code` of the API).
inline constexpr std::string_view kErrorWorkerLost = "worker_lost";
inline constexpr std::string_view kErrorRenderFailed = "render_failed";
inline constexpr std::string_view kErrorInvalidScene = "invalid_scene";

// The built-in path tracer's kind of job; every other kind is an operator's
// program (SPEC "Your own GPU program: job kinds").
inline constexpr std::string_view kSceneKind = "scene";

// What a scene job asks of the path tracer, kept in its row for listings, the
// API's job object and the cost model; the scene itself is the job's input.
struct SceneShape {
  int width = 0;
  int height = 0;
  int samples = 0;
  int max_depth = 0;
};

struct Job {
  std::string id;        // UUID v4, lowercase, hyphenated
  std::int64_t seq = 0;  // place in line: commit order of the submit
  std::int64_t owner_id = 0;
  JobState state = JobState::kQueued;
  int attempts = 0;
  bool cancel_requested = false;
  double progress = 0.0;  // 0..1
  TimeMs created_at = 0;
  std::optional<TimeMs> started_at;
  std::optional<TimeMs> finished_at;
  std::optional<std::string> error_code;
  std::optional<std::string> error_message;
  std::string kind = std::string(kSceneKind);
  std::optional<SceneShape> scene;           // scene jobs only
  double cost_units = 0.0;                   // pixels × samples × depth: see core/cost_model.h
  std::optional<std::string> device;         // set when finished: "cpu", "cuda:0 NVIDIA H100"
  std::optional<double> render_seconds;      // set when finished
  std::optional<double> samples_per_second;  // set when a scene job finished
  std::optional<std::string> result_etag;    // set when succeeded
  // The result's Content-Type: the kind's output_media_type when the job was
  // submitted; nullopt means image/png (every scene job).
  std::optional<std::string> media_type;

  // Derived when read through the store, not columns.
  std::optional<std::int64_t> position;  // queued only: 1 = next to run
  std::optional<double> eta_seconds;     // queued or running
};

// ISO 8601 with milliseconds: "2026-11-21T22:30:00.123Z".
std::string FormatTimestamp(TimeMs t);

// The API's job object (SPEC "Job object"), links included.
nlohmann::json JobToJson(const Job& job);
// The job object as text. Its strings may hold what a runner wrote (an
// error message with invalid UTF-8): those bytes become U+FFFD instead of an
// exception, as in every response the responder writes.
std::string JobJsonText(const Job& job);

}  // namespace renderq
