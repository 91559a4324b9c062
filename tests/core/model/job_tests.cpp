// The job object as SPEC's HTTP API shows it, and its timestamps.
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "core/model/job.h"

namespace renderq {
namespace {

using Json = nlohmann::json;

Job SampleJob(JobState state) {
  Job job;
  job.id = "3f1c0a6e-1b2c-4d3e-8f40-5a6b7c8d9e0f";
  job.state = state;
  job.created_at = 1795300200123;  // 2026-11-21T22:30:00.123Z
  job.scene = SceneShape{640, 360, 64, 8};
  return job;
}

BOOST_AUTO_TEST_SUITE(job_model)

BOOST_AUTO_TEST_CASE(state_names_round_trip) {
  for (JobState s : {JobState::kQueued, JobState::kRunning, JobState::kSucceeded, JobState::kFailed,
                     JobState::kCanceled}) {
    BOOST_TEST((ParseJobState(JobStateName(s)) == s));
  }
  BOOST_TEST(std::string(JobStateName(JobState::kCanceled)) == "canceled");
  BOOST_TEST(!ParseJobState("cancelled").has_value());
  BOOST_TEST(!ParseJobState("QUEUED").has_value());
  BOOST_TEST(!ParseJobState("").has_value());
}

BOOST_AUTO_TEST_CASE(timestamps_are_iso8601_utc_with_milliseconds) {
  struct Row {
    TimeMs t;
    const char* text;
  };
  for (const Row& row :
       {Row{0, "1970-01-01T00:00:00.000Z"}, Row{1795300200123, "2026-11-21T22:30:00.123Z"},
        Row{951782400007, "2000-02-29T00:00:00.007Z"}, Row{-1, "1969-12-31T23:59:59.999Z"},
        Row{253402300799999, "9999-12-31T23:59:59.999Z"}}) {
    BOOST_TEST(FormatTimestamp(row.t) == row.text);
  }
}

BOOST_AUTO_TEST_CASE(queued_job_has_position_and_eta) {
  Job job = SampleJob(JobState::kQueued);
  job.position = 3;
  job.eta_seconds = 41.5;
  Json j = JobToJson(job);
  const Json expected = Json::parse(R"({
    "id": "3f1c0a6e-1b2c-4d3e-8f40-5a6b7c8d9e0f", "state": "queued", "position": 3,
    "progress": 0.0, "attempts": 0, "cancel_requested": false,
    "created_at": "2026-11-21T22:30:00.123Z", "started_at": null, "finished_at": null,
    "eta_seconds": 41.5, "error": null, "kind": "scene", "width": 640, "height": 360,
    "samples": 64,
    "links": {"self": "/api/v1/jobs/3f1c0a6e-1b2c-4d3e-8f40-5a6b7c8d9e0f",
              "result": "/api/v1/jobs/3f1c0a6e-1b2c-4d3e-8f40-5a6b7c8d9e0f/result"}})");
  BOOST_TEST(j == expected, j.dump());
}

BOOST_AUTO_TEST_CASE(running_job_has_eta_but_no_position) {
  Job job = SampleJob(JobState::kRunning);
  job.position = 1;  // ignored: only queued jobs have a place in line
  job.eta_seconds = 12.0;
  job.started_at = 1795300201000;
  job.progress = 0.25;
  job.cancel_requested = true;
  Json j = JobToJson(job);
  BOOST_TEST(!j.contains("position"));
  BOOST_TEST(j["eta_seconds"] == 12.0);
  BOOST_TEST(j["started_at"] == "2026-11-21T22:30:01.000Z");
  BOOST_TEST(j["progress"] == 0.25);
  BOOST_TEST(j["cancel_requested"] == true);
  BOOST_TEST(!j.contains("device"));
}

BOOST_AUTO_TEST_CASE(finished_jobs_report_device_and_timings) {
  Job job = SampleJob(JobState::kSucceeded);
  job.eta_seconds = 5.0;  // ignored once finished
  job.started_at = 1795300201000;
  job.finished_at = 1795300210500;
  job.progress = 1.0;
  job.device = "cuda:0 NVIDIA H100";
  job.render_seconds = 9.5;
  job.samples_per_second = 1552000.0;
  Json j = JobToJson(job);
  BOOST_TEST(j["state"] == "succeeded");
  BOOST_TEST(j["eta_seconds"].is_null());
  BOOST_TEST(j["finished_at"] == "2026-11-21T22:30:10.500Z");
  BOOST_TEST(j["device"] == "cuda:0 NVIDIA H100");
  BOOST_TEST(j["render_seconds"] == 9.5);
  BOOST_TEST(j["samples_per_second"] == 1552000.0);
  BOOST_TEST(j["error"].is_null());
}

BOOST_AUTO_TEST_CASE(failed_job_has_an_error_object) {
  Job job = SampleJob(JobState::kFailed);
  job.attempts = 3;
  job.error_code = std::string(kErrorWorkerLost);
  job.error_message = "worker stopped sending heartbeats 3 times";
  Json j = JobToJson(job);
  BOOST_TEST(j["error"] == Json({{"code", "worker_lost"},
                                 {"message", "worker stopped sending heartbeats 3 times"}}));
  BOOST_TEST(j["attempts"] == 3);
  BOOST_TEST(!j.contains("position"));
}

BOOST_AUTO_TEST_CASE(canceled_while_queued_has_null_device) {
  Json j = JobToJson(SampleJob(JobState::kCanceled));
  BOOST_TEST(j["state"] == "canceled");
  BOOST_TEST(j["device"].is_null());
  BOOST_TEST(j["render_seconds"].is_null());
  BOOST_TEST(j["samples_per_second"].is_null());
  BOOST_TEST(j["eta_seconds"].is_null());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq
