// Where webhooks may point (SPEC "Notifications", the SSRF defence).
//
// A webhook URL is https, names a host and no credentials, and every address
// the host resolves to is an ordinary public one: not loopback, private,
// link-local or otherwise special (ip_address.h), and not one of this host's
// own addresses. The operator may allow ranges (--webhook-allow CIDR) and
// plain http (scripts/run allows 127.0.0.0/8 and http for local trials).
//
// The same rule is applied twice: at registration (CheckRegistration, every
// address the name resolves to) and at each connection, to the very address
// the socket is about to reach (RefusalFor, called from libcurl's
// CURLOPT_OPENSOCKETFUNCTION), so a name that later resolves inward reaches
// nothing. Redirects are never followed (delivery_engine).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model/status.h"
#include "notify/ip_address.h"
#include "notify/resolver.h"

namespace renderq::notify {

inline constexpr std::size_t kMaxWebhookUrlBytes = 2048;

struct UrlPolicyOptions {
  std::vector<IpRange> allowed;  // --webhook-allow: reachable even if special or own
  bool allow_http = false;       // --webhook-allow-http
  std::vector<IpAddress> own;    // this host's addresses (LocalInterfaceAddresses())
};

struct WebhookUrl {
  std::string url;     // normalised by libcurl's URL parser
  std::string scheme;  // "https" (or "http" when allowed)
  std::string host;    // a name, or an address without brackets
  int port = 0;
};

class WebhookUrlPolicy {
 public:
  explicit WebhookUrlPolicy(UrlPolicyOptions options) : options_(std::move(options)) {}

  // Syntax and scheme only, no name resolution. kInvalidArgument with a
  // sentence a user can act on.
  Result<WebhookUrl> Parse(std::string_view url) const;

  // Parse, then resolve the host and refuse it when any of its addresses is
  // refused (a name with one public and one private address could be steered
  // to the private one). kInvalidArgument names the address and why.
  Result<WebhookUrl> CheckRegistration(std::string_view url, const Resolver& resolver) const;

  // Why a connection to `address` is refused ("127.0.0.1 is a loopback
  // address"), or nullopt when it may go.
  std::optional<std::string> RefusalFor(const IpAddress& address) const;
  // The same, as what the address is ("a loopback address").
  std::optional<std::string> Describe(const IpAddress& address) const;

  const UrlPolicyOptions& options() const { return options_; }

 private:
  UrlPolicyOptions options_;
};

}  // namespace renderq::notify
