#include "fcgi/flags.h"

#include <cstdlib>
#include <iostream>
#include <thread>

#include "core/util/program_options.h"

namespace renderq {

namespace {

namespace po = boost::program_options;

// A request thread waits while its submit's batch commits, so the thread count
// bounds how many submits one fsync can carry: keep it well above the cores.
// RENDERQ_FCGI_THREADS (the systemd unit's environment) overrides it.
int DefaultThreads() {
  const char* env = std::getenv("RENDERQ_FCGI_THREADS");
  if (env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (*end == '\0' && n >= 1 && n <= 1024) return static_cast<int>(n);
  }
  return 64;
}

po::options_description Describe() {
  const Flags defaults;
  po::options_description d(
      "Usage: renderq-fcgi [options]\n"
      "FastCGI responder of the renderq HTTP API (/api/v1, /healthz, /metrics).\n"
      "Listens on --socket, or on fd 0 when started by systemd socket activation\n"
      "(StandardInput=socket). Stops on SIGTERM or SIGINT.\n\nOptions");
  // Values are read back with as<>() rather than stored through pointers: GCC's
  // -Wnull-dereference misfires inside Boost's storing notifier.
  d.add_options()("help,h", "print this help and exit")(
      "db", po::value<std::string>()->value_name("PATH"),
      "SQLite job database (default: $RENDERQ_DB); created and migrated if needed")(
      "socket", po::value<std::string>()->value_name("PATH"),
      "unix socket to create and listen on (mode 0660); without it, fd 0 must be "
      "the listening socket")(
      "socket-group", po::value<std::string>()->value_name("GROUP"),
      "group to give --socket (nginx's, e.g. www-data), so only nginx can connect")(
      "threads", po::value<int>()->default_value(DefaultThreads()),
      "request threads; a submit holds its thread until its batch commits, so this\n"
      "bounds the submits per fsync (default: $RENDERQ_FCGI_THREADS, else 64)")(
      "results", po::value<std::string>()->value_name("DIR"),
      "directory of result files (<id>.png, <id>.preview.png), to check previews exist")(
      "max-render-seconds", po::value<double>()->default_value(defaults.max_render_seconds),
      "refuse scenes predicted to render longer (422 too-expensive)")(
      "max-queued", po::value<std::int64_t>()->default_value(defaults.max_queued),
      "refuse submits (503 queue-full) while this many jobs are queued")(
      "max-queued-per-owner",
      po::value<std::int64_t>()->default_value(defaults.max_queued_per_owner),
      "refuse an owner's submits (429 owner-queue-full) while it has this many queued")(
      "max-drain-seconds", po::value<double>()->default_value(defaults.max_drain_seconds),
      "refuse submits (503 queue-full) while the queue's predicted drain time is over this");
  return d;
}

template <typename T>
void Read(const po::variables_map& vm, const char* name, T& out) {
  if (vm.count(name) != 0) out = vm[name].as<T>();
}

}  // namespace

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  const po::options_description description = Describe();
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, description), vm);
    po::notify(vm);
    Read(vm, "db", f.db);
    Read(vm, "socket", f.socket);
    Read(vm, "socket-group", f.socket_group);
    Read(vm, "threads", f.threads);
    Read(vm, "results", f.results);
    Read(vm, "max-render-seconds", f.max_render_seconds);
    Read(vm, "max-queued", f.max_queued);
    Read(vm, "max-queued-per-owner", f.max_queued_per_owner);
    Read(vm, "max-drain-seconds", f.max_drain_seconds);
  } catch (const std::exception& e) {
    std::cerr << "renderq-fcgi: " << e.what() << "\n(see renderq-fcgi --help)\n";
    std::exit(2);
  }
  if (vm.count("help") != 0) {
    std::cout << description << "\n";
    std::exit(0);
  }
  if (f.db.empty()) {
    const char* env = std::getenv("RENDERQ_DB");
    if (env != nullptr) f.db = env;
  }
  std::string error;
  if (f.db.empty()) error = "no database: give --db PATH or set RENDERQ_DB";
  if (f.threads < 1 || f.threads > 1024) error = "--threads must be in [1, 1024]";
  if (!(f.max_render_seconds > 0)) error = "--max-render-seconds must be > 0";
  if (!(f.max_drain_seconds > 0)) error = "--max-drain-seconds must be > 0";
  if (f.max_queued < 1) error = "--max-queued must be >= 1";
  if (f.max_queued_per_owner < 1) error = "--max-queued-per-owner must be >= 1";
  if (!f.socket_group.empty() && f.socket.empty()) error = "--socket-group needs --socket";
  if (!error.empty()) {
    std::cerr << "renderq-fcgi: " << error << "\n(see renderq-fcgi --help)\n";
    std::exit(2);
  }
  return f;
}

}  // namespace renderq
