// libFuzzer target: the responder's request handling as a whole. Each input is
// a short session of HTTP requests that Api::Handle answers against a real
// SQLite store in a temporary directory, so submits commit, later requests
// in the same input see the jobs, and cursors, idempotency keys and job ids
// come back round.
//
// Input format (text, so seeds and the dictionary stay readable): requests
// separated by a line "%%"; each is
//     METHOD SP TARGET              TARGET = path[?query]
//     Name: value                   any number of header lines
//     <empty line>
//     body                          everything up to the next "%%" line
// Headers the responder reads: Authorization, Content-Type, Content-Length,
// Idempotency-Key. Placeholders reach the states a fuzzer cannot guess:
// $ALICE / $BOB (the two owners' tokens), $JOB (the last job created),
// $DONE / $RUNNING (alice's succeeded job, with its PNG and preview on disk,
// and her running job, claimed by a registered worker), $NEXT (the last
// next_cursor answered) and $LEN (the body's length). The queue limits are
// small (5 per owner, 8 in all), so a session of 8 requests can reach 429.
//
// What must hold for every request: Handle() returns (never crashes, hangs or
// leaks), never answers 500 (a 500 is a bug by Api's contract), answers a
// status it has a reason phrase for, names each header once with no CR, LF or
// NUL in it, a JSON body parses, and a 201's job is in the store.
#include <strings.h>
#include <unistd.h>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sqlite3.h>
#include <nlohmann/json.hpp>

#include "core/model/clock.h"
#include "core/store/open_job_store.h"
#include "core/sqlite/result_file_names.h"
#include "fcgi/api.h"
#include "fcgi/http.h"
#include "fcgi/metrics.h"

namespace {

using renderq::HttpRequest;
using renderq::HttpResponse;

constexpr std::size_t kMaxRequestsPerInput = 8;

void Require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "api_fuzz: violated: %s\n", what);
    std::abort();
  }
}

// The store, the Api and a side connection that resets the queue between
// inputs, created once per process on tmpfs when there is one (commits fsync).
struct World {
  std::string dir;
  std::unique_ptr<renderq::JobStore> store;
  renderq::Metrics metrics;
  std::unique_ptr<renderq::Api> api;
  sqlite3* side = nullptr;
  std::string alice, bob;
  std::string done_job, running_job;  // the fixture: kept across inputs
  std::int64_t fixture_seq = 0;       // jobs after this one are the input's

  World() {
    const char* base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    std::string pattern = std::string(base) + "/renderq-api-fuzz-XXXXXX";
    Require(::mkdtemp(pattern.data()) != nullptr, "mkdtemp");
    dir = pattern;
    const std::string db_path = dir + "/queue.db";
    std::filesystem::create_directory(dir + "/results");
    renderq::StoreOptions options;
    options.results_dir = dir + "/results";
    options.rules.limits.max_queued = 8;
    options.rules.limits.max_queued_per_owner = 5;
    options.rules.limits.max_render_seconds = renderq::kDefaultMaxRenderSeconds;
    options.rules.lease_timeout_ms = 1000LL * 3600 * 24 * 365;  // the fixture's worker stays live
    auto opened = renderq::OpenJobStore(db_path, options);
    Require(opened.ok(), "open the store");
    store = std::move(opened).value();
    alice = store->CreateToken("alice").value();
    bob = store->CreateToken("bob").value();
    MakeFixture();
    renderq::ApiOptions api_options;
    api = std::make_unique<renderq::Api>(store.get(), &metrics, renderq::SystemClock::Instance(),
                                         api_options);
    Require(sqlite3_open_v2(db_path.c_str(), &side, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK,
            "open the side connection");
    sqlite3_busy_timeout(side, 5000);
  }

  // Alice's succeeded job (PNG and preview in results/) and her running job,
  // held by a registered worker, so /result, /preview and /queue answer with
  // what a live queue shows.
  void MakeFixture() {
    const std::int64_t owner = store->Authenticate(alice).value().id;
    auto submit = [&](int seed) {
      renderq::SubmitRequest r;
      r.owner_id = owner;
      r.spec.input_json = R"({"width": 8, "height": 4, "samples": 1, "seed": )" + std::to_string(seed) +
                     R"(, "camera": {"position": [0, 0, 3], "look_at": [0, 0, 0]},)"
                     R"( "materials": [], "objects": []})";
      r.request_hash = std::string(64, 'a');
      r.spec.scene = renderq::SceneShape{8, 4, 1, 8};
      r.spec.cost_units = 8.0 * 4 * 8;
      auto outcome = store->Submit(r);
      Require(outcome.ok(), "fixture submit");
      return outcome->job;
    };
    renderq::WorkerInfo worker;
    worker.name = "fuzz";
    worker.device = "cpu";
    worker.pid = ::getpid();
    Require(store->RegisterWorker(worker).ok(), "fixture worker");
    done_job = submit(1).id;
    auto claimed = store->ClaimNext("fuzz");
    Require(claimed.ok() && claimed->has_value(), "fixture claim");
    renderq::FinishRequest finish;
    finish.device = "cpu";
    finish.render_seconds = 0.5;
    finish.samples_per_second = 1000;
    finish.result_etag = "\"fixture\"";
    static constexpr std::uint8_t kPng[] = {0x89, 'P', 'N', 'G'};
    finish.png = kPng;
    Require(store->Finish((*claimed)->lease, finish).ok(), "fixture finish");
    for (const std::string& name :
         {renderq::ResultFileName(done_job), renderq::PreviewFileName(done_job)}) {
      std::FILE* f = std::fopen((dir + "/results/" + name).c_str(), "wb");
      Require(f != nullptr, "fixture file");
      std::fputs("\x89PNG fixture", f);
      std::fclose(f);
    }
    const renderq::Job running = submit(2);
    running_job = running.id;
    fixture_seq = running.seq;
    claimed = store->ClaimNext("fuzz");
    Require(claimed.ok() && claimed->has_value(), "fixture claim");
    Require(store->Heartbeat((*claimed)->lease, 0.5).ok(), "fixture heartbeat");
    Require(store->RecordThroughput("fuzz", 2e7).ok(), "fixture throughput");
  }

  ~World() {
    sqlite3_close(side);
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  // Every input starts from the same queue (two owners, no jobs), so an input
  // behaves the same whenever libFuzzer replays it.
  void Reset() {
    // The side connection has foreign keys off: the inputs, the job events and
    // the webhooks' rows go explicitly.
    const std::string sql =
        "DELETE FROM idempotency_keys; DELETE FROM job_inputs WHERE seq > " +
        std::to_string(fixture_seq) + "; DELETE FROM jobs WHERE seq > " +
        std::to_string(fixture_seq) +
        "; UPDATE jobs SET cancel_requested = 0; DELETE FROM webhook_attempts;"
        " DELETE FROM webhook_deliveries; DELETE FROM webhooks; DELETE FROM job_events;";
    Require(sqlite3_exec(side, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK,
            "reset the queue");
  }
};

World& TheWorld() {
  static World* world = new World();  // lives until exit; libFuzzer exits without unwinding
  return *world;
}

std::string Replace(std::string text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

struct Session {
  std::string last_job = "00000000-0000-4000-8000-000000000000";
  std::string next_cursor = "MTIz";
};

std::optional<std::uint64_t> ParseLength(std::string_view text) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return n;
}

// One request's text -> the HttpRequest the FastCGI loop would build from it.
HttpRequest BuildRequest(std::string_view text, const World& world, const Session& session) {
  HttpRequest request;
  std::string_view head = text, body;
  if (const std::size_t blank = text.find("\n\n"); blank != std::string_view::npos) {
    head = text.substr(0, blank);
    body = text.substr(blank + 2);
  }
  const std::size_t eol = head.find('\n');
  std::string_view line = head.substr(0, eol);
  head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 1);
  const std::size_t space = line.find(' ');
  request.method = std::string(line.substr(0, space));
  std::string target =
      space == std::string_view::npos ? std::string() : std::string(line.substr(space + 1));
  target =
      Replace(Replace(std::move(target), "$JOB", session.last_job), "$NEXT", session.next_cursor);
  target =
      Replace(Replace(std::move(target), "$DONE", world.done_job), "$RUNNING", world.running_job);
  if (const std::size_t q = target.find('?'); q != std::string::npos) {
    request.query = target.substr(q + 1);
    target.resize(q);
  }
  request.path = std::move(target);

  std::optional<std::uint64_t> length;
  bool length_given = false;
  while (!head.empty()) {
    const std::size_t end = head.find('\n');
    const std::string_view header = head.substr(0, end);
    head = end == std::string_view::npos ? std::string_view() : head.substr(end + 1);
    const std::size_t colon = header.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = header.substr(0, colon);
    std::string value(header.substr(colon + 1));
    if (!value.empty() && value.front() == ' ') value.erase(0, 1);
    value = Replace(Replace(std::move(value), "$ALICE", world.alice), "$BOB", world.bob);
    value = Replace(std::move(value), "$LEN", std::to_string(body.size()));
    if (name == "Authorization") {
      request.authorization = value;
    } else if (name == "Content-Type") {
      request.content_type = value;
    } else if (name == "Content-Length") {
      length = ParseLength(value);
      length_given = true;
    } else if (name == "Idempotency-Key") {
      request.idempotency_key = value;
    }
  }
  request.content_length = length_given ? length : std::nullopt;
  // As the FastCGI loop reads it: nothing unless a length within the limit was
  // announced, then at most that many bytes (fewer when the client sent less).
  if (request.content_length && *request.content_length <= renderq::kMaxBodyBytes) {
    request.body = std::string(body.substr(0, *request.content_length));
  }
  request.remote_addr = "127.0.0.1";
  return request;
}

bool IsJson(const HttpResponse& response) {
  const std::string* type = response.FindHeader("Content-Type");
  return type != nullptr && (*type == "application/json" || *type == "application/problem+json");
}

void CheckResponse(const HttpRequest& request, const HttpResponse& response, World& world,
                   Session& session) {
  Require(response.status != 500, "no 500: Handle() caught an exception (see the log above)");
  Require(response.status >= 200 && response.status <= 599, "status in 200..599");
  Require(!renderq::ReasonPhrase(response.status).empty(), "a known status code");
  for (std::size_t i = 0; i < response.headers.size(); ++i) {
    const auto& [name, value] = response.headers[i];
    Require(
        !name.empty() && name.find_first_of(std::string_view(":\r\n\0 ", 5)) == std::string::npos,
        "a header name is a token");
    Require(value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos,
            "no CR, LF or NUL in a header value");
    for (std::size_t j = 0; j < i; ++j) {
      Require(strcasecmp(name.c_str(), response.headers[j].first.c_str()) != 0,
              "each header named once");
    }
  }
  if (const std::string* redirect = response.FindHeader("X-Accel-Redirect")) {
    Require(redirect->find("..") == std::string::npos, "X-Accel-Redirect stays in results");
  }
  if (!IsJson(response)) return;
  const nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  Require(!body.is_discarded(), "a JSON body parses");
  if (response.status == 201) {
    Require(body.contains("id") && body["id"].is_string(), "a 201 names its job");
    session.last_job = body["id"].get<std::string>();
    Require(world.store->Get(0, session.last_job).ok(), "a 201's job is in the store");
  } else if (response.status == 200 && request.method == "POST" && body.contains("id")) {
    session.last_job = body["id"].get<std::string>();  // a replayed submit
  }
  if (body.is_object() && body.contains("next_cursor") && body["next_cursor"].is_string()) {
    session.next_cursor = body["next_cursor"].get<std::string>();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World& world = TheWorld();
  world.Reset();
  Session session;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (std::size_t n = 0; n < kMaxRequestsPerInput && !input.empty(); ++n) {
    const std::size_t end = input.find("\n%%\n");
    const std::string_view text = input.substr(0, end);
    input = end == std::string_view::npos ? std::string_view() : input.substr(end + 4);
    const HttpRequest request = BuildRequest(text, world, session);
    const HttpResponse response = world.api->Handle(request);
    CheckResponse(request, response, world, session);
  }
  return 0;
}
