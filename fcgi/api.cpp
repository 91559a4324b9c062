#include "fcgi/api.h"

#include <strings.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <exception>
#include <optional>
#include <stdexcept>
#include <variant>

#include <nlohmann/json.hpp>

#include "core/model/scene_json.h"
#include "core/store/token.h"
#include "fcgi/conditional.h"
#include "fcgi/cursor.h"
#include "fcgi/log.h"
#include "fcgi/openapi_document.h"
#include "fcgi/problem.h"
#include "fcgi/query.h"

namespace renderq {

enum class Api::Endpoint : int {
  kJobs,
  kJob,
  kResult,
  kPreview,
  kQueue,
  kHealthz,
  kMetrics,
  kOpenApi,
};

namespace {

using Json = nlohmann::json;

constexpr std::string_view kJobsPath = "/api/v1/jobs";
constexpr std::string_view kJobPrefix = "/api/v1/jobs/";
constexpr std::size_t kMaxIdempotencyKeyBytes = 255;
constexpr double kStorageRetryAfterSeconds = 1;

struct Route {
  Api::Endpoint endpoint;
  std::string_view id;  // kJob, kResult, kPreview: the raw path segment
};

std::optional<Route> MatchRoute(std::string_view path) {
  using E = Api::Endpoint;
  if (path == kJobsPath) return Route{E::kJobs, {}};
  if (path == "/api/v1/queue") return Route{E::kQueue, {}};
  if (path == "/healthz") return Route{E::kHealthz, {}};
  if (path == "/metrics") return Route{E::kMetrics, {}};
  if (path == "/api/v1/openapi.json") return Route{E::kOpenApi, {}};
  if (!path.starts_with(kJobPrefix)) return std::nullopt;
  std::string_view rest = path.substr(kJobPrefix.size());
  const std::size_t slash = rest.find('/');
  const std::string_view id = rest.substr(0, slash);
  if (id.empty()) return std::nullopt;
  if (slash == std::string_view::npos) return Route{E::kJob, id};
  const std::string_view tail = rest.substr(slash);
  if (tail == "/result") return Route{E::kResult, id};
  if (tail == "/preview") return Route{E::kPreview, id};
  return std::nullopt;
}

// The Allow header of an endpoint; HEAD is served wherever GET is.
std::string_view AllowedMethods(Api::Endpoint endpoint) {
  switch (endpoint) {
    case Api::Endpoint::kJobs: return "GET, HEAD, POST";
    case Api::Endpoint::kJob: return "GET, HEAD, DELETE";
    default: return "GET, HEAD";
  }
}

bool MethodAllowed(Api::Endpoint endpoint, std::string_view method) {
  if (method == "GET" || method == "HEAD") return true;
  if (method == "POST") return endpoint == Api::Endpoint::kJobs;
  if (method == "DELETE") return endpoint == Api::Endpoint::kJob;
  return false;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view Trim(std::string_view s) {
  const std::size_t begin = s.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  const std::size_t end = s.find_last_not_of(" \t");
  return s.substr(begin, end - begin + 1);
}

// "Bearer <token>" (scheme case-insensitive, RFC 6750) -> the token.
std::optional<std::string_view> BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() ||
      !EqualsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme) ||
      authorization[kScheme.size()] != ' ') {
    return std::nullopt;
  }
  const std::string_view token = Trim(authorization.substr(kScheme.size()));
  if (token.empty() || token.find_first_of(" \t") != std::string_view::npos) return std::nullopt;
  return token;
}

// application/json, with parameters allowed as long as a charset is UTF-8.
bool IsJsonContentType(std::string_view content_type) {
  const std::size_t semi = content_type.find(';');
  if (!EqualsIgnoreCase(Trim(content_type.substr(0, semi)), "application/json")) return false;
  while (semi != std::string_view::npos && semi < content_type.size()) {
    content_type = content_type.substr(semi + 1);
    const std::size_t next = content_type.find(';');
    const std::string_view param = Trim(content_type.substr(0, next));
    const std::size_t eq = param.find('=');
    if (eq != std::string_view::npos && EqualsIgnoreCase(Trim(param.substr(0, eq)), "charset")) {
      std::string_view value = Trim(param.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      if (!EqualsIgnoreCase(value, "utf-8")) return false;
    }
    if (next == std::string_view::npos) break;
  }
  return true;
}

// Canonical 8-4-4-4-12 hex UUID text, returned lowercased; nullopt otherwise.
std::optional<std::string> CanonicalUuid(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  std::string id(text);
  for (std::size_t i = 0; i < id.size(); ++i) {
    const bool dash_place = i == 8 || i == 13 || i == 18 || i == 23;
    char& c = id[i];
    if (dash_place) {
      if (c != '-') return std::nullopt;
    } else if (c >= 'A' && c <= 'F') {
      c = static_cast<char>(c - 'A' + 'a');
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return std::nullopt;
    }
  }
  return id;
}

// Printable ASCII, 1..255 bytes: a key is an opaque client-chosen string.
bool IsValidIdempotencyKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxIdempotencyKeyBytes) return false;
  return std::all_of(key.begin(), key.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
}

// Retry-After in whole seconds: at least 1, rounded up, at most a day.
std::string RetryAfter(double seconds) {
  if (!std::isfinite(seconds) || seconds < 1) seconds = 1;
  seconds = std::min(std::ceil(seconds), 86400.0);
  return std::to_string(static_cast<long long>(seconds));
}

HttpResponse JsonResponse(int status, const Json& body) {
  HttpResponse response;
  response.status = status;
  response.SetHeader("Content-Type", "application/json");
  response.SetHeader("Cache-Control", "no-store");
  response.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return response;
}

std::string JobLocation(const std::string& id) {
  std::string location(kJobPrefix);
  location += id;
  return location;
}

HttpResponse JobResponse(int status, const Job& job) {
  HttpResponse response = JsonResponse(status, JobToJson(job));
  response.SetHeader("Location", JobLocation(job.id));
  return response;
}

HttpResponse NotFound(std::string_view detail) {
  return MakeProblem(ProblemType::kNotFound, detail);
}

HttpResponse JobNotFound() { return NotFound("no such job"); }

HttpResponse Unauthorized(std::string_view detail, bool token_was_sent) {
  HttpResponse response = MakeProblem(ProblemType::kUnauthorized, detail);
  response.SetHeader("WWW-Authenticate", token_was_sent
                                             ? R"(Bearer realm="renderq", error="invalid_token")"
                                             : R"(Bearer realm="renderq")");
  return response;
}

HttpResponse WithRetryAfter(HttpResponse response, double seconds) {
  response.SetHeader("Retry-After", RetryAfter(seconds));
  return response;
}

Json WorkersJson(const std::vector<WorkerInfo>& workers, TimeMs now) {
  Json list = Json::array();
  for (const WorkerInfo& w : workers) {
    list.push_back({
        {"name", w.name},
        {"device", w.device},
        {"fallback", w.fallback},
        {"busy", w.current_job.has_value()},
        {"heartbeat_age_seconds", static_cast<double>(now - w.heartbeat_at) / 1000.0},
        {"units_per_second", w.units_per_second},
    });
  }
  return list;
}

// A running job as /queue shows it: only its owner sees its id.
Json RunningJobJson(const Job& job, std::int64_t viewer_id) {
  Json out = {
      {"id", job.owner_id == viewer_id ? Json(job.id) : Json(nullptr)},
      {"mine", job.owner_id == viewer_id},
      {"progress", job.progress},
      {"started_at", job.started_at ? Json(FormatTimestamp(*job.started_at)) : Json(nullptr)},
      {"eta_seconds", job.eta_seconds ? Json(*job.eta_seconds) : Json(nullptr)},
      {"width", job.width},
      {"height", job.height},
      {"samples", job.samples},
  };
  return out;
}

// What a job's ETag is computed from: the job as shown, less a running job's
// ETA, which moves with the clock between two progress reports (the progress,
// which the ETA follows from, stays in).
Json JobFingerprint(Json job) {
  if (job.value("state", "") == "running") job.erase("eta_seconds");
  return job;
}

// What the queue's ETag is computed from: the queue as shown, less the clock's
// share. A heartbeat's age counts only in 10 s steps (a live worker stays in the
// first step between heartbeats; a stale one moves on), a running job's ETA not
// at all (its progress stays in).
Json QueueFingerprint(Json queue) {
  for (Json& w : queue["workers"]) {
    w["heartbeat_age_seconds"] = std::floor(w["heartbeat_age_seconds"].get<double>() / 10.0);
  }
  for (Json& job : queue["running"]) job.erase("eta_seconds");
  return queue;
}

std::string Dump(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

struct ListQuery {
  std::optional<JobState> state;
  int limit = 20;
  std::optional<std::int64_t> before_seq;
};

// state=S&limit=N&cursor=C; anything else (unknown or repeated names, bad
// values) is a problem the client must fix: the detail says which.
std::variant<ListQuery, std::string> ParseListQuery(std::string_view query) {
  const auto params = ParseQuery(query);
  if (!params) return std::string("malformed percent-encoding in the query string");
  ListQuery out;
  bool seen_state = false, seen_limit = false, seen_cursor = false;
  for (const auto& [name, value] : *params) {
    bool* seen = name == "state"    ? &seen_state
                 : name == "limit"  ? &seen_limit
                 : name == "cursor" ? &seen_cursor
                                    : nullptr;
    if (seen == nullptr) {
      return "unknown query parameter '" + name + "' (allowed: state, limit, cursor)";
    }
    if (*seen) return "query parameter '" + name + "' given more than once";
    *seen = true;
    if (name == "state") {
      out.state = ParseJobState(value);
      if (!out.state) {
        return "state must be one of queued, running, succeeded, failed, canceled";
      }
    } else if (name == "limit") {
      int limit = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
      if (ec != std::errc() || end != value.data() + value.size() || limit < 1 || limit > 100) {
        return std::string("limit must be an integer in [1, 100]");
      }
      out.limit = limit;
    } else {
      out.before_seq = DecodeCursor(value);
      if (!out.before_seq) return std::string("cursor is not one this server gave out");
    }
  }
  return out;
}

}  // namespace

Api::Api(JobStore* store, Metrics* metrics, const Clock* clock, ApiOptions options)
    : store_(store), metrics_(metrics), clock_(clock), options_(std::move(options)) {}

HttpResponse Api::Handle(const HttpRequest& request) const noexcept {
  HttpResponse response;
  try {
    response = Dispatch(request);
  } catch (const std::exception& e) {
    LogLine(std::string("internal error on ") + request.method + " " + request.path + ": " +
            e.what());
    response = MakeProblem(ProblemType::kInternal, "internal error; it has been logged");
  } catch (...) {
    LogLine("internal error on " + request.method + " " + request.path + ": unknown exception");
    response = MakeProblem(ProblemType::kInternal, "internal error; it has been logged");
  }
  metrics_->CountResponse(response.status);
  return response;
}

HttpResponse Api::Dispatch(const HttpRequest& request) const {
  const std::optional<Route> route = MatchRoute(request.path);
  if (!route) return NotFound("no such resource");
  if (!MethodAllowed(route->endpoint, request.method)) {
    HttpResponse response = MakeProblem(
        ProblemType::kMethodNotAllowed,
        "method " + request.method +
            " is not allowed here; allowed: " + std::string(AllowedMethods(route->endpoint)));
    response.SetHeader("Allow", std::string(AllowedMethods(route->endpoint)));
    return response;
  }
  if (route->endpoint == Endpoint::kHealthz) return Healthz();
  if (route->endpoint == Endpoint::kMetrics) return MetricsText();
  if (route->endpoint == Endpoint::kOpenApi) return OpenApi(request);
  return Authenticated(request, route->endpoint, route->id);
}

HttpResponse Api::Authenticated(const HttpRequest& request, Endpoint endpoint,
                                std::string_view raw_id) const {
  const std::optional<std::string_view> token = BearerToken(request.authorization);
  if (!token) {
    const bool sent = !request.authorization.empty();
    if (endpoint == Endpoint::kJobs && request.method == "POST") {
      metrics_->CountSubmit(SubmitResult::kRejected);
    }
    return Unauthorized(sent ? "the Authorization header is not 'Bearer <token>'"
                             : "an Authorization: Bearer <token> header is required",
                        sent);
  }
  Result<Owner> owner = store_->Authenticate(std::string(*token));
  if (!owner.ok()) {
    if (endpoint == Endpoint::kJobs && request.method == "POST") {
      metrics_->CountSubmit(owner.status().code() == StatusCode::kNotFound
                                ? SubmitResult::kRejected
                                : SubmitResult::kStorageError);
    }
    if (owner.status().code() == StatusCode::kNotFound) {
      return Unauthorized("unknown or revoked token", /*token_was_sent=*/true);
    }
    return StoreProblem(owner.status());
  }
  if (owner->id <= 0) throw std::logic_error("store authenticated a token to owner id 0");
  switch (endpoint) {
    case Endpoint::kJobs:
      return request.method == "POST" ? Submit(request, *owner) : ListJobs(request, *owner);
    case Endpoint::kQueue: return QueueStatus(request, *owner);
    default: return JobRoute(request, endpoint, *owner, raw_id);
  }
}

HttpResponse Api::JobRoute(const HttpRequest& request, Endpoint endpoint, const Owner& owner,
                           std::string_view raw_id) const {
  const std::optional<std::string> id = CanonicalUuid(raw_id);
  if (!id) return JobNotFound();
  switch (endpoint) {
    case Endpoint::kJob:
      return request.method == "DELETE" ? CancelJob(owner, *id) : GetJob(request, owner, *id);
    case Endpoint::kResult: return JobResult(owner, *id);
    case Endpoint::kPreview: return JobPreview(owner, *id);
    default: throw std::logic_error("JobRoute called for a route without a job id");
  }
}

HttpResponse Api::StoreProblem(const Status& status) const {
  switch (status.code()) {
    case StatusCode::kNotFound: return JobNotFound();
    case StatusCode::kInternal:
      LogLine("store reported a bug: " + status.ToString());
      return MakeProblem(ProblemType::kInternal, "internal error; it has been logged");
    default:
      LogLine("storage unavailable: " + status.ToString());
      return WithRetryAfter(
          MakeProblem(ProblemType::kStorageUnavailable,
                      "the job database is unavailable; nothing was stored, retry later"),
          kStorageRetryAfterSeconds);
  }
}

HttpResponse Api::Submit(const HttpRequest& request, const Owner& owner) const {
  std::optional<HttpResponse> refusal;
  if (!request.content_length) {
    refusal = MakeProblem(ProblemType::kLengthRequired,
                          "a Content-Length is required (chunked bodies are not accepted)");
  } else if (*request.content_length > kMaxBodyBytes) {
    refusal =
        MakeProblem(ProblemType::kBodyTooLarge,
                    "the body of " + std::to_string(*request.content_length) +
                        " bytes is over the limit of " + std::to_string(kMaxBodyBytes) + " bytes");
  } else if (!IsJsonContentType(request.content_type)) {
    refusal =
        MakeProblem(ProblemType::kUnsupportedMediaType,
                    request.content_type.empty()
                        ? std::string("Content-Type must be application/json")
                        : "Content-Type must be application/json, not " + request.content_type);
  } else if (request.body.size() != *request.content_length) {
    refusal = MakeProblem(ProblemType::kMalformedBody,
                          "received " + std::to_string(request.body.size()) + " of the " +
                              std::to_string(*request.content_length) + " bytes announced");
  } else if (!request.idempotency_key.empty() && !IsValidIdempotencyKey(request.idempotency_key)) {
    refusal = MakeProblem(ProblemType::kInvalidIdempotencyKey,
                          "Idempotency-Key must be 1 to 255 printable ASCII characters");
  }
  if (refusal) {
    metrics_->CountSubmit(SubmitResult::kRejected);
    return std::move(*refusal);
  }

  const SceneParseResult parsed = ParseScene(request.body);
  if (parsed.ok()) return SubmitScene(request, owner, parsed.scene());

  metrics_->CountSubmit(SubmitResult::kRejected);
  const SceneError& error = parsed.error();
  if (error.kind == SceneError::Kind::kMalformedJson) {
    return MakeProblem(ProblemType::kMalformedJson, error.message);
  }
  std::vector<ProblemError> errors;
  errors.reserve(error.findings.size());
  for (const SceneFinding& f : error.findings) errors.push_back({f.pointer, f.detail});
  if (errors.size() == 1) {
    return MakeProblem(ProblemType::kInvalidScene,
                       errors.front().pointer + ": " + errors.front().detail, errors);
  }
  return MakeProblem(ProblemType::kInvalidScene, error.message, errors);
}

HttpResponse Api::SubmitScene(const HttpRequest& request, const Owner& owner,
                              const SceneDescription& scene) const {
  Result<double> units_per_second = UnitsPerSecond();
  if (!units_per_second.ok()) {
    metrics_->CountSubmit(SubmitResult::kStorageError);
    return StoreProblem(units_per_second.status());
  }
  const CostCheck cost = CheckRenderCost(scene, *units_per_second, options_.max_render_seconds);
  if (cost.too_expensive) {
    metrics_->CountSubmit(SubmitResult::kRejected);
    return MakeProblem(ProblemType::kTooExpensive, cost.detail);
  }

  SubmitRequest submit;
  submit.owner_id = owner.id;
  submit.scene_json = request.body;
  submit.idempotency_key = request.idempotency_key;
  // Only a key's reuse check reads the hash: no digest on the common path.
  if (!submit.idempotency_key.empty()) submit.request_hash = Sha256Hex(request.body);
  submit.width = scene.width;
  submit.height = scene.height;
  submit.samples = scene.samples;
  submit.max_depth = scene.max_depth;
  submit.cost_units = cost.units;

  Result<SubmitOutcome> outcome = store_->Submit(submit);
  if (!outcome.ok()) {
    metrics_->CountSubmit(SubmitResult::kStorageError);
    return StoreProblem(outcome.status());
  }
  switch (outcome->kind) {
    case SubmitOutcome::Kind::kCreated:
      metrics_->CountSubmit(SubmitResult::kCreated);
      return JobResponse(201, outcome->job);
    case SubmitOutcome::Kind::kReplayed: {
      metrics_->CountSubmit(SubmitResult::kReplayed);
      HttpResponse response = JobResponse(200, outcome->job);
      response.SetHeader("Idempotent-Replayed", "true");
      return response;
    }
    case SubmitOutcome::Kind::kKeyConflict:
      metrics_->CountSubmit(SubmitResult::kKeyConflict);
      return MakeProblem(ProblemType::kIdempotencyConflict,
                         "this Idempotency-Key was used within 24 h with a different body");
    case SubmitOutcome::Kind::kOwnerQueueFull:
      metrics_->CountSubmit(SubmitResult::kOwnerQueueFull);
      return WithRetryAfter(
          MakeProblem(ProblemType::kOwnerQueueFull,
                      "this token already has the maximum of queued jobs; retry once some have "
                      "started"),
          outcome->retry_after_seconds);
    case SubmitOutcome::Kind::kQueueFull:
      metrics_->CountSubmit(SubmitResult::kQueueFull);
      return WithRetryAfter(
          MakeProblem(ProblemType::kQueueFull,
                      "the queue is full or would take too long to drain; retry after " +
                          RetryAfter(outcome->retry_after_seconds) + " s"),
          outcome->retry_after_seconds);
  }
  throw std::logic_error("unknown SubmitOutcome kind");
}

Result<double> Api::UnitsPerSecond() const {
  const TimeMs now = clock_->NowMs();
  if (options_.units_per_second_cache_ms > 0 &&
      now - ups_cached_at_.load(std::memory_order_relaxed) < options_.units_per_second_cache_ms) {
    return ups_cached_.load(std::memory_order_relaxed);
  }
  Result<double> fresh = store_->UnitsPerSecond();
  if (fresh.ok()) {
    // Two relaxed stores race harmlessly: either value is a recent measurement.
    ups_cached_.store(*fresh, std::memory_order_relaxed);
    ups_cached_at_.store(now, std::memory_order_relaxed);
  }
  return fresh;
}

HttpResponse Api::ListJobs(const HttpRequest& request, const Owner& owner) const {
  auto parsed = ParseListQuery(request.query);
  if (const std::string* detail = std::get_if<std::string>(&parsed)) {
    return MakeProblem(ProblemType::kInvalidQuery, *detail);
  }
  const ListQuery& query = std::get<ListQuery>(parsed);
  ListRequest list;
  list.owner_id = owner.id;
  list.state = query.state;
  list.limit = query.limit;
  list.before_seq = query.before_seq;
  Result<JobPage> page = store_->List(list);
  if (!page.ok()) return StoreProblem(page.status());
  Json jobs = Json::array();
  Json fingerprints = Json::array();
  for (const Job& job : page->jobs) {
    jobs.push_back(JobToJson(job));
    fingerprints.push_back(JobFingerprint(jobs.back()));
  }
  Json body = {{"jobs", std::move(jobs)}, {"next_cursor", nullptr}};
  if (page->next_before_seq) body["next_cursor"] = EncodeCursor(*page->next_before_seq);
  HttpResponse response = JsonResponse(200, body);
  ApplyEtag(request, WeakEtag(Dump({fingerprints, body["next_cursor"]})), response);
  return response;
}

HttpResponse Api::GetJob(const HttpRequest& request, const Owner& owner,
                         const std::string& id) const {
  Result<Job> job = store_->Get(owner.id, id);
  if (!job.ok()) return StoreProblem(job.status());
  Json body = JobToJson(*job);
  HttpResponse response = JsonResponse(200, body);
  ApplyEtag(request, WeakEtag(Dump(JobFingerprint(std::move(body)))), response);
  return response;
}

HttpResponse Api::CancelJob(const Owner& owner, const std::string& id) const {
  Result<CancelOutcome> outcome = store_->Cancel(owner.id, id);
  if (!outcome.ok()) return StoreProblem(outcome.status());
  switch (outcome->kind) {
    case CancelOutcome::Kind::kCanceled: return JsonResponse(200, JobToJson(outcome->job));
    case CancelOutcome::Kind::kCancelRequested: return JsonResponse(202, JobToJson(outcome->job));
    case CancelOutcome::Kind::kAlreadyTerminal:
      return MakeProblem(ProblemType::kJobTerminal,
                         std::string("the job is already ") + JobStateName(outcome->job.state));
  }
  throw std::logic_error("unknown CancelOutcome kind");
}

HttpResponse Api::JobResult(const Owner& owner, const std::string& id) const {
  Result<Job> job = store_->Get(owner.id, id);
  if (!job.ok()) return StoreProblem(job.status());
  if (job->state != JobState::kSucceeded) {
    return MakeProblem(ProblemType::kResultNotReady,
                       std::string("the job is ") + JobStateName(job->state) +
                           "; its result exists once it has succeeded");
  }
  HttpResponse response = ImageResponse(id, ArtifactKind::kResult);
  if (response.status == 200 && job->result_etag && !job->result_etag->empty()) {
    const std::string& etag = *job->result_etag;
    response.SetHeader("ETag", etag.front() == '"' ? etag : '"' + etag + '"');
  }
  return response;
}

HttpResponse Api::JobPreview(const Owner& owner, const std::string& id) const {
  Result<Job> job = store_->Get(owner.id, id);
  if (!job.ok()) return StoreProblem(job.status());
  if (job->state != JobState::kRunning) {
    return NotFound(std::string("no preview: the job is ") + JobStateName(job->state));
  }
  HttpResponse response = ImageResponse(id, ArtifactKind::kPreview);
  if (response.status == 200) response.SetHeader("Cache-Control", "no-store");
  return response;
}

// A job's image: nginx sends the file through X-Accel-Redirect when the store
// has it in the results directory nginx serves; otherwise the bytes travel in
// the body.
HttpResponse Api::ImageResponse(const std::string& id, ArtifactKind kind) const {
  const bool result = kind == ArtifactKind::kResult;
  Result<Artifact> artifact = store_->ReadArtifact(id, kind);
  if (!artifact.ok()) {
    if (artifact.status().code() == StatusCode::kNotFound) {
      if (result) LogLine("job " + id + " succeeded but its result is missing");
      return NotFound(result ? "the result of this job is missing" : "no preview yet");
    }
    return StoreProblem(artifact.status());
  }
  HttpResponse response;
  response.SetHeader("Content-Type", "image/png");
  if (artifact->file.empty()) {
    response.body.assign(artifact->bytes.begin(), artifact->bytes.end());
  } else {
    response.SetHeader("X-Accel-Redirect", options_.internal_results_prefix + artifact->file);
  }
  return response;
}

HttpResponse Api::QueueStatus(const HttpRequest& request, const Owner& owner) const {
  Result<QueueSnapshot> queue = store_->Queue();
  if (!queue.ok()) return StoreProblem(queue.status());
  Json running = Json::array();
  for (const Job& job : queue->running) running.push_back(RunningJobJson(job, owner.id));
  Json body = {
      {"queued", queue->queued},
      {"running", std::move(running)},
      {"workers", WorkersJson(queue->workers, clock_->NowMs())},
      {"estimated_wait_seconds", queue->estimated_wait_seconds},
  };
  HttpResponse response = JsonResponse(200, body);
  ApplyEtag(request, WeakEtag(Dump(QueueFingerprint(std::move(body)))), response);
  return response;
}

HttpResponse Api::Healthz() const {
  const Status ping = store_->Ping();
  Result<QueueSnapshot> queue = ping.ok() ? store_->Queue() : Result<QueueSnapshot>(ping);
  if (!queue.ok()) {
    LogLine("healthz: database cannot be read: " + queue.status().ToString());
    return MakeProblem(ProblemType::kStorageUnavailable, "the job database cannot be read");
  }
  return JsonResponse(200,
                      {{"db", "ok"}, {"workers", WorkersJson(queue->workers, clock_->NowMs())}});
}

HttpResponse Api::OpenApi(const HttpRequest& request) const {
  // Built once: the document is compiled in (fcgi/embed_openapi.py).
  static const std::string etag = StrongEtag(OpenApiDocumentJson());
  HttpResponse response;
  response.SetHeader("Content-Type", "application/json");
  // Public and the same for everyone; clients revalidate instead of refetching.
  response.SetHeader("Cache-Control", "no-cache");
  response.body = OpenApiDocumentJson();
  ApplyEtag(request, etag, response);
  return response;
}

HttpResponse Api::MetricsText() const {
  HttpResponse response;
  response.SetHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  response.SetHeader("Cache-Control", "no-store");
  response.body = metrics_->Scrape(*store_, clock_->NowMs());
  return response;
}

}  // namespace renderq
