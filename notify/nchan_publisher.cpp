#include "notify/nchan_publisher.h"

#include <curl/curl.h>

#include <mutex>

namespace renderq::notify {

namespace {

std::size_t Discard(char*, std::size_t size, std::size_t count, void*) { return size * count; }

}  // namespace

NchanPublisher::NchanPublisher(std::string socket_path) : socket_path_(std::move(socket_path)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  easy_ = curl_easy_init();
}

NchanPublisher::~NchanPublisher() {
  if (easy_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(easy_));
}

Status NchanPublisher::Publish(const std::vector<std::string>& channels, std::string_view message) {
  return Send("POST", channels, message);
}

Status NchanPublisher::Delete(const std::vector<std::string>& channels) {
  return Send("DELETE", channels, {});
}

Status NchanPublisher::Send(const char* method, const std::vector<std::string>& channels,
                            std::string_view body) {
  if (channels.empty()) return Status::Ok();
  std::string channel;
  for (const std::string& c : channels) channel += (channel.empty() ? "" : ",") + c;
  CURL* e = static_cast<CURL*>(easy_);
  if (e == nullptr) return Status::Internal("libcurl could not allocate a handle");
  curl_easy_reset(e);
  // The host part is ignored: the socket decides where the request goes.
  const std::string url = "http://localhost/pub/" + channel;
  curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, socket_path_.c_str());
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 2000L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Discard);
  if (std::string_view(method) == "POST") {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: text/event-stream");
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
  const CURLcode rc = curl_easy_perform(e);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    return Status::Unavailable("nginx's publisher at " + socket_path_ + ": " +
                               curl_easy_strerror(rc));
  }
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  // DELETE of a channel nobody opened is 404: there was nothing to end.
  if ((status >= 200 && status < 300) || (status == 404 && std::string_view(method) == "DELETE")) {
    return Status::Ok();
  }
  return Status::Unavailable("nginx's publisher answered " + std::to_string(status) + " for " +
                             channel);
}

}  // namespace renderq::notify
