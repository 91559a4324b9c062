// The API's success paths and limits, through Api::Handle over a real store.
#include <unistd.h>

#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "fcgi/cursor.h"
#include "tests/fcgi/api_fixture.h"

namespace renderq::test {
namespace {

std::string Header(const HttpResponse& response, std::string_view name) {
  const std::string* value = response.FindHeader(name);
  return value == nullptr ? std::string() : *value;
}

// A scene whose predicted cost is about `seconds` at the store's default
// throughput (2e7 units/s): 640x360 pixels, depth 8, samples scaled.
std::string SceneCosting(int samples) {
  Json scene = ValidSceneJson();
  scene["width"] = 640;
  scene["height"] = 360;
  scene["max_depth"] = 8;
  scene["samples"] = samples;
  return scene.dump();
}

// Registers worker "w" and claims the oldest queued job.
ClaimedJob ClaimOne(JobStore& store) {
  WorkerInfo worker;
  worker.name = "w";
  worker.device = "cpu";
  worker.pid = ::getpid();
  BOOST_TEST_REQUIRE(store.RegisterWorker(worker).ok());
  auto claimed = store.ClaimNext("w");
  BOOST_TEST_REQUIRE(claimed.ok());
  BOOST_TEST_REQUIRE(claimed->has_value());
  return std::move(**claimed);
}

BOOST_AUTO_TEST_SUITE(ApiFlows)

BOOST_AUTO_TEST_CASE(submit_answers_201_with_location_and_the_job) {
  const ApiFixture f;
  const HttpResponse created = f.Call(f.PostJob(ValidScene(), Bearer(f.alice)));
  BOOST_TEST_REQUIRE(created.status == 201, created.body);
  const Json job = BodyJson(created);
  const std::string id = job["id"];
  BOOST_TEST(Header(created, "Location") == "/api/v1/jobs/" + id);
  BOOST_TEST(Header(created, "Content-Type") == "application/json");
  BOOST_TEST(job["state"] == "queued");
  BOOST_TEST(job["position"] == 1);
  BOOST_TEST(job["width"] == 64);
  BOOST_TEST(job["samples"] == 4);
  BOOST_TEST(job["links"]["self"] == "/api/v1/jobs/" + id);
  BOOST_TEST(f.JobRows() == 1);

  const HttpResponse got = f.Call(f.Request("GET", "/api/v1/jobs/" + id, Bearer(f.alice)));
  BOOST_TEST(got.status == 200);
  BOOST_TEST(BodyJson(got)["id"] == id);
  // Ids are accepted in upper case too (UUIDs are case-insensitive).
  std::string upper = id;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  BOOST_TEST(f.Call(f.Request("GET", "/api/v1/jobs/" + upper, Bearer(f.alice))).status == 200);
  BOOST_TEST(f.metrics().Submits(SubmitResult::kCreated) == 1u);
}

BOOST_AUTO_TEST_CASE(charset_parameter_is_accepted) {
  const ApiFixture f;
  HttpRequest r = f.PostJob(ValidScene(), Bearer(f.alice));
  r.content_type = "Application/JSON; charset=\"UTF-8\"";
  BOOST_TEST(f.Call(r).status == 201);
}

BOOST_AUTO_TEST_CASE(list_pages_with_an_opaque_cursor_newest_first) {
  const ApiFixture f;
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(f.SubmitOk(f.alice));
  f.SubmitOk(f.bob);

  std::vector<std::string> seen;
  std::string target = "/api/v1/jobs?limit=2";
  for (int page = 0; page < 10; ++page) {
    const HttpResponse response = f.Call(f.Request("GET", target, Bearer(f.alice)));
    BOOST_TEST_REQUIRE(response.status == 200, response.body);
    const Json body = BodyJson(response);
    BOOST_TEST(body["jobs"].size() <= 2u);
    for (const Json& job : body["jobs"]) seen.push_back(job["id"]);
    if (body["next_cursor"].is_null()) break;
    const std::string cursor = body["next_cursor"];
    for (const std::string& id : ids) BOOST_TEST(cursor.find(id) == std::string::npos);
    target = "/api/v1/jobs?limit=2&cursor=" + cursor;
  }
  const std::vector<std::string> newest_first(ids.rbegin(), ids.rend());
  BOOST_TEST(seen == newest_first, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(list_filters_by_state_and_defaults_to_20) {
  const ApiFixture f;
  std::vector<std::string> ids;
  for (int i = 0; i < 22; ++i) ids.push_back(f.SubmitOk(f.alice));
  BOOST_TEST(f.Call(f.Request("DELETE", "/api/v1/jobs/" + ids[3], Bearer(f.alice))).status == 200);

  const Json all = BodyJson(f.Call(f.Request("GET", "/api/v1/jobs", Bearer(f.alice))));
  BOOST_TEST(all["jobs"].size() == 20u);
  BOOST_TEST(all["next_cursor"].is_string());
  const Json canceled =
      BodyJson(f.Call(f.Request("GET", "/api/v1/jobs?state=canceled", Bearer(f.alice))));
  BOOST_TEST_REQUIRE(canceled["jobs"].size() == 1u);
  BOOST_TEST(canceled["jobs"][0]["id"] == ids[3]);
  BOOST_TEST(canceled["next_cursor"].is_null());
}

BOOST_AUTO_TEST_CASE(cancel_queued_is_200_then_terminal_is_409) {
  const ApiFixture f;
  const std::string id = f.SubmitOk(f.alice);
  const HttpResponse canceled = f.Call(f.Request("DELETE", "/api/v1/jobs/" + id, Bearer(f.alice)));
  BOOST_TEST(canceled.status == 200);
  BOOST_TEST(BodyJson(canceled)["state"] == "canceled");
  const HttpResponse again = f.Call(f.Request("DELETE", "/api/v1/jobs/" + id, Bearer(f.alice)));
  BOOST_TEST(again.status == 409);
  BOOST_TEST(ProblemName(again) == "job-terminal");
  BOOST_TEST(BodyJson(again)["detail"].get<std::string>().find("canceled") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(cancel_running_is_202_with_cancel_requested) {
  const ApiFixture f;
  const std::string id = f.SubmitOk(f.alice);
  const ClaimedJob claimed = ClaimOne(f.store());
  BOOST_TEST_REQUIRE(claimed.job.id == id);
  const HttpResponse response = f.Call(f.Request("DELETE", "/api/v1/jobs/" + id, Bearer(f.alice)));
  BOOST_TEST(response.status == 202);
  const Json job = BodyJson(response);
  BOOST_TEST(job["state"] == "running");
  BOOST_TEST(job["cancel_requested"] == true);
}

BOOST_AUTO_TEST_CASE(idempotency_key_replays_and_refuses_a_different_body) {
  const ApiFixture f;
  HttpRequest first = f.PostJob(ValidScene(), Bearer(f.alice));
  first.idempotency_key = "order-17";
  const HttpResponse created = f.Call(first);
  BOOST_TEST_REQUIRE(created.status == 201);
  const std::string id = BodyJson(created)["id"];

  const HttpResponse replayed = f.Call(first);
  BOOST_TEST(replayed.status == 200);
  BOOST_TEST(Header(replayed, "Idempotent-Replayed") == "true");
  BOOST_TEST(Header(replayed, "Location") == "/api/v1/jobs/" + id);
  BOOST_TEST(BodyJson(replayed)["id"] == id);
  BOOST_TEST(f.JobRows() == 1);

  HttpRequest other_body = f.PostJob(SceneWith("/samples", 8), Bearer(f.alice));
  other_body.idempotency_key = "order-17";
  const HttpResponse conflict = f.Call(other_body);
  BOOST_TEST(conflict.status == 409);
  BOOST_TEST(ProblemName(conflict) == "idempotency-conflict");
  BOOST_TEST(f.JobRows() == 1);

  // Keys belong to their owner: the same key from bob is a new job.
  HttpRequest bobs = f.PostJob(ValidScene(), Bearer(f.bob));
  bobs.idempotency_key = "order-17";
  BOOST_TEST(f.Call(bobs).status == 201);
  BOOST_TEST(f.JobRows() == 2);
}

BOOST_AUTO_TEST_CASE(owner_with_100_queued_gets_429_with_retry_after) {
  const ApiFixture f;
  for (int i = 0; i < 100; ++i) f.SubmitOk(f.alice);
  const HttpResponse refused = f.Call(f.PostJob(ValidScene(), Bearer(f.alice)));
  BOOST_TEST(refused.status == 429);
  BOOST_TEST(ProblemName(refused) == "owner-queue-full");
  BOOST_TEST(std::stoi(Header(refused, "Retry-After")) >= 1);
  BOOST_TEST(f.JobRows() == 100);
  // Another owner is not held back by alice's backlog.
  f.SubmitOk(f.bob);
  BOOST_TEST(f.JobRows() == 101);
}

BOOST_AUTO_TEST_CASE(full_queue_gets_503_with_retry_after) {
  ApiFixtureOptions options;
  options.limits.max_queued = 3;
  const ApiFixture f(options);
  for (int i = 0; i < 3; ++i) f.SubmitOk(i % 2 == 0 ? f.alice : f.bob);
  const HttpResponse refused = f.Call(f.PostJob(ValidScene(), Bearer(f.bob)));
  BOOST_TEST(refused.status == 503);
  BOOST_TEST(ProblemName(refused) == "queue-full");
  BOOST_TEST(std::stoi(Header(refused, "Retry-After")) >= 1);
  BOOST_TEST(f.JobRows() == 3);
}

BOOST_AUTO_TEST_CASE(drain_time_bound_gets_503_with_retry_after_from_the_prediction) {
  ApiFixtureOptions options;
  options.limits.max_drain_seconds = 20;
  const ApiFixture f(options);
  // About 5.9 s each at the default throughput: three fit under 20 s.
  for (int i = 0; i < 3; ++i) f.SubmitOk(f.alice, SceneCosting(64));
  const HttpResponse small = f.Call(f.PostJob(SceneCosting(64), Bearer(f.alice)));
  const HttpResponse large = f.Call(f.PostJob(SceneCosting(512), Bearer(f.alice)));
  BOOST_TEST(small.status == 503);
  BOOST_TEST(large.status == 503);
  BOOST_TEST(ProblemName(small) == "queue-full");
  const int small_retry = std::stoi(Header(small, "Retry-After"));
  const int large_retry = std::stoi(Header(large, "Retry-After"));
  BOOST_TEST(small_retry >= 1);
  BOOST_TEST(large_retry > small_retry, "Retry-After is not derived from the drain time");
  BOOST_TEST(f.JobRows() == 3);
}

BOOST_AUTO_TEST_CASE(too_expensive_limit_is_configurable) {
  ApiFixtureOptions options;
  options.limits.max_render_seconds = 0.0001;
  const ApiFixture f(options);
  const HttpResponse response = f.Call(f.PostJob(ValidScene(), Bearer(f.alice)));
  BOOST_TEST(response.status == 422);
  BOOST_TEST(ProblemName(response) == "too-expensive");
  BOOST_TEST(BodyJson(response)["detail"].get<std::string>().find("estimated") !=
             std::string::npos);
  BOOST_TEST(f.JobRows() == 0);
}

BOOST_AUTO_TEST_CASE(result_is_409_until_succeeded_then_redirected_to_nginx) {
  const ApiFixture f;
  const std::string id = f.SubmitOk(f.alice);
  const std::string path = "/api/v1/jobs/" + id + "/result";
  const HttpResponse early = f.Call(f.Request("GET", path, Bearer(f.alice)));
  BOOST_TEST(early.status == 409);
  BOOST_TEST(ProblemName(early) == "result-not-ready");
  BOOST_TEST(BodyJson(early)["detail"].get<std::string>().find("queued") != std::string::npos);

  const ClaimedJob claimed = ClaimOne(f.store());
  BOOST_TEST(
      BodyJson(f.Call(f.Request("GET", path, Bearer(f.alice))))["detail"].get<std::string>().find(
          "running") != std::string::npos);
  FinishRequest finish;
  finish.device = "cpu";
  finish.render_seconds = 1.5;
  finish.samples_per_second = 1000;
  finish.result_etag = "5d41402abc4b2a76";
  const std::vector<std::uint8_t> png = {0x89, 'P', 'N', 'G'};
  finish.png = png;
  BOOST_TEST_REQUIRE(f.store().Finish(claimed.lease, finish).ok());

  const HttpResponse done = f.Call(f.Request("GET", path, Bearer(f.alice)));
  BOOST_TEST(done.status == 200);
  BOOST_TEST(Header(done, "X-Accel-Redirect") == "/internal/results/" + id + ".png");
  BOOST_TEST(Header(done, "Content-Type") == "image/png");
  BOOST_TEST(Header(done, "ETag") == "\"5d41402abc4b2a76\"");
  BOOST_TEST(done.body.empty());
}

BOOST_AUTO_TEST_CASE(preview_only_while_running_and_once_written) {
  const ApiFixture f;
  const std::string id = f.SubmitOk(f.alice);
  const std::string path = "/api/v1/jobs/" + id + "/preview";
  BOOST_TEST(f.Call(f.Request("GET", path, Bearer(f.alice))).status == 404);
  ClaimOne(f.store());
  BOOST_TEST(f.Call(f.Request("GET", path, Bearer(f.alice))).status == 404);
  std::ofstream(f.results_dir() + "/" + id + ".preview.png") << "png";
  const HttpResponse response = f.Call(f.Request("GET", path, Bearer(f.alice)));
  BOOST_TEST(response.status == 200);
  BOOST_TEST(Header(response, "X-Accel-Redirect") == "/internal/results/" + id + ".preview.png");
  BOOST_TEST(Header(response, "Content-Type") == "image/png");
}

BOOST_AUTO_TEST_CASE(queue_shows_counts_workers_and_only_own_running_ids) {
  const ApiFixture f;
  const std::string bobs = f.SubmitOk(f.bob);
  f.SubmitOk(f.alice);
  ClaimOne(f.store());  // bob's job runs
  const Json as_alice = BodyJson(f.Call(f.Request("GET", "/api/v1/queue", Bearer(f.alice))));
  BOOST_TEST(as_alice["queued"] == 1);
  BOOST_TEST_REQUIRE(as_alice["running"].size() == 1u);
  BOOST_TEST(as_alice["running"][0]["id"].is_null());
  BOOST_TEST(as_alice["workers"].size() == 1u);
  BOOST_TEST(as_alice["workers"][0]["device"] == "cpu");
  BOOST_TEST(as_alice["estimated_wait_seconds"].is_number());
  const Json as_bob = BodyJson(f.Call(f.Request("GET", "/api/v1/queue", Bearer(f.bob))));
  BOOST_TEST(as_bob["running"][0]["id"] == bobs);
}

BOOST_AUTO_TEST_CASE(healthz_needs_no_token_and_lists_workers) {
  const ApiFixture f;
  const HttpResponse before = f.Call(f.Request("GET", "/healthz", ""));
  BOOST_TEST(before.status == 200);
  BOOST_TEST(BodyJson(before)["db"] == "ok");
  BOOST_TEST(BodyJson(before)["workers"].empty());
  f.SubmitOk(f.alice);
  ClaimOne(f.store());
  const HttpResponse after = f.Call(f.Request("HEAD", "/healthz", ""));
  BOOST_TEST(after.status == 200);
  BOOST_TEST(BodyJson(after)["workers"].size() == 1u);
}

BOOST_AUTO_TEST_CASE(metrics_count_responses_and_read_the_queue) {
  const ApiFixture f;
  f.SubmitOk(f.alice);
  f.Call(f.PostJob(ValidScene(), ""));
  f.Call(f.PostJob("{", Bearer(f.alice)));
  f.SubmitOk(f.alice);
  ClaimOne(f.store());
  const HttpResponse response = f.Call(f.Request("GET", "/metrics", ""));
  BOOST_TEST(response.status == 200);
  BOOST_TEST(Header(response, "Content-Type").starts_with("text/plain; version=0.0.4"));
  for (const char* line :
       {"renderq_http_responses_total{code=\"201\"} 2\n",
        "renderq_http_responses_total{code=\"401\"} 1\n",
        "renderq_http_responses_total{code=\"400\"} 1\n",
        "renderq_submits_total{outcome=\"created\"} 2\n",
        "renderq_submits_total{outcome=\"rejected\"} 2\n", "renderq_jobs{state=\"queued\"} 1\n",
        "renderq_jobs{state=\"running\"} 1\n",
        "renderq_worker_heartbeat_age_seconds{worker=\"w\"} ",
        "renderq_worker_info{worker=\"w\",backend=\"cpu\",device=\"cpu\",fallback=\"0\"} 1\n",
        "renderq_db_up 1\n"}) {
    BOOST_TEST(response.body.find(line) != std::string::npos, "missing: " << line);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Cursor)

BOOST_AUTO_TEST_CASE(round_trips_and_refuses_anything_else) {
  for (std::int64_t seq : {1LL, 9LL, 10LL, 123456789LL, 9223372036854775807LL}) {
    const std::string cursor = EncodeCursor(seq);
    BOOST_TEST(DecodeCursor(cursor).value_or(-1) == seq);
    BOOST_TEST(cursor.find_first_not_of(
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
               std::string::npos);
  }
  for (const char* bad :
       {"", "zzz", "MTIz", "czE6MA", "czE6LTE", "czE6MDE", "czE6eA", "czE6MT=", "czE6MTIz!"}) {
    BOOST_TEST(!DecodeCursor(bad).has_value(), bad);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq::test
