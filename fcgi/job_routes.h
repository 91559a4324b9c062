// The job routes of SPEC's HTTP API: submit (POST /api/v1/jobs), list
// (GET /api/v1/jobs), show (GET /api/v1/jobs/{id}) and cancel
// (DELETE /api/v1/jobs/{id}), for an authenticated owner.
//
// Thread-safe as the store is. Never throws for bad input.
#pragma once

#include <string>

#include "core/store/job_store.h"
#include "fcgi/http.h"
#include "fcgi/route_context.h"

namespace renderq {

HttpResponse SubmitJob(const RouteContext& ctx, const HttpRequest& request, const Owner& owner);
HttpResponse ListJobs(const RouteContext& ctx, const HttpRequest& request, const Owner& owner);
HttpResponse GetJob(const RouteContext& ctx, const HttpRequest& request, const Owner& owner,
                    const std::string& id);
HttpResponse CancelJob(const RouteContext& ctx, const Owner& owner, const std::string& id);

}  // namespace renderq
