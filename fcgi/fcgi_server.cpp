#include "fcgi/fcgi_server.h"

#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <string>
#include <string_view>

#include "fcgi/log.h"

namespace renderq {

namespace {

// Owns one accepted request: FCGX_Finish_r flushes the answer and releases the
// connection however the handling ends.
class AcceptedRequest {
 public:
  explicit AcceptedRequest(FCGX_Request* request) : request_(request) {}
  ~AcceptedRequest() { FCGX_Finish_r(request_); }
  AcceptedRequest(const AcceptedRequest&) = delete;
  AcceptedRequest& operator=(const AcceptedRequest&) = delete;

 private:
  FCGX_Request* request_;
};

std::string_view Param(const FCGX_Request& request, const char* name) {
  const char* value = FCGX_GetParam(name, request.envp);
  return value == nullptr ? std::string_view() : std::string_view(value);
}

std::optional<std::uint64_t> ParseLength(std::string_view text) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return n;
}

// Reads exactly `length` bytes, or what arrived before the stream ended.
void ReadBody(FCGX_Request& request, std::uint64_t length, std::string& body) {
  body.resize(length);
  std::size_t got = 0;
  while (got < length) {
    const int want = static_cast<int>(std::min<std::uint64_t>(length - got, INT_MAX));
    const int n = FCGX_GetStr(body.data() + got, want, request.in);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  body.resize(got);
}

void FillRequest(FCGX_Request& fcgi, HttpRequest& request) {
  request.Clear();
  request.method = Param(fcgi, "REQUEST_METHOD");
  // nginx's DOCUMENT_URI is the normalised, decoded path; REQUEST_URI is the raw
  // target, used when a front end does not send the former.
  std::string_view path = Param(fcgi, "DOCUMENT_URI");
  if (path.empty()) {
    path = Param(fcgi, "REQUEST_URI");
    path = path.substr(0, path.find('?'));
  }
  request.path = path;
  request.query = Param(fcgi, "QUERY_STRING");
  request.content_type = Param(fcgi, "CONTENT_TYPE");
  request.content_length = ParseLength(Param(fcgi, "CONTENT_LENGTH"));
  request.authorization = Param(fcgi, "HTTP_AUTHORIZATION");
  request.idempotency_key = Param(fcgi, "HTTP_IDEMPOTENCY_KEY");
  request.if_none_match = Param(fcgi, "HTTP_IF_NONE_MATCH");
  request.remote_addr = Param(fcgi, "REMOTE_ADDR");
  if (request.content_length && *request.content_length > 0 &&
      *request.content_length <= kMaxBodyBytes) {
    ReadBody(fcgi, *request.content_length, request.body);
  }
}

void WriteResponse(FCGX_Request& fcgi, const HttpRequest& request, const HttpResponse& response,
                   std::string& head) {
  head.clear();
  head += "Status: ";
  head += std::to_string(response.status);
  head += ' ';
  head += ReasonPhrase(response.status);
  head += "\r\n";
  for (const auto& [name, value] : response.headers) {
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
  }
  // nginx replaces an X-Accel-Redirect answer with the file it names; a 304 has
  // no body, and a Content-Length there would claim the 200's length (RFC 9110).
  if (response.FindHeader("X-Accel-Redirect") == nullptr && response.status != 304) {
    head += "Content-Length: ";
    head += std::to_string(response.body.size());
    head += "\r\n";
  }
  head += "\r\n";
  if (request.method != "HEAD") head += response.body;
  FCGX_PutStr(head.data(), static_cast<int>(head.size()), fcgi.out);
}

}  // namespace

FcgiServer::FcgiServer(const Api* api, int listen_fd, int threads)
    : api_(api), listen_fd_(listen_fd), thread_count_(std::max(1, threads)) {}

FcgiServer::~FcgiServer() {
  if (!threads_.empty()) Stop(std::chrono::seconds(1));
}

void FcgiServer::Start() {
  threads_.reserve(static_cast<std::size_t>(thread_count_));
  for (int i = 0; i < thread_count_; ++i) threads_.emplace_back([this] { Serve(); });
}

bool FcgiServer::Stop(std::chrono::milliseconds timeout) {
  stopping_.store(true);
  FCGX_ShutdownPending();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // A signal sent just before a thread enters accept() is lost, so keep
  // knocking until every thread has left its loop.
  while (exited_.load() < thread_count_ && std::chrono::steady_clock::now() < deadline) {
    for (std::thread& t : threads_) pthread_kill(t.native_handle(), SIGUSR1);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const bool all_exited = exited_.load() >= thread_count_;
  for (std::thread& t : threads_) {
    if (all_exited) {
      t.join();
    } else {
      t.detach();
    }
  }
  threads_.clear();
  return all_exited;
}

void FcgiServer::Serve() {
  FCGX_Request fcgi;
  if (FCGX_InitRequest(&fcgi, listen_fd_, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
    LogLine("FCGX_InitRequest failed; thread exits");
    exited_.fetch_add(1);
    return;
  }
  HttpRequest request;  // reused: its buffers keep their capacity
  std::string head;
  bool accept_error_logged = false;
  while (!stopping_.load()) {
    if (FCGX_Accept_r(&fcgi) < 0) {
      if (stopping_.load()) break;
      if (errno == EINTR) continue;  // a stray SIGUSR1
      if (!accept_error_logged) {
        LogLine(std::string("accept failed: ") + std::strerror(errno));
        accept_error_logged = true;
      }
      // Out of descriptors and the like: back off instead of spinning.
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    accept_error_logged = false;
    AcceptedRequest accepted(&fcgi);
    FillRequest(fcgi, request);
    const HttpResponse response = api_->Handle(request);
    WriteResponse(fcgi, request, response, head);
  }
  FCGX_Free(&fcgi, /*close=*/0);  // each connection was closed by FCGX_Finish_r
  exited_.fetch_add(1);
}

}  // namespace renderq
