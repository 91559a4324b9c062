#include "fcgi/job_routes.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <stdexcept>
#include <variant>

#include <nlohmann/json.hpp>

#include "core/model/cost_model.h"
#include "core/model/scene_json.h"
#include "core/util/digest.h"
#include "fcgi/conditional.h"
#include "fcgi/cursor.h"
#include "fcgi/job_views.h"
#include "fcgi/problem.h"
#include "fcgi/query.h"
#include "fcgi/request_body.h"
#include "fcgi/responses.h"

namespace renderq {
namespace {

using Json = nlohmann::json;

// What a scene that failed to parse gets: 400 for malformed JSON, else 422
// with every finding at its pointer.
HttpResponse SceneProblem(const SceneError& error) {
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

constexpr std::size_t kMaxIdempotencyKeyBytes = 255;

bool IsValidIdempotencyKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxIdempotencyKeyBytes) return false;
  return std::all_of(key.begin(), key.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
}

std::optional<HttpResponse> RefuseSubmit(const RouteContext& ctx, const HttpRequest& request) {
  std::optional<HttpResponse> refusal = RefuseJsonBody(request);
  if (!refusal && !request.idempotency_key.empty() &&
      !IsValidIdempotencyKey(request.idempotency_key)) {
    refusal = MakeProblem(ProblemType::kInvalidIdempotencyKey,
                          "Idempotency-Key must be 1 to 255 printable ASCII characters");
  }
  if (refusal) ctx.metrics.CountSubmit(SubmitResult::kRejected);
  return refusal;
}

// The answer to a submit the store decided on, counted in the metrics.
HttpResponse SubmitAnswer(const RouteContext& ctx, const SubmitRequest& submit,
                          const SubmitOutcome& outcome) {
  switch (outcome.kind) {
    case SubmitOutcome::Kind::kCreated:
      ctx.metrics.CountSubmit(SubmitResult::kCreated);
      return JobResponse(201, outcome.job);
    case SubmitOutcome::Kind::kReplayed: {
      ctx.metrics.CountSubmit(SubmitResult::kReplayed);
      HttpResponse response = JobResponse(200, outcome.job);
      response.SetHeader("Idempotent-Replayed", "true");
      return response;
    }
    case SubmitOutcome::Kind::kKeyConflict:
      ctx.metrics.CountSubmit(SubmitResult::kKeyConflict);
      return MakeProblem(ProblemType::kIdempotencyConflict,
                         "this Idempotency-Key was used within 24 h with a different body");
    case SubmitOutcome::Kind::kTooExpensive:
      ctx.metrics.CountSubmit(SubmitResult::kRejected);
      return MakeProblem(ProblemType::kTooExpensive,
                         TooExpensiveDetail(submit.spec.cost_units, outcome.units_per_second,
                                            outcome.limit_seconds));
    case SubmitOutcome::Kind::kOwnerQueueFull:
      ctx.metrics.CountSubmit(SubmitResult::kOwnerQueueFull);
      return WithRetryAfter(
          MakeProblem(ProblemType::kOwnerQueueFull,
                      "this token already has the maximum of queued jobs; retry once some have "
                      "started"),
          outcome.retry_after_seconds);
    case SubmitOutcome::Kind::kQueueFull:
      ctx.metrics.CountSubmit(SubmitResult::kQueueFull);
      return WithRetryAfter(
          MakeProblem(ProblemType::kQueueFull,
                      "the queue is full or would take too long to drain; retry after " +
                          RetryAfter(outcome.retry_after_seconds) + " s"),
          outcome.retry_after_seconds);
  }
  throw std::logic_error("unknown SubmitOutcome kind");
}

HttpResponse SubmitJob(const RouteContext& ctx, const HttpRequest& request, const Owner& owner) {
  if (std::optional<HttpResponse> refusal = RefuseSubmit(ctx, request)) return std::move(*refusal);

  const SceneParseResult parsed = ParseScene(request.body);
  if (!parsed.ok()) {
    ctx.metrics.CountSubmit(SubmitResult::kRejected);
    return SceneProblem(parsed.error());
  }
  const SceneDescription& scene = parsed.scene();
  SubmitRequest submit;
  submit.owner_id = owner.id;
  submit.spec.input_json = request.body;
  submit.spec.scene = SceneShape{scene.width, scene.height, scene.samples, scene.max_depth};
  submit.spec.cost_units = CostUnits(scene);
  submit.idempotency_key = request.idempotency_key;
  // Only a key's reuse check reads the hash: no digest on the common path.
  if (!submit.idempotency_key.empty()) submit.request_hash = Sha256Hex(request.body);

  Result<SubmitOutcome> outcome = ctx.store.Submit(submit);
  if (!outcome.ok()) {
    ctx.metrics.CountSubmit(SubmitResult::kStorageError);
    return StoreProblem(outcome.status());
  }
  return SubmitAnswer(ctx, submit, *outcome);
}

HttpResponse ListJobs(const RouteContext& ctx, const HttpRequest& request, const Owner& owner) {
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
  Result<JobPage> page = ctx.store.List(list);
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

HttpResponse GetJob(const RouteContext& ctx, const HttpRequest& request, const Owner& owner,
                    const std::string& id) {
  Result<Job> job = ctx.store.Get(owner.id, id);
  if (!job.ok()) return StoreProblem(job.status());
  Json body = JobToJson(*job);
  HttpResponse response = JsonResponse(200, body);
  ApplyEtag(request, WeakEtag(Dump(JobFingerprint(std::move(body)))), response);
  return response;
}

HttpResponse CancelJob(const RouteContext& ctx, const Owner& owner, const std::string& id) {
  Result<CancelOutcome> outcome = ctx.store.Cancel(owner.id, id);
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

}  // namespace renderq
