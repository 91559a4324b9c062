// The job routes of SPEC's HTTP API: submit (POST /api/v1/jobs), list
// (GET /api/v1/jobs), show (GET /api/v1/jobs/{id}) and cancel
// (DELETE /api/v1/jobs/{id}), for an authenticated owner.
//
// Thread-safe as the store is. Never throws for bad input.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/store/job_store.h"
#include "fcgi/http.h"
#include "fcgi/route_context.h"

namespace renderq {

HttpResponse SubmitJob(const RouteContext& ctx, const HttpRequest& request, const Owner& owner);

// Printable ASCII, 1..255 bytes: a key is an opaque client-chosen string.
bool IsValidIdempotencyKey(std::string_view key);
// What every submit (of any kind) is refused for before its body is parsed:
// the body's framing and type (RefuseJsonBody) and a malformed
// Idempotency-Key; a refusal is counted in the metrics. nullopt: go on.
std::optional<HttpResponse> RefuseSubmit(const RouteContext& ctx, const HttpRequest& request);
// The answer to a submit the store decided on (of any kind), counted in the metrics.
HttpResponse SubmitAnswer(const RouteContext& ctx, const SubmitRequest& submit,
                          const SubmitOutcome& outcome);
HttpResponse ListJobs(const RouteContext& ctx, const HttpRequest& request, const Owner& owner);
HttpResponse GetJob(const RouteContext& ctx, const HttpRequest& request, const Owner& owner,
                    const std::string& id);
HttpResponse CancelJob(const RouteContext& ctx, const Owner& owner, const std::string& id);

}  // namespace renderq
