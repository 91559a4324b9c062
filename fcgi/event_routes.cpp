#include "fcgi/event_routes.h"

#include <nlohmann/json.hpp>

#include "fcgi/problem.h"
#include "fcgi/responses.h"
#include "notify/live_channels.h"
#include "notify/sse_frame.h"

namespace renderq {
namespace {

// The hand-over to nginx: a fresh stream id and the channel the owner may read.
HttpResponse ToStream(const RouteContext& ctx, const std::string& channel) {
  const std::string sid = notify::NewSubscriberId();
  if (sid.empty()) return StoreProblem(Status::Unavailable("no random stream id"));
  HttpResponse response;
  response.status = 200;
  response.SetHeader("X-Accel-Redirect", ctx.options.internal_events_prefix + sid + "/" + channel);
  // nchan sends the stream as it comes; nothing of it may be buffered.
  response.SetHeader("X-Accel-Buffering", "no");
  response.SetHeader("Cache-Control", "no-store");
  return response;
}

}  // namespace

HttpResponse JobEvents(const RouteContext& ctx, const Owner& owner, const std::string& id) {
  Result<Job> job = ctx.store.Get(owner.id, id);
  if (!job.ok()) return StoreProblem(job.status());
  if (!IsTerminal(job->state)) return ToStream(ctx, notify::JobChannel(id));
  // Ended: its state, and the stream ends with this answer.
  HttpResponse response;
  response.status = 200;
  response.SetHeader("Content-Type", "text/event-stream; charset=utf-8");
  response.SetHeader("Cache-Control", "no-store");
  response.body = notify::SseFrame(0, "state", Dump(JobToJson(*job)));
  return response;
}

HttpResponse OwnerEvents(const RouteContext& ctx, const Owner& owner) {
  return ToStream(ctx, notify::OwnerChannel(owner.id));
}

HttpResponse RetryJob(const RouteContext& ctx, const Owner& owner, const std::string& id) {
  Result<Job> job = ctx.store.Retry(owner.id, id);
  if (job.ok()) return JsonResponse(200, JobToJson(*job));
  if (job.status().code() == StatusCode::kConflict) {
    Result<Job> now = ctx.store.Get(owner.id, id);
    const std::string state = now.ok() ? JobStateName(now->state) : "not failed or canceled";
    return MakeProblem(ProblemType::kJobNotRetryable,
                       "the job is " + state + "; only a failed or canceled job can be retried");
  }
  return StoreProblem(job.status());
}

}  // namespace renderq
