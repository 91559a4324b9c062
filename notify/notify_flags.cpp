#include "notify/notify_flags.h"

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <unistd.h>

#include "core/util/program_options.h"
#include "notify/ip_address.h"

namespace renderq::notify {

namespace {

namespace po = boost::program_options;

po::options_description Describe() {
  po::options_description d(
      "Usage: renderq-notify [options]\n"
      "Tells clients when their jobs change: delivers signed webhooks and feeds the\n"
      "event streams nginx holds (docs/notifications.md). Runs beside nginx on every\n"
      "web host; stops on SIGTERM or SIGINT.\n\nOptions");
  d.add_options()("help,h", "print this help and exit")(
      "db", po::value<std::string>()->value_name("PATH|URI"),
      "the queue: a SQLite file or a postgresql:// URI (default: $RENDERQ_DB)")(
      "hook-socket", po::value<std::string>()->value_name("PATH"),
      "unix socket (mode 0660) where nginx asks about new event streams (FastCGI);\n"
      "without it, the socket systemd passes (renderq-notify.socket, fd 3)")(
      "hook-socket-group", po::value<std::string>()->value_name("GROUP"),
      "group to give --hook-socket (nginx's, e.g. www-data)")(
      "nchan-socket", po::value<std::string>()->value_name("PATH"),
      "nginx's publisher socket for the event streams (the site's NCHAN_SOCKET)")(
      "webhook-private-key", po::value<std::string>()->value_name("FILE"),
      "X25519 private key (PEM) that opens the webhooks' sealed secrets (default: the\n"
      "systemd credential webhook-private-key); make one with\n"
      "`openssl genpkey -algorithm X25519`")(
      "webhook-allow", po::value<std::vector<std::string>>()->value_name("CIDR")->composing(),
      "a range webhooks may reach although it is loopback, private or this host's\n"
      "(repeatable; the same as the responder's)")(
      "webhook-allow-http", po::bool_switch(),
      "webhooks may be plain http (trials on one machine)")(
      "webhook-ca", po::value<std::string>()->value_name("FILE"),
      "CA certificates to verify receivers with (default: the system's)")(
      "max-deliveries", po::value<std::size_t>()->default_value(NotifyFlags{}.max_deliveries),
      "webhook deliveries in flight at once (one per webhook at most)")(
      "delivery-lease-seconds",
      po::value<int>()->default_value(NotifyFlags{}.delivery_lease_seconds),
      "how long a claimed delivery is this dispatcher's: one that dies mid-delivery\n"
      "has it tried again (with the same webhook-id) this long after the claim (11..3600)");
  return d;
}

[[noreturn]] void Usage(const std::string& error) {
  std::cerr << "renderq-notify: " << error << "\n(see renderq-notify --help)\n";
  std::exit(2);
}

}  // namespace

bool SocketActivated() {
  const char* fds = std::getenv("LISTEN_FDS");
  const char* pid = std::getenv("LISTEN_PID");
  return fds != nullptr && pid != nullptr && std::string(fds) == "1" &&
         std::string(pid) == std::to_string(::getpid());
}

NotifyFlags ParseNotifyFlags(int argc, char** argv) {
  const po::options_description described = Describe();
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(described).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    Usage(e.what());
  }
  if (vm.count("help")) {
    std::cout << described << "\n";
    std::exit(0);
  }
  NotifyFlags flags;
  auto get = [&](const char* name) {
    return vm.count(name) ? vm[name].as<std::string>() : std::string();
  };
  flags.db = get("db");
  if (flags.db.empty()) {
    const char* env = std::getenv("RENDERQ_DB");
    if (env != nullptr) flags.db = env;
  }
  flags.hook_socket = get("hook-socket");
  flags.hook_socket_group = get("hook-socket-group");
  flags.nchan_socket = get("nchan-socket");
  flags.private_key = get("webhook-private-key");
  if (flags.private_key.empty()) {
    const char* credentials = std::getenv("CREDENTIALS_DIRECTORY");
    if (credentials != nullptr) {
      const auto path = std::filesystem::path(credentials) / "webhook-private-key";
      if (std::filesystem::exists(path)) flags.private_key = path.string();
    }
  }
  flags.ca_file = get("webhook-ca");
  if (vm.count("webhook-allow")) flags.allow = vm["webhook-allow"].as<std::vector<std::string>>();
  flags.allow_http = vm["webhook-allow-http"].as<bool>();
  flags.max_deliveries = vm["max-deliveries"].as<std::size_t>();
  flags.delivery_lease_seconds = vm["delivery-lease-seconds"].as<int>();
  if (flags.delivery_lease_seconds < 11 || flags.delivery_lease_seconds > 3600) {
    Usage("--delivery-lease-seconds must be 11..3600 (longer than an attempt's 10 s)");
  }
  if (flags.db.empty()) Usage("no database: give --db or set RENDERQ_DB");
  if (flags.hook_socket.empty() && !SocketActivated()) {
    Usage("no --hook-socket, and no socket passed by systemd (renderq-notify.socket)");
  }
  if (flags.nchan_socket.empty()) Usage("no --nchan-socket");
  if (flags.private_key.empty()) Usage("no --webhook-private-key");
  for (const std::string& range : flags.allow) {
    if (!IpRange::Parse(range)) Usage("--webhook-allow " + range + " is not a CIDR range");
  }
  if (flags.max_deliveries < 1 || flags.max_deliveries > 1024) {
    Usage("--max-deliveries must be 1..1024");
  }
  return flags;
}

}  // namespace renderq::notify
