// renderq-notify: webhook deliveries and the live event streams' feed.
//
// Opens the queue, then runs the Dispatcher (dispatcher.h): the delivery
// engine on the outbox's deliveries, the live hub fed from the outbox's
// events, and the hook server nginx asks about each new stream. Every web
// host runs one beside its nginx; on PostgreSQL they share the deliveries
// (each claimed by one) and each publishes every event to its own nginx.
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "core/store/open_job_store.h"
#include "notify/delivery_engine.h"
#include "notify/dispatcher.h"
#include "notify/hook_server.h"
#include "notify/live_hub.h"
#include "notify/local_addresses.h"
#include "notify/nchan_publisher.h"
#include "notify/notify_flags.h"
#include "notify/secret_seal.h"
#include "notify/store_live_feed.h"
#include "notify/store_outbox.h"
#include "notify/url_policy.h"

namespace renderq::notify {
namespace {

void LogLine(std::string_view line) {
  // One write per line, so lines of several threads never interleave.
  std::string text = "renderq-notify: " + std::string(line) + "\n";
  (void)!::write(STDERR_FILENO, text.data(), text.size());
}

sigset_t BlockStopSignals() {
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  ::pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  return stop;
}

int Run(const NotifyFlags& flags) {
  const sigset_t stop_signals = BlockStopSignals();
  auto key = OpeningKey::FromPrivatePemFile(flags.private_key);
  if (!key.ok()) {
    LogLine("cannot load the webhook key: " + key.status().message());
    return 1;
  }
  UrlPolicyOptions policy_options;
  for (const std::string& range : flags.allow)
    policy_options.allowed.push_back(*IpRange::Parse(range));
  policy_options.allow_http = flags.allow_http;
  policy_options.own = LocalInterfaceAddresses();
  const WebhookUrlPolicy policy(policy_options);

  if (FCGX_Init() != 0) {
    LogLine("FCGX_Init failed");
    return 1;
  }
  Result<int> listen_fd = flags.hook_socket.empty()
                              ? Result<int>(kActivatedSocketFd)
                              : ListenOnUnixSocket(flags.hook_socket, flags.hook_socket_group);
  if (!listen_fd.ok()) {
    LogLine(listen_fd.status().message());
    return 1;
  }
  // Two connections' worth of store: the live loop and the delivery engine
  // each call it from their own thread (the store allows that).
  StoreOptions store_options;
  store_options.wake_on_events = true;
  auto store = OpenJobStore(flags.db, store_options);
  if (!store.ok()) {
    LogLine("cannot open the database " + RedactedDb(flags.db) + ": " + store.status().ToString());
    return 1;
  }

  const Clock* clock = SystemClock::Instance();
  NchanPublisher publisher(flags.nchan_socket);
  LiveHub hub(&publisher, clock, LiveHubOptions{}, LogLine);
  HookServer hooks(&hub, *listen_fd, LogLine);
  StoreOutbox outbox(store->get(), &*key, clock);
  DeliveryEngineOptions engine_options;
  engine_options.max_in_flight = flags.max_deliveries;
  engine_options.ca_file = flags.ca_file;
  engine_options.lease_ms = TimeMs{flags.delivery_lease_seconds} * 1000;
  DeliveryEngine engine(&outbox, &policy, clock, engine_options, nullptr, LogLine);
  StoreLiveFeed feed(store->get(), clock);
  Dispatcher dispatcher(&feed, &hub, &engine, &hooks, clock, LogLine);
  dispatcher.Start();
  LogLine("serving " + RedactedDb(flags.db) + "; hooks on " +
          (flags.hook_socket.empty() ? std::string("fd 3 (socket activation)") : flags.hook_socket) +
          ", publishing to " + flags.nchan_socket);

  int signal_number = 0;
  while (::sigwait(&stop_signals, &signal_number) != 0) {
  }
  LogLine(std::string("stopping on ") + (signal_number == SIGINT ? "SIGINT" : "SIGTERM"));
  dispatcher.Stop();
  if (!flags.hook_socket.empty()) ::unlink(flags.hook_socket.c_str());
  LogLine("stopped");
  return 0;
}

}  // namespace
}  // namespace renderq::notify

int main(int argc, char** argv) {
  const renderq::notify::NotifyFlags flags = renderq::notify::ParseNotifyFlags(argc, argv);
  try {
    return renderq::notify::Run(flags);
  } catch (const std::exception& e) {
    renderq::notify::LogLine(std::string("internal error: ") + e.what());
    return 1;
  }
}
