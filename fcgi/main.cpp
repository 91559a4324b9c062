// renderq-fcgi: the FastCGI responder of renderq's HTTP API.
//
// Listens on a unix socket (--socket) or, under systemd socket activation with
// StandardInput=socket, on fd 0; serves with a pool of threads until SIGTERM or
// SIGINT, then finishes the requests in flight and exits within a second.
#include <fcgiapp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>

#include "core/model/kind_paths.h"
#include "core/store/open_job_store.h"
#include "core/util/fcgi_socket.h"
#include "fcgi/api.h"
#include "fcgi/fcgi_server.h"
#include "fcgi/flags.h"
#include "fcgi/log.h"
#include "fcgi/metrics.h"
#include "notify/local_addresses.h"

namespace renderq {
namespace {

constexpr auto kStopTimeout = std::chrono::milliseconds(900);

Result<int> ListenFd(const Flags& flags) {
  if (!flags.socket.empty()) return ListenFcgiUnixSocket(flags.socket, flags.socket_group);
  struct stat st {};
  if (::fstat(STDIN_FILENO, &st) != 0 || !S_ISSOCK(st.st_mode)) {
    return Status::InvalidArgument(
        "no --socket given and fd 0 is not a socket (start it from renderq-fcgi.socket, or "
        "pass --socket PATH)");
  }
  return STDIN_FILENO;
}

void IgnoreSignal(int) {}

// SIGTERM/SIGINT are taken by sigwait() in main; every thread inherits the mask.
// SIGUSR1 only interrupts accept() (no SA_RESTART) so Stop() can wake threads.
sigset_t SetUpSignals() {
  struct sigaction wake {};
  wake.sa_handler = IgnoreSignal;
  sigemptyset(&wake.sa_mask);
  wake.sa_flags = 0;
  ::sigaction(SIGUSR1, &wake, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // nginx hung up: the write fails, the thread goes on
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  ::pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  return stop;
}

int Run(const Flags& flags) {
  const sigset_t stop_signals = SetUpSignals();
  if (FCGX_Init() != 0) {
    LogLine("FCGX_Init failed");
    return 1;
  }
  Result<int> listen_fd = ListenFd(flags);
  if (!listen_fd.ok()) {
    LogLine(listen_fd.status().message());
    return 1;
  }
  // The store is opened here, after any fork: database handles must not cross one.
  StoreOptions store_options;
  store_options.rules.limits.max_queued = flags.max_queued;
  store_options.rules.limits.max_queued_per_owner = flags.max_queued_per_owner;
  store_options.rules.limits.max_drain_seconds = flags.max_drain_seconds;
  store_options.rules.limits.max_render_seconds = flags.max_render_seconds;
  store_options.results_dir = flags.results;
  Result<std::unique_ptr<JobStore>> store = OpenJobStore(flags.db, store_options);
  if (!store.ok()) {
    LogLine("cannot open the database " + RedactedDb(flags.db) + ": " + store.status().ToString());
    return 1;
  }
  // Job kinds: a bad kind file stops the responder here, naming file, key and reason.
  const std::string kinds_dir = ChooseDir(
      flags.kinds_dir.empty() ? std::nullopt : std::optional<std::string>(flags.kinds_dir),
      "RENDERQ_KINDS_DIR", InstalledKindsDir());
  Result<std::vector<KindSpec>> kinds = LoadKindsFrom(
      kinds_dir, !flags.kinds_dir.empty() || std::getenv("RENDERQ_KINDS_DIR") != nullptr);
  if (!kinds.ok()) {
    LogLine("kinds: " + kinds.status().message());
    return 1;
  }
  ApiOptions api_options;
  std::string kind_names;
  for (KindSpec& kind : *kinds) {
    kind_names += (kind_names.empty() ? "" : ",") + kind.name;
    std::string name = kind.name;
    api_options.kinds.emplace(std::move(name), std::move(kind));
  }
  if (!flags.webhook_public_key.empty()) {
    Result<notify::SealingKey> key =
        notify::SealingKey::FromPublicPemFile(flags.webhook_public_key);
    if (!key.ok()) {
      LogLine("cannot load the webhook key: " + key.status().message());
      return 1;
    }
    api_options.webhook_key = std::move(key).value();
  }
  for (const std::string& range : flags.webhook_allow) {
    api_options.webhook_policy.allowed.push_back(*notify::IpRange::Parse(range));
  }
  api_options.webhook_policy.allow_http = flags.webhook_allow_http;
  api_options.webhook_policy.own = notify::LocalInterfaceAddresses();
  Metrics metrics;
  const Api api(store->get(), &metrics, SystemClock::Instance(), std::move(api_options));

  FcgiServer server(&api, *listen_fd, flags.threads);
  server.Start();
  LogLine("serving " + RedactedDb(flags.db) + " on " +
          (flags.socket.empty() ? std::string("fd 0 (socket activation)") : flags.socket) +
          " with " + std::to_string(flags.threads) + " threads; kinds from " + kinds_dir + ": " +
          (kind_names.empty() ? "none" : kind_names));

  int signal_number = 0;
  while (::sigwait(&stop_signals, &signal_number) != 0) {
  }
  LogLine(std::string("stopping on ") + (signal_number == SIGINT ? "SIGINT" : "SIGTERM"));
  if (!server.Stop(kStopTimeout)) {
    LogLine("requests still in flight after the stop timeout; exiting anyway");
    std::_Exit(1);  // committed jobs are on disk; nothing else needs flushing
  }
  if (!flags.socket.empty()) ::unlink(flags.socket.c_str());
  LogLine("stopped");
  return 0;
}

}  // namespace
}  // namespace renderq

int main(int argc, char** argv) {
  const renderq::Flags flags = renderq::ParseFlags(argc, argv);
  try {
    return renderq::Run(flags);
  } catch (const std::exception& e) {
    renderq::LogLine(std::string("fatal: ") + e.what());
    return 1;
  }
}
