// renderq_live_driver: LiveHub, its hook server and the nchan publisher as
// the dispatcher runs them, fed from stdin instead of the database, for the
// tests that put a real nginx (nchan) in front of them.
//
//   renderq_live_driver --publish-socket PATH --hook-socket PATH
//
// stdin, one JSON object per line:
//   {"seq": N, "kind": "state"|"progress", "job": ID, "owner": N, "data": {...},
//    "terminal": bool}                       an event, as the outbox would give it
//   {"sync": true}                           answered "ok" on stdout once every
//                                            earlier line is handled
// EOF ends it.
#include <iostream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/model/clock.h"
#include "notify/hook_server.h"
#include "notify/live_hub.h"
#include "notify/nchan_publisher.h"

int main(int argc, char** argv) {
  using namespace renderq;
  using namespace renderq::notify;
  std::string publish_socket, hook_socket;
  TimeMs end_delay_ms = LiveHubOptions{}.end_delay_ms;
  std::size_t batch = LiveHubOptions{}.batch;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--publish-socket") publish_socket = argv[i + 1];
    if (flag == "--hook-socket") hook_socket = argv[i + 1];
    if (flag == "--end-delay-ms") end_delay_ms = std::stoll(argv[i + 1]);
    if (flag == "--batch") batch = std::stoul(argv[i + 1]);
  }
  if (publish_socket.empty() || hook_socket.empty()) {
    std::cerr << "usage: renderq_live_driver --publish-socket PATH --hook-socket PATH\n";
    return 2;
  }
  const auto log = [](std::string_view line) { std::cerr << "live_driver: " << line << "\n"; };
  NchanPublisher publisher(publish_socket);
  LiveHubOptions options;
  options.keepalive_ms = 2'000;
  options.end_delay_ms = end_delay_ms;
  options.batch = batch;
  LiveHub hub(&publisher, SystemClock::Instance(), options, log);
  hub.Start({});
  const auto listen = ListenOnUnixSocket(hook_socket, "");
  if (!listen.ok()) {
    std::cerr << listen.status().ToString() << "\n";
    return 1;
  }
  HookServer hooks(&hub, *listen, log);
  hooks.Start();
  std::atomic<bool> done{false};
  std::thread ticker([&] {
    while (!done) {
      hub.Tick();
      const TimeMs wait =
          std::clamp<TimeMs>(hub.NextTickAt() - SystemClock::Instance()->NowMs(), 1, 20);
      std::this_thread::sleep_for(std::chrono::milliseconds(wait));
    }
  });
  std::string line;
  while (std::getline(std::cin, line)) {
    const auto in = nlohmann::json::parse(line, nullptr, false);
    if (!in.is_object()) continue;
    if (in.value("sync", false)) {
      std::cout << "ok" << std::endl;
      continue;
    }
    LiveEvent e;
    e.seq = in.value("seq", 0);
    e.kind = in.value("kind", "state") == "progress" ? LiveEvent::Kind::kProgress
                                                     : LiveEvent::Kind::kState;
    e.job_id = in.value("job", "");
    e.owner_id = in.value("owner", 0);
    e.data = in.value("data", nlohmann::json::object()).dump();
    e.terminal = in.value("terminal", false);
    hub.OnEvent(e);
  }
  done = true;
  ticker.join();
  hooks.Stop();
  return 0;
}
