// The command line of renderq-notify (--help prints it).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace renderq::notify {

struct NotifyFlags {  // defaults as --help shows them
  std::string db;
  std::string hook_socket;
  std::string hook_socket_group;
  std::string nchan_socket;
  std::string private_key;         // the webhook secrets' opening key (PEM)
  std::vector<std::string> allow;  // CIDR ranges webhooks may reach after all
  bool allow_http = false;
  std::string ca_file;
  std::size_t max_deliveries = 32;
  int delivery_lease_seconds = 30;  // a claim outlives an attempt's 10 s
};

// Parses argv; $RENDERQ_DB when --db is absent, and the systemd credential
// "webhook-private-key" when --webhook-private-key is absent. Prints the help
// and exits 0 on --help; prints the error and exits 2 on a bad or missing flag.
NotifyFlags ParseNotifyFlags(int argc, char** argv);

// True when systemd passed this process one listening socket (fd 3).
bool SocketActivated();
inline constexpr int kActivatedSocketFd = 3;

}  // namespace renderq::notify
