#include "fcgi/service_routes.h"

#include <nlohmann/json.hpp>

#include "core/util/digest.h"
#include "fcgi/conditional.h"
#include "fcgi/job_views.h"
#include "fcgi/log.h"
#include "fcgi/openapi_document.h"
#include "fcgi/problem.h"
#include "fcgi/responses.h"

namespace renderq {

using Json = nlohmann::json;

HttpResponse QueueStatus(const RouteContext& ctx, const HttpRequest& request, const Owner& owner) {
  Result<QueueSnapshot> queue = ctx.store.Queue();
  if (!queue.ok()) return StoreProblem(queue.status());
  Json running = Json::array();
  for (const Job& job : queue->running) running.push_back(RunningJobJson(job, owner.id));
  Json body = {
      {"queued", queue->queued},
      {"running", std::move(running)},
      {"workers", WorkersJson(queue->workers, ctx.clock.NowMs())},
      {"estimated_wait_seconds", queue->estimated_wait_seconds},
  };
  HttpResponse response = JsonResponse(200, body);
  ApplyEtag(request, WeakEtag(Dump(QueueFingerprint(std::move(body)))), response);
  return response;
}

HttpResponse Healthz(const RouteContext& ctx) {
  const Status ping = ctx.store.Ping();
  Result<QueueSnapshot> queue = ping.ok() ? ctx.store.Queue() : Result<QueueSnapshot>(ping);
  if (!queue.ok()) {
    LogLine("healthz: database cannot be read: " + queue.status().ToString());
    return MakeProblem(ProblemType::kStorageUnavailable, "the job database cannot be read");
  }
  return JsonResponse(200,
                      {{"db", "ok"}, {"workers", WorkersJson(queue->workers, ctx.clock.NowMs())}});
}

HttpResponse MetricsText(const RouteContext& ctx) {
  HttpResponse response;
  response.SetHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  response.SetHeader("Cache-Control", "no-store");
  response.body = ctx.metrics.Scrape(ctx.store, ctx.clock.NowMs());
  return response;
}

HttpResponse OpenApi(const HttpRequest& request) {
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

}  // namespace renderq
