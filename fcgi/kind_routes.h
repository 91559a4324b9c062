// The job kinds routes (SPEC "Your own GPU program: job kinds"):
//   GET  /api/v1/kinds              every kind this responder accepts, scene first
//   POST /api/v1/kinds/{kind}/jobs  a job of that kind: its input checked against
//                                   the kind's schema (422 with one finding per
//                                   violated constraint), admitted at the kind's
//                                   cost (its measured mean runtime, else its
//                                   estimate_seconds), 201 as for a scene.
//
// Thread-safe as the store is. Never throws for bad input.
#pragma once

#include <string_view>

#include "core/store/job_store.h"
#include "fcgi/http.h"
#include "fcgi/route_context.h"

namespace renderq {

HttpResponse ListKinds(const RouteContext& ctx, const HttpRequest& request);
HttpResponse SubmitKindJob(const RouteContext& ctx, const HttpRequest& request, const Owner& owner,
                           std::string_view kind);

}  // namespace renderq
