#include "fcgi/image_routes.h"

#include "fcgi/log.h"
#include "fcgi/problem.h"
#include "fcgi/responses.h"

namespace renderq {
namespace {

HttpResponse ImageResponse(const RouteContext& ctx, const std::string& id, ArtifactKind kind) {
  const bool result = kind == ArtifactKind::kResult;
  Result<Artifact> artifact = ctx.store.ReadArtifact(id, kind);
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
    response.SetHeader("X-Accel-Redirect", ctx.options.internal_results_prefix + artifact->file);
  }
  return response;
}

}  // namespace

HttpResponse JobResult(const RouteContext& ctx, const Owner& owner, const std::string& id) {
  Result<Job> job = ctx.store.Get(owner.id, id);
  if (!job.ok()) return StoreProblem(job.status());
  if (job->state != JobState::kSucceeded) {
    return MakeProblem(ProblemType::kResultNotReady,
                       std::string("the job is ") + JobStateName(job->state) +
                           "; its result exists once it has succeeded");
  }
  HttpResponse response = ImageResponse(ctx, id, ArtifactKind::kResult);
  if (response.status == 200 && job->result_etag && !job->result_etag->empty()) {
    const std::string& etag = *job->result_etag;
    response.SetHeader("ETag", etag.front() == '"' ? etag : '"' + etag + '"');
  }
  return response;
}

HttpResponse JobPreview(const RouteContext& ctx, const Owner& owner, const std::string& id) {
  Result<Job> job = ctx.store.Get(owner.id, id);
  if (!job.ok()) return StoreProblem(job.status());
  if (job->state != JobState::kRunning) {
    return NotFound(std::string("no preview: the job is ") + JobStateName(job->state));
  }
  HttpResponse response = ImageResponse(ctx, id, ArtifactKind::kPreview);
  if (response.status == 200) response.SetHeader("Cache-Control", "no-store");
  return response;
}

}  // namespace renderq
