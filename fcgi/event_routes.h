// The live event streams (GET /api/v1/jobs/{id}/events, GET /api/v1/events)
// and retry (POST /api/v1/jobs/{id}/retry), for an authenticated owner.
//
// A stream is checked here (token, owner) and then handed to nginx with
// X-Accel-Redirect to its internal nchan location: the responder's thread
// is free at once, and the stream's events come from renderq-notify
// (docs/notifications.md). A job that has ended is answered here: its one
// `state` event, and the stream ends.
//
// Thread-safe as the store is. Never throws for bad input.
#pragma once

#include <string>

#include "core/store/job_store.h"
#include "fcgi/http.h"
#include "fcgi/route_context.h"

namespace renderq {

HttpResponse JobEvents(const RouteContext& ctx, const Owner& owner, const std::string& id);
HttpResponse OwnerEvents(const RouteContext& ctx, const Owner& owner);
HttpResponse RetryJob(const RouteContext& ctx, const Owner& owner, const std::string& id);

}  // namespace renderq
