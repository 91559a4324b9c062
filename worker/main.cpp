// renderq-worker: drains the renderq queue on one GPU (or the CPU).
// Exit codes: 0 stopped by a signal, 1 could not start (database, registration,
// another live process with the same --name) or another process took the name
// after this one lost its lock, 2 bad usage, 3 the GPU's CUDA
// context was lost (a sticky error): a fresh process gets the GPU back, so
// systemd (Restart=always) starts one.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include "core/model/kind_paths.h"
#include "core/store/open_job_store.h"
#include "worker/cli.h"
#include "worker/log.h"
#include "worker/signals.h"
#include "worker/worker.h"

namespace {

int Run(const renderq::WorkerCommandLine& cl) {
  std::atomic<bool> stop{false};
  renderq::Logger log(cl.worker.name);
  // Writes to a runner that has gone fail with EPIPE instead of killing the
  // worker (runners start with default signal handling again).
  std::signal(SIGPIPE, SIG_IGN);
  // Before any other thread exists, so all of them inherit the signal mask.
  renderq::SignalWatcher signals(
      &stop, [&](int signal) { log.Log("stop_requested", "", "signal=" + std::to_string(signal)); },
      [&] {
        if (renderq::Status s = log.Reopen(); !s.ok())
          log.Log("log_reopen_failed", "", s.ToString());
      });
  if (!cl.log_file.empty()) {
    if (renderq::Status s = log.Open(cl.log_file); !s.ok()) {
      std::cerr << "renderq-worker: " << s.ToString() << "\n";
      return 1;
    }
  }
  renderq::StoreOptions store_options;
  store_options.rules.lease_timeout_ms = static_cast<renderq::TimeMs>(cl.lease_seconds * 1000.0);
  store_options.results_dir = cl.results_dir;
  store_options.test_accept_stale_finish = cl.test_accept_stale_finish;
  auto store = renderq::OpenJobStore(cl.db_path, store_options);
  if (!store.ok()) {
    log.Log("start_failed", "",
            "database " + renderq::RedactedDb(cl.db_path) + ": " + store.status().ToString());
    return 1;
  }
  renderq::WorkerOptions options = cl.worker;
  // Job kinds: a bad kind file stops the worker here, naming file, key and reason.
  const std::string kinds_dir =
      renderq::ChooseDir(cl.kinds_dir, "RENDERQ_KINDS_DIR", renderq::InstalledKindsDir());
  const bool kinds_named = cl.kinds_dir || std::getenv("RENDERQ_KINDS_DIR") != nullptr;
  auto kinds = renderq::LoadKindsFrom(kinds_dir, kinds_named);
  if (!kinds.ok()) {
    log.Log("start_failed", "", "kinds: " + kinds.status().message());
    return 1;
  }
  options.kinds = std::move(kinds).value();
  options.runners.runners_dir =
      renderq::ChooseDir(cl.runners_dir, "RENDERQ_RUNNERS_DIR", renderq::InstalledRunnersDir());
  if (cl.scratch_dir) {
    options.runners.scratch_dir = *cl.scratch_dir;
    options.runners.scratch_dir_named = true;
  } else {
    const char* tmp = std::getenv("TMPDIR");
    options.runners.scratch_dir = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                                  "/renderq-worker-" + options.name;
  }
  for (char** var = environ; *var != nullptr; ++var) options.runners.environment.push_back(*var);
  auto lock = (*store)->LockWorkerName(options.name);
  if (!lock.ok() && lock.status().code() == renderq::StatusCode::kConflict) {
    log.Log("start_failed", "",
            "worker name \"" + options.name + "\" in use: " + lock.status().message());
    return 1;
  }
  if (lock.ok()) {
    options.name_lock = lock->get();
  } else {
    // Still safe to run: its jobs wait for their leases to lapse instead.
    log.Log("instance_lock_unavailable", "", lock.status().ToString());
  }
  std::string kind_names;
  for (const renderq::KindSpec& kind : options.kinds)
    kind_names += (kind_names.empty() ? "" : ",") + kind.name;
  log.Log("starting", "",
          "db=" + renderq::RedactedDb(cl.db_path) +
              " backend=" + std::string((*store)->BackendName()) + " kinds_dir=" + kinds_dir +
              " kinds=" + (kind_names.empty() ? "-" : kind_names));
  if (cl.test_accept_stale_finish) {
    log.Log("planted_bug", "",
            "stale_finish: no self-fencing, finishes accepted from stale leases (tests only)");
  }
  renderq::Worker worker(**store, log, options, &stop);
  const renderq::Status s = worker.Run();
  if (!s.ok() && worker.needs_fresh_process()) {
    log.Log("exiting_for_restart", "", s.ToString());
    return 3;
  }
  if (!s.ok()) {
    log.Log(s.code() == renderq::StatusCode::kConflict ? "exiting" : "start_failed", "",
            s.ToString());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const char* env_db = std::getenv("RENDERQ_DB");
  const auto cl = renderq::ParseWorkerCommandLine(
      args, env_db != nullptr ? std::optional<std::string>(env_db) : std::nullopt);
  if (!cl.ok()) {
    std::cerr << "renderq-worker: " << cl.status().message() << "\n(see --help)\n";
    return 2;
  }
  if (cl->help) {
    std::cout << cl->help_text;
    return 0;
  }
  try {
    return Run(*cl);
  } catch (const std::exception& e) {
    std::cerr << "renderq-worker: fatal: " << e.what() << "\n";
    return 1;
  }
}
