#include "notify/delivery_engine.h"

#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <mutex>
#include <random>

#include "notify/webhook_signature.h"

namespace renderq::notify {

namespace {

// What an error says of a receiver's body: its first bytes, for the log.
constexpr std::size_t kKeptBodyBytes = 256;

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

struct DeliveryEngine::Transfer {
  Delivery delivery;
  CURL* easy = nullptr;
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  std::unique_ptr<curl_slist, SlistDeleter> resolve;
  std::string kept_body;
  std::size_t body_bytes = 0;
  bool body_over_limit = false;
  std::size_t max_body = 0;
  std::string refused;  // why the connect-time check refused an address
  const WebhookUrlPolicy* policy = nullptr;
  TimeMs attempted_at = 0;
  char error[CURL_ERROR_SIZE] = {};

  ~Transfer() {
    if (easy != nullptr) curl_easy_cleanup(easy);
  }

  static std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* self_ptr) {
    auto* self = static_cast<Transfer*>(self_ptr);
    const std::size_t n = size * count;
    self->body_bytes += n;
    if (self->kept_body.size() < kKeptBodyBytes) {
      self->kept_body.append(data, std::min(n, kKeptBodyBytes - self->kept_body.size()));
    }
    if (self->body_bytes > self->max_body) {
      self->body_over_limit = true;
      return 0;  // stop reading: libcurl ends the transfer with CURLE_WRITE_ERROR
    }
    return n;
  }

  // The connect-time half of the SSRF defence: every socket libcurl opens
  // for this transfer is for an address the policy allows.
  static curl_socket_t OnOpenSocket(void* self_ptr, curlsocktype purpose, curl_sockaddr* address) {
    auto* self = static_cast<Transfer*>(self_ptr);
    if (purpose != CURLSOCKTYPE_IPCXN) {
      self->refused = "not an IP connection";
      return CURL_SOCKET_BAD;
    }
    const auto ip = IpAddress::FromSockaddr(&address->addr);
    if (!ip) {
      self->refused = "not an IP address";
      return CURL_SOCKET_BAD;
    }
    if (auto why = self->policy->RefusalFor(*ip)) {
      self->refused = *why;
      return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  }
};

DeliveryEngine::DeliveryEngine(DeliveryOutbox* outbox, const WebhookUrlPolicy* policy,
                               const Clock* clock, DeliveryEngineOptions options, Random random,
                               Log log)
    : outbox_(outbox),
      policy_(policy),
      clock_(clock),
      options_(std::move(options)),
      random_(std::move(random)),
      log_(std::move(log)) {
  GlobalInitOnce();
  if (!random_) {
    random_ = [engine = std::make_shared<std::mt19937_64>(std::random_device{}())] {
      return std::uniform_real_distribution<double>(0.0, 1.0)(*engine);
    };
  }
  if (!log_) log_ = [](std::string_view) {};
  multi_ = curl_multi_init();
}

DeliveryEngine::~DeliveryEngine() {
  CURLM* multi = static_cast<CURLM*>(multi_);
  for (auto& [easy, transfer] : in_flight_) curl_multi_remove_handle(multi, transfer->easy);
  in_flight_.clear();
  if (multi != nullptr) curl_multi_cleanup(multi);
}

void DeliveryEngine::Stop() {
  stop_ = true;
  if (multi_ != nullptr) curl_multi_wakeup(static_cast<CURLM*>(multi_));
}

void DeliveryEngine::Wake() {
  woken_ = true;
  if (multi_ != nullptr) curl_multi_wakeup(static_cast<CURLM*>(multi_));
}

void DeliveryEngine::StartTransfer(Delivery delivery, TimeMs now) {
  auto t = std::make_unique<Transfer>();
  t->delivery = std::move(delivery);
  t->policy = policy_;
  t->max_body = options_.max_response_bytes;
  t->attempted_at = now;
  t->easy = curl_easy_init();
  if (t->easy == nullptr) {
    log_("cannot allocate a libcurl handle; the delivery waits for its lease to run out");
    return;
  }
  const Delivery& d = t->delivery;
  const std::int64_t timestamp = now / 1000;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, ("webhook-id: " + d.event_id).c_str());
  headers = curl_slist_append(headers, ("webhook-timestamp: " + std::to_string(timestamp)).c_str());
  headers = curl_slist_append(
      headers,
      ("webhook-signature: " + SignatureHeader(d.secret_key, d.event_id, timestamp, d.body))
          .c_str());
  // No "Expect: 100-continue" round trip for bodies over 1 KiB.
  headers = curl_slist_append(headers, "Expect:");
  t->headers.reset(headers);
  curl_slist* resolve = nullptr;
  for (const std::string& r : options_.resolve) resolve = curl_slist_append(resolve, r.c_str());
  t->resolve.reset(resolve);

  CURL* e = t->easy;
  curl_easy_setopt(e, CURLOPT_URL, d.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR,
                   policy_->options().allow_http ? "http,https" : "https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  // A proxy named in the environment would connect on our behalf, past the check.
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, d.body.data());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(d.body.size()));
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers.get());
  if (t->resolve) curl_easy_setopt(e, CURLOPT_RESOLVE, t->resolve.get());
  curl_easy_setopt(e, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.attempt_timeout_ms));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(options_.max_response_bytes));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Transfer::OnBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &Transfer::OnOpenSocket);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t.get());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
  curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
  if (!options_.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (curl_multi_add_handle(static_cast<CURLM*>(multi_), e) != CURLM_OK) {
    log_("libcurl refused a transfer; the delivery waits for its lease to run out");
    return;
  }
  in_flight_.emplace(e, std::move(t));
}

void DeliveryEngine::FinishTransfer(Transfer* t, int curl_code, TimeMs now) {
  long status = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  const CURLcode rc = static_cast<CURLcode>(curl_code);
  const bool answered = status >= 100;
  const bool read_enough = rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && t->body_over_limit) ||
                           rc == CURLE_FILESIZE_EXCEEDED;
  AttemptRecord record;
  record.delivery_id = t->delivery.id;
  record.webhook_id = t->delivery.webhook_id;
  record.event_id = t->delivery.event_id;
  record.event_type = t->delivery.event_type;
  record.attempt = t->delivery.attempt;
  record.attempted_at = t->attempted_at;
  if (answered) record.http_status = static_cast<int>(status);
  record.succeeded = answered && read_enough && status >= 200 && status < 300;
  if (!record.succeeded) {
    std::string error;
    if (!t->refused.empty()) {
      error = "refused to connect: " + t->refused;
    } else if (answered && status >= 300 && status < 400) {
      error = "answered " + std::to_string(status) + "; redirects are not followed";
    } else if (answered && read_enough) {
      error = "answered " + std::to_string(status);
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
      error = "no answer within " + std::to_string(options_.attempt_timeout_ms / 1000) + " s";
    } else {
      error = t->error[0] != '\0' ? std::string(t->error) : std::string(curl_easy_strerror(rc));
    }
    record.error = error.substr(0, 200);
    record.next_attempt_at =
        NextAttemptAt(options_.retry, t->delivery.attempt, t->delivery.created_at, now, random_());
  }
  if (Status s = outbox_->RecordAttempt(record); !s.ok()) {
    log_("cannot record attempt " + std::to_string(record.attempt) + " of event " +
         record.event_id + " to webhook " + record.webhook_id + ": " + s.ToString() +
         " (it is tried again when its lease runs out)");
  }
}

void DeliveryEngine::Claim(TimeMs now) {
  std::vector<std::string> busy;
  busy.reserve(in_flight_.size());
  for (const auto& [easy, t] : in_flight_) busy.push_back(t->delivery.webhook_id);
  auto claimed = outbox_->ClaimDue(now, options_.max_in_flight - in_flight_.size(), busy,
                                   now + options_.lease_ms);
  if (!claimed.ok()) {
    log_("cannot read due deliveries: " + claimed.status().ToString());
    next_claim_at_ = now + options_.idle_poll_ms;
    return;
  }
  for (Delivery& d : claimed->deliveries) StartTransfer(std::move(d), now);
  next_claim_at_ = now + options_.idle_poll_ms;
  if (claimed->next_due_at) {
    next_claim_at_ = std::clamp(*claimed->next_due_at, now, next_claim_at_);
  }
}

Status DeliveryEngine::Run() {
  CURLM* multi = static_cast<CURLM*>(multi_);
  if (multi == nullptr) return Status::Internal("libcurl could not make a multi handle");
  while (!stop_) {
    TimeMs now = clock_->NowMs();
    if (woken_.exchange(false)) next_claim_at_ = now;
    if (in_flight_.size() < options_.max_in_flight && now >= next_claim_at_) Claim(now);

    int running = 0;
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      const int code = msg->data.result;
      curl_multi_remove_handle(multi, easy);
      auto it = in_flight_.find(easy);
      if (it == in_flight_.end()) continue;
      now = clock_->NowMs();
      FinishTransfer(it->second.get(), code, now);
      in_flight_.erase(it);
      // A slot is free and this webhook may have more waiting: ask again now.
      next_claim_at_ = now;
    }
    if (stop_) break;
    now = clock_->NowMs();
    TimeMs wait = options_.idle_poll_ms;
    if (in_flight_.size() < options_.max_in_flight) {
      wait = std::clamp<TimeMs>(next_claim_at_ - now, 0, options_.idle_poll_ms);
    }
    if (wait > 0 || running > 0)
      curl_multi_poll(multi, nullptr, 0, static_cast<int>(wait), nullptr);
  }
  return Status::Ok();
}

}  // namespace renderq::notify
