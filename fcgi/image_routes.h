// The image routes: a succeeded job's result (GET /api/v1/jobs/{id}/result)
// and a running job's latest preview (GET /api/v1/jobs/{id}/preview). nginx
// sends the file through X-Accel-Redirect when the store has it in the results
// directory nginx serves; otherwise the bytes travel in the body.
//
// Thread-safe as the store is.
#pragma once

#include <string>

#include "core/store/job_store.h"
#include "fcgi/http.h"
#include "fcgi/route_context.h"

namespace renderq {

HttpResponse JobResult(const RouteContext& ctx, const Owner& owner, const std::string& id);
HttpResponse JobPreview(const RouteContext& ctx, const Owner& owner, const std::string& id);

}  // namespace renderq
