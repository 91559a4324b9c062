#include "worker/cli.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <exception>
#include <sstream>
#include <string_view>

#include "core/model/queue_rules.h"
#include "core/store/open_job_store.h"
#include "core/util/program_options.h"

namespace renderq {
namespace {

namespace po = boost::program_options;

struct RawArgs {
  std::string device = "cpu";
  std::string name;
  std::string kinds_dir;
  std::string runners_dir;
  std::string scratch_dir;
  double checkpoint_seconds = 5.0;
  double stop_finish_seconds = 3.0;
  int cpu_threads = 0;
};

po::options_description Describe(WorkerCommandLine* cl, RawArgs* raw) {
  po::options_description d(
      "usage: renderq-worker --device N|cpu --db PATH|URI [--results DIR] [options]\n\n"
      "Claims queued render jobs in submission order from the renderq database and\n"
      "renders them on CUDA device N or on the CPU (falling back to the CPU when the\n"
      "GPU does not work). SIGTERM/SIGINT: hand the running job back and exit;\n"
      "SIGHUP: reopen the log file. One process per --name on a database, on any\n"
      "host: it locks the name (an flock <db>.worker-<name>.lock beside a SQLite\n"
      "file, an advisory lock on PostgreSQL), and on start requeues at once any job\n"
      "still leased to its name (left by a process of that name that died).\n\noptions");
  d.add_options()("help,h", "print this help and exit")(
      "device", po::value(&raw->device)->default_value("cpu"),
      "CUDA device ordinal (0, 1, ...) or \"cpu\"")("db", po::value(&cl->db_path),
                                                    "the queue: a SQLite file, or a postgresql:// "
                                                    "URI (default: $RENDERQ_DB)")(
      "results", po::value(&cl->results_dir),
      "directory for <id>.png results, previews and checkpoints of a SQLite queue "
      "(default: \"results\" beside the database; a PostgreSQL queue keeps them in the "
      "database)")("name", po::value(&raw->name),
                   "worker name in the workers table, letters, digits and . _ - @ (default: the "
                   "--device value)")("checkpoint-seconds",
                                      po::value(&raw->checkpoint_seconds)->default_value(5.0),
                                      "seconds of rendering between checkpoints")(
      "stop-finish-seconds", po::value(&raw->stop_finish_seconds)->default_value(3.0),
      "on SIGTERM, finish a job with at most this many seconds left instead of "
      "handing it back")("lease-seconds", po::value(&cl->lease_seconds)->default_value(15.0),
                         "a running job whose heartbeat is older than this is requeued; this "
                         "worker stops rendering a job whose lease it could not renew for a "
                         "fifth less (at least 0.5 s less), before another can take it. Give "
                         "every worker of a database the same value")(
      "cpu-threads", po::value(&raw->cpu_threads)->default_value(0),
      "render threads for the CPU backend (0: all cores)")(
      "log-file", po::value(&cl->log_file),
      "append the log here instead of stderr (reopened on SIGHUP)")(
      "kinds-dir", po::value(&raw->kinds_dir),
      "the job kinds it serves besides scene: every NAME.json there (default: "
      "$RENDERQ_KINDS_DIR, else /etc/renderq/kinds.d when it exists)")(
      "runners-dir", po::value(&raw->runners_dir),
      "what {runners_dir} in a kind's command names (default: $RENDERQ_RUNNERS_DIR, else "
      "the installed runners)")(
      "scratch-dir", po::value(&raw->scratch_dir),
      "the runners' working directories and the jobs' directories, emptied at start: "
      "a new or empty directory, or one a worker made (default: "
      "$TMPDIR/renderq-worker-<name>)");
  return d;
}

// Parsed, never listed by --help: what only the tests use.
po::options_description DescribeHidden(WorkerCommandLine* cl) {
  po::options_description d("hidden");
  d.add_options()("test-accept-stale-finish", po::bool_switch(&cl->test_accept_stale_finish),
                  "tests/ha only: a planted fencing bug (no self-fencing; the store accepts a "
                  "finish from a stale lease, PostgreSQL only)");
  return d;
}

Result<std::optional<int>> ParseDevice(const std::string& device) {
  if (device == "cpu") return std::optional<int>();
  int ordinal = -1;
  const auto [end, ec] = std::from_chars(device.data(), device.data() + device.size(), ordinal);
  if (ec != std::errc() || end != device.data() + device.size() || ordinal < 0) {
    return Status::InvalidArgument("--device must be a CUDA device number or \"cpu\", not \"" +
                                   device + "\"");
  }
  return std::optional<int>(ordinal);
}

bool PositiveFinite(double v) { return std::isfinite(v) && v > 0; }

// The name keys the workers table and names the instance lock file.
bool ValidWorkerName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-' ||
           c == '@';
  });
}

Status Validate(const WorkerCommandLine& cl, const RawArgs& raw) {
  if (cl.db_path.empty()) return Status::InvalidArgument("--db is required (or set RENDERQ_DB)");
  if (!PositiveFinite(raw.checkpoint_seconds)) {
    return Status::InvalidArgument("--checkpoint-seconds must be > 0");
  }
  if (!std::isfinite(raw.stop_finish_seconds) || raw.stop_finish_seconds < 0) {
    return Status::InvalidArgument("--stop-finish-seconds must be >= 0");
  }
  if (!PositiveFinite(cl.lease_seconds))
    return Status::InvalidArgument("--lease-seconds must be > 0");
  if (raw.cpu_threads < 0) return Status::InvalidArgument("--cpu-threads must be >= 0");
  return Status::Ok();
}

}  // namespace

Result<WorkerCommandLine> ParseWorkerCommandLine(const std::vector<std::string>& args,
                                                 const std::optional<std::string>& env_db) {
  WorkerCommandLine cl;
  RawArgs raw;
  const po::options_description description = Describe(&cl, &raw);
  po::options_description all;
  all.add(description).add(DescribeHidden(&cl));
  try {
    po::variables_map vm;
    // No positional arguments: a stray word is an error, not silently ignored.
    const po::positional_options_description none;
    po::store(po::command_line_parser(args).options(all).positional(none).run(), vm);
    po::notify(vm);
    if (vm.count("help") > 0) {
      std::ostringstream text;
      text << description;
      cl.help = true;
      cl.help_text = text.str();
      return cl;
    }
  } catch (const std::exception& e) {
    return Status::InvalidArgument(e.what());
  }
  if (cl.db_path.empty() && env_db) cl.db_path = *env_db;
  RETURN_IF_ERROR(Validate(cl, raw));
  ASSIGN_OR_RETURN(cl.worker.cuda_device, ParseDevice(raw.device));
  cl.worker.name = raw.name.empty() ? raw.device : raw.name;
  if (!ValidWorkerName(cl.worker.name)) {
    return Status::InvalidArgument(
        "--name must be 1 to 64 letters, digits, '.', '_', '-' or '@', not starting with '.'");
  }
  cl.worker.cpu_threads = raw.cpu_threads;
  if (!raw.kinds_dir.empty()) cl.kinds_dir = raw.kinds_dir;
  if (!raw.runners_dir.empty()) cl.runners_dir = raw.runners_dir;
  if (!raw.scratch_dir.empty()) cl.scratch_dir = raw.scratch_dir;
  cl.worker.job.checkpoint_seconds = raw.checkpoint_seconds;
  cl.worker.job.heartbeat.stop_finish_seconds = raw.stop_finish_seconds;
  if (!cl.test_accept_stale_finish) {
    cl.worker.job.heartbeat.self_fence_after =
        std::chrono::milliseconds(SelfFenceAfterMs(static_cast<TimeMs>(cl.lease_seconds * 1000.0)));
  }
  return cl;
}

}  // namespace renderq
