#include "notify/url_policy.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>

namespace renderq::notify {

namespace {

struct CurlUrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

// One part of a parsed URL; nullopt when the URL has none.
std::optional<std::string> Part(CURLU* url, CURLUPart part, unsigned flags = 0) {
  char* value = nullptr;
  if (curl_url_get(url, part, &value, flags) != CURLUE_OK || value == nullptr) return std::nullopt;
  std::string out(value);
  curl_free(value);
  return out;
}

constexpr std::string_view kWhatIsAllowed =
    "webhooks may not point at loopback, private, link-local or other special addresses, or at "
    "this service's own addresses";

}  // namespace

Result<WebhookUrl> WebhookUrlPolicy::Parse(std::string_view text) const {
  if (text.size() > kMaxWebhookUrlBytes) {
    return Status::InvalidArgument("the URL is longer than 2048 bytes");
  }
  for (const char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return Status::InvalidArgument("the URL holds a space or a control character");
    }
  }
  std::unique_ptr<CURLU, CurlUrlDeleter> url(curl_url());
  if (!url) return Status::Internal("libcurl could not allocate a URL handle");
  const std::string copy(text);
  // No scheme guessing: "example.com/hook" is not a URL.
  const CURLUcode rc = curl_url_set(url.get(), CURLUPART_URL, copy.c_str(), 0);
  if (rc != CURLUE_OK) {
    return Status::InvalidArgument(std::string("not an absolute http(s) URL: ") +
                                   curl_url_strerror(rc));
  }
  WebhookUrl out;
  out.scheme = Part(url.get(), CURLUPART_SCHEME).value_or("");
  if (out.scheme != "https" && !(out.scheme == "http" && options_.allow_http)) {
    return Status::InvalidArgument(
        out.scheme == "http" ? "the URL must be https (plain http is not allowed on this server)"
                             : "the URL must be https");
  }
  if (Part(url.get(), CURLUPART_USER) || Part(url.get(), CURLUPART_PASSWORD)) {
    return Status::InvalidArgument("the URL may not hold a user name or password");
  }
  if (Part(url.get(), CURLUPART_ZONEID)) {
    return Status::InvalidArgument("the URL may not name an IPv6 zone");
  }
  std::string host = Part(url.get(), CURLUPART_HOST).value_or("");
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) return Status::InvalidArgument("the URL names no host");
  out.host = host;
  out.port = std::stoi(Part(url.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT).value_or("0"));
  // A fragment is never sent; leave it out of the stored URL.
  curl_url_set(url.get(), CURLUPART_FRAGMENT, nullptr, 0);
  out.url = Part(url.get(), CURLUPART_URL).value_or(copy);
  return out;
}

std::optional<std::string> WebhookUrlPolicy::Describe(const IpAddress& address) const {
  for (const IpRange& r : options_.allowed) {
    if (r.Contains(address)) return std::nullopt;
  }
  if (const auto special = SpecialPurpose(address))
    return "a " + std::string(*special) + " address";
  const IpAddress plain = address.Unwrapped();
  for (const IpAddress& own : options_.own) {
    if (own.Unwrapped() == plain) return std::string("this server's own address");
  }
  return std::nullopt;
}

std::optional<std::string> WebhookUrlPolicy::RefusalFor(const IpAddress& address) const {
  if (auto what = Describe(address)) return address.ToString() + " is " + *what;
  return std::nullopt;
}

Result<WebhookUrl> WebhookUrlPolicy::CheckRegistration(std::string_view text,
                                                       const Resolver& resolver) const {
  ASSIGN_OR_RETURN(WebhookUrl url, Parse(text));
  std::vector<IpAddress> addresses;
  if (auto literal = IpAddress::Parse(url.host)) {
    addresses.push_back(*literal);
  } else {
    auto resolved = resolver.Resolve(url.host);
    if (!resolved.ok()) {
      return Status::InvalidArgument("the URL's host " + url.host + " does not resolve");
    }
    addresses = std::move(resolved).value();
  }
  const bool literal = IpAddress::Parse(url.host).has_value();
  for (const IpAddress& a : addresses) {
    if (auto what = Describe(a)) {
      const std::string why = literal ? a.ToString() + " is " + *what
                                      : url.host + " resolves to " + a.ToString() + ", " + *what;
      return Status::InvalidArgument(why + "; " + std::string(kWhatIsAllowed));
    }
  }
  return url;
}

}  // namespace renderq::notify
