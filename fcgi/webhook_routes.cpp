#include "fcgi/webhook_routes.h"

#include <set>

#include <nlohmann/json.hpp>

#include "core/model/uuid.h"
#include "fcgi/problem.h"
#include "fcgi/request_body.h"
#include "fcgi/responses.h"
#include "notify/base64.h"
#include "notify/webhook_secret.h"

namespace renderq {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kWebhooksPath = "/api/v1/webhooks/";

HttpResponse WebhookNotFound() { return NotFound("no such webhook"); }

// The webhook's store errors as the client sees them.
HttpResponse WebhookStoreProblem(const Status& status) {
  if (status.code() == StatusCode::kNotFound) return WebhookNotFound();
  return StoreProblem(status);
}

Json EventNames(int events) {
  Json names = Json::array();
  for (int bit = 1; bit <= kEventJobCanceled; bit <<= 1) {
    if (events & bit) names.push_back(WebhookEventName(bit));
  }
  return names;
}

Json WebhookJson(const Webhook& w) {
  return Json{{"id", w.id},
              {"url", w.url},
              {"events", EventNames(w.events)},
              {"created_at", FormatTimestamp(w.created_at)}};
}

Result<std::string> NewWebhookId() {
  unsigned char bytes[16];
  RETURN_IF_ERROR(RandomBytes(bytes, sizeof bytes));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "wh_";
  for (unsigned char b : bytes) {
    id.push_back(kHex[b >> 4]);
    id.push_back(kHex[b & 15]);
  }
  return id;
}

struct WebhookBody {
  std::string url;
  int events = 0;
};

// The body's rules: an object with `url` (a string of at most 2048 bytes)
// and `events` (one or more known event names, no repeats), nothing else.
// Every broken rule is a finding at its pointer.
std::vector<ProblemError> CheckBody(const Json& body, WebhookBody* out) {
  std::vector<ProblemError> findings;
  if (!body.is_object()) return {{"", "must be an object with \"url\" and \"events\""}};
  for (const auto& [key, value] : body.items()) {
    if (key != "url" && key != "events") {
      findings.push_back({"/" + (key.size() > 64 ? key.substr(0, 64) : key), "unknown key"});
    }
  }
  const auto url = body.find("url");
  if (url == body.end()) {
    findings.push_back({"/url", "is required"});
  } else if (!url->is_string()) {
    findings.push_back({"/url", "must be a string"});
  } else if (url->get_ref<const std::string&>().size() > notify::kMaxWebhookUrlBytes) {
    findings.push_back({"/url", "must be at most 2048 bytes"});
  } else {
    out->url = url->get<std::string>();
  }
  const auto events = body.find("events");
  if (events == body.end()) {
    findings.push_back({"/events", "is required"});
  } else if (!events->is_array() || events->empty()) {
    findings.push_back({"/events", "must be a non-empty array of event names"});
  } else {
    for (std::size_t i = 0; i < events->size(); ++i) {
      const Json& name = (*events)[i];
      const std::string pointer = "/events/" + std::to_string(i);
      const int bit = name.is_string() ? WebhookEventBit(name.get<std::string>()) : 0;
      if (bit == 0) {
        findings.push_back(
            {pointer, "must be one of job.started, job.succeeded, job.failed, job.canceled"});
      } else if (out->events & bit) {
        findings.push_back({pointer, "is given twice"});
      } else {
        out->events |= bit;
      }
    }
  }
  return findings;
}

HttpResponse InvalidWebhook(const std::vector<ProblemError>& findings) {
  if (findings.size() == 1) {
    const ProblemError& f = findings.front();
    return MakeProblem(ProblemType::kInvalidWebhook,
                       (f.pointer.empty() ? std::string("the body") : f.pointer) + ": " + f.detail,
                       findings);
  }
  return MakeProblem(ProblemType::kInvalidWebhook,
                     std::to_string(findings.size()) + " problems in the webhook; first: " +
                         findings.front().pointer + ": " + findings.front().detail,
                     findings);
}

}  // namespace

HttpResponse CreateWebhook(const RouteContext& ctx, const HttpRequest& request,
                           const Owner& owner) {
  if (std::optional<HttpResponse> refused = RefuseJsonBody(request)) return std::move(*refused);
  const Json body = Json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    return MakeProblem(ProblemType::kMalformedJson, "the body is not JSON");
  }
  WebhookBody wanted;
  std::vector<ProblemError> findings = CheckBody(body, &wanted);
  if (!findings.empty()) return InvalidWebhook(findings);
  if (!ctx.options.webhook_key) {
    return MakeProblem(ProblemType::kWebhooksUnavailable,
                       "this server has no key to keep webhook secrets with "
                       "(renderq-fcgi --webhook-public-key)");
  }
  const notify::WebhookUrlPolicy policy(ctx.options.webhook_policy);
  const notify::SystemResolver system_resolver;
  const notify::Resolver& resolver =
      ctx.options.resolver != nullptr ? *ctx.options.resolver : system_resolver;
  Result<notify::WebhookUrl> url = policy.CheckRegistration(wanted.url, resolver);
  if (!url.ok()) return InvalidWebhook({{"/url", url.status().message()}});

  Result<std::string> id = NewWebhookId();
  Result<std::string> secret = notify::NewSecretKey();
  if (!id.ok() || !secret.ok()) return StoreProblem(Status::Unavailable("no random bytes"));
  Result<std::string> sealed = ctx.options.webhook_key->Seal(*secret, *id);
  if (!sealed.ok()) return StoreProblem(sealed.status());
  NewWebhook webhook;
  webhook.id = *id;
  webhook.owner_id = owner.id;
  webhook.url = url->url;
  webhook.events = wanted.events;
  webhook.secret_sealed = notify::Base64Encode(*sealed);
  Result<Webhook> made = ctx.store.CreateWebhook(webhook);
  if (!made.ok()) {
    if (made.status().code() == StatusCode::kResourceExhausted) {
      return MakeProblem(ProblemType::kTooManyWebhooks, made.status().message());
    }
    return StoreProblem(made.status());
  }
  Json answer = WebhookJson(*made);
  answer["secret"] = notify::FormatSecret(*secret);
  HttpResponse response = JsonResponse(201, answer);
  response.SetHeader("Location", std::string(kWebhooksPath) + made->id);
  return response;
}

HttpResponse ListWebhooks(const RouteContext& ctx, const Owner& owner) {
  Result<std::vector<Webhook>> webhooks = ctx.store.ListWebhooks(owner.id);
  if (!webhooks.ok()) return StoreProblem(webhooks.status());
  Json list = Json::array();
  for (const Webhook& w : *webhooks) list.push_back(WebhookJson(w));
  return JsonResponse(200, Json{{"webhooks", list}});
}

HttpResponse DeleteWebhook(const RouteContext& ctx, const Owner& owner, const std::string& id) {
  const Status deleted = ctx.store.DeleteWebhook(owner.id, id);
  if (!deleted.ok()) return WebhookStoreProblem(deleted);
  HttpResponse response;
  response.status = 204;
  response.SetHeader("Cache-Control", "no-store");
  return response;
}

HttpResponse ListDeliveries(const RouteContext& ctx, const Owner& owner, const std::string& id) {
  Result<std::vector<DeliveryAttempt>> attempts =
      ctx.store.ListDeliveryAttempts(owner.id, id, kDeliveryLogLength);
  if (!attempts.ok()) return WebhookStoreProblem(attempts.status());
  Json list = Json::array();
  for (const DeliveryAttempt& a : *attempts) {
    list.push_back(Json{{"event_id", a.event_id},
                        {"type", a.type},
                        {"attempt", a.attempt},
                        {"attempted_at", FormatTimestamp(a.attempted_at)},
                        {"status", a.status ? Json(*a.status) : Json()},
                        {"error", a.error ? Json(*a.error) : Json()}});
  }
  return JsonResponse(200, Json{{"deliveries", list}});
}

}  // namespace renderq
