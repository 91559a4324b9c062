#include "fcgi/kind_routes.h"

#include <cstdio>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/model/kind_input.h"
#include "core/util/digest.h"
#include "fcgi/conditional.h"
#include "fcgi/job_routes.h"
#include "fcgi/problem.h"
#include "fcgi/request_body.h"
#include "fcgi/responses.h"
#include "fcgi/scene_schema.h"

namespace renderq {
namespace {

using Json = nlohmann::json;

// The runner gets the input re-serialized in its job line, which SPEC's
// runner protocol bounds; an input is at most the body's 4 MiB.
constexpr std::size_t kMaxInputJsonBytes = std::size_t{4} << 20;

// A kind's cost in seconds: its measured mean runtime once it has enough
// finished jobs, else its kind file's estimate.
Result<double> KindSeconds(const RouteContext& ctx, const KindSpec& kind) {
  ASSIGN_OR_RETURN(std::optional<double> measured, ctx.store.KindRunSeconds(kind.name));
  return measured.value_or(kind.estimate_seconds);
}

// Pointers longer than this are cut back to the whole tokens that fit (a key
// in the input may be megabytes long): the API's problems quote at most 512.
constexpr std::size_t kMaxPointerBytes = 512;

HttpResponse InputProblem(const std::vector<InputFinding>& findings) {
  std::vector<ProblemError> errors;
  errors.reserve(findings.size());
  for (const InputFinding& f : findings) {
    if (f.pointer.size() <= kMaxPointerBytes) {
      errors.push_back({f.pointer, f.detail});
    } else {
      const std::size_t cut = f.pointer.rfind('/', kMaxPointerBytes);
      errors.push_back({f.pointer.substr(0, cut == std::string::npos ? 0 : cut),
                        f.detail + " (under a key too long to quote)"});
    }
  }
  if (errors.size() == 1) {
    const std::string where = errors.front().pointer.empty() ? "input" : errors.front().pointer;
    return MakeProblem(ProblemType::kInvalidInput, where + ": " + errors.front().detail, errors);
  }
  return MakeProblem(ProblemType::kInvalidInput,
                     std::to_string(errors.size()) + " findings in the input", errors);
}

std::string Seconds(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", seconds);
  return buf;
}

}  // namespace

HttpResponse ListKinds(const RouteContext& ctx, const HttpRequest& request) {
  static const Json scene_schema = Json::parse(SceneSchemaJson());
  Json kinds = Json::array();
  kinds.push_back({{"name", kSceneKind},
                   {"description",
                    "The built-in path tracer: SPEC's scene format, rendered to a PNG on the "
                    "worker's GPU (or CPU). Its cost follows from the scene's size."},
                   {"input_schema", scene_schema},
                   {"output_media_type", "image/png"},
                   {"estimated_seconds", nullptr}});
  for (const auto& [name, kind] : ctx.options.kinds) {
    Result<double> seconds = KindSeconds(ctx, kind);
    if (!seconds.ok()) return StoreProblem(seconds.status());
    kinds.push_back(KindToJson(kind, *seconds));
  }
  Json body = {{"kinds", std::move(kinds)}};
  HttpResponse response = JsonResponse(200, body);
  ApplyEtag(request, WeakEtag(Dump(body)), response);
  return response;
}

HttpResponse SubmitKindJob(const RouteContext& ctx, const HttpRequest& request, const Owner& owner,
                           std::string_view kind_name) {
  const auto found = ctx.options.kinds.find(kind_name);
  if (found == ctx.options.kinds.end()) {
    ctx.metrics.CountSubmit(SubmitResult::kRejected);
    return NotFound("no job kind \"" + std::string(kind_name.substr(0, 64)) + "\" here");
  }
  const KindSpec& kind = found->second;
  if (std::optional<HttpResponse> refusal = RefuseSubmit(ctx, request)) return std::move(*refusal);

  KindInputParse parsed = ParseKindInput(request.body);
  if (const MalformedInput* malformed = std::get_if<MalformedInput>(&parsed)) {
    ctx.metrics.CountSubmit(SubmitResult::kRejected);
    return MakeProblem(ProblemType::kMalformedJson, malformed->message);
  }
  if (const auto* findings = std::get_if<std::vector<InputFinding>>(&parsed)) {
    ctx.metrics.CountSubmit(SubmitResult::kRejected);
    return InputProblem(*findings);
  }
  const Json& input = std::get<Json>(parsed);
  std::vector<InputFinding> findings = kind.input_schema->Check(input);
  if (findings.empty() && input.dump().size() > kMaxInputJsonBytes) {
    findings.push_back({"", "longer than 4 MiB once written as compact JSON"});
  }
  if (!findings.empty()) {
    ctx.metrics.CountSubmit(SubmitResult::kRejected);
    return InputProblem(findings);
  }

  // The cost in the queue's units: the kind's seconds at one worker's
  // measured rate, so that admission and ETAs weigh it as the worker's time
  // it takes (core/model/queue_rules.h predicts seconds as cost / rate).
  Result<double> seconds = KindSeconds(ctx, kind);
  Result<double> rate = seconds.ok() ? ctx.store.UnitsPerSecond() : seconds.status();
  if (!rate.ok()) {
    ctx.metrics.CountSubmit(SubmitResult::kStorageError);
    return StoreProblem(rate.status());
  }
  SubmitRequest submit;
  submit.owner_id = owner.id;
  submit.spec.kind = kind.name;
  submit.spec.input_json = request.body;
  submit.spec.cost_units = *seconds * *rate;
  if (kind.output_media_type != "image/png") submit.spec.media_type = kind.output_media_type;
  submit.idempotency_key = request.idempotency_key;
  if (!submit.idempotency_key.empty()) {
    // The key's reuse check compares bodies; the kind is part of what was asked.
    submit.request_hash = Sha256Hex(kind.name + "\n" + request.body);
  }
  Result<SubmitOutcome> outcome = ctx.store.Submit(submit);
  if (!outcome.ok()) {
    ctx.metrics.CountSubmit(SubmitResult::kStorageError);
    return StoreProblem(outcome.status());
  }
  if (outcome->kind == SubmitOutcome::Kind::kTooExpensive) {
    ctx.metrics.CountSubmit(SubmitResult::kRejected);
    return MakeProblem(ProblemType::kTooExpensive,
                       "a " + kind.name + " job is expected to run " + Seconds(*seconds) +
                           " s, over the limit of " + Seconds(outcome->limit_seconds) + " s");
  }
  return SubmitAnswer(ctx, submit, *outcome);
}

}  // namespace renderq
