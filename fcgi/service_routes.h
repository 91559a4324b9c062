// The routes about the service rather than one job: the queue
// (GET /api/v1/queue), health (GET /healthz), metrics (GET /metrics) and the
// OpenAPI document (GET /api/v1/openapi.json).
//
// Thread-safe as the store and the metrics are.
#pragma once

#include "core/store/job_store.h"
#include "fcgi/http.h"
#include "fcgi/route_context.h"

namespace renderq {

HttpResponse QueueStatus(const RouteContext& ctx, const HttpRequest& request, const Owner& owner);
HttpResponse Healthz(const RouteContext& ctx);
HttpResponse MetricsText(const RouteContext& ctx);
HttpResponse OpenApi(const HttpRequest& request);

}  // namespace renderq
