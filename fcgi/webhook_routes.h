// The webhook routes of SPEC's "Notifications": POST and GET /api/v1/webhooks,
// DELETE /api/v1/webhooks/{id}, GET /api/v1/webhooks/{id}/deliveries, for an
// authenticated owner. Another owner's webhook is 404.
//
// A new webhook's URL passes notify::WebhookUrlPolicy (https, every address
// the host resolves to a public one) before it is stored; its secret, 32
// random bytes shown once, is stored sealed to the dispatcher's public key.
//
// Thread-safe as the store is. Never throws for bad input.
#pragma once

#include <string>

#include "core/store/job_store.h"
#include "fcgi/http.h"
#include "fcgi/route_context.h"

namespace renderq {

HttpResponse CreateWebhook(const RouteContext& ctx, const HttpRequest& request, const Owner& owner);
HttpResponse ListWebhooks(const RouteContext& ctx, const Owner& owner);
HttpResponse DeleteWebhook(const RouteContext& ctx, const Owner& owner, const std::string& id);
HttpResponse ListDeliveries(const RouteContext& ctx, const Owner& owner, const std::string& id);

}  // namespace renderq
