// renderq-gpu-job --worker PATH --scene FILE [--device N|cpu] [--expect cuda|cpu|any]
//                 [--timeout SECONDS] [--png FILE] [--dir DIR]
//
// One real job through the real worker, as a GPU machine's first check of the
// product rather than of the renderer alone. It opens a SQLite queue in a new
// temporary directory (or DIR) through the store's public interface
// (OpenJobStore), creates an owner, submits the scene as the responder commits
// a job, starts the `renderq-worker` binary at PATH with `--device N` (default
// 0) on that database, waits for the job to end (reading its row every 20 ms,
// at most --timeout seconds, default 90), stops the worker with SIGTERM and
// prints, as Markdown, the job's state, device, render time and samples/s and
// the time from submit to its end, worker start included. --png copies the
// result there. A temporary directory is removed afterwards; DIR is kept.
//
// Exit codes: 0 the job succeeded on the expected backend (--expect, default
// any: "cuda" wants a device "cuda:...", "cpu" the CPU, e.g. a worker that fell
// back), 1 it failed, timed out or ran elsewhere, or the worker died; 64 bad
// usage.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/model/cost_model.h"
#include "core/model/scene_json.h"
#include "core/store/open_job_store.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string worker;
  std::string scene;
  std::string device = "0";
  std::string expect = "any";
  double timeout_seconds = 90;
  std::string png;
  std::string dir;
};

constexpr const char* kUsage =
    "usage: renderq-gpu-job --worker PATH --scene FILE [--device N|cpu] "
    "[--expect cuda|cpu|any] [--timeout SECONDS] [--png FILE] [--dir DIR]\n";

std::optional<Args> ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) return std::nullopt;
    const std::string v = argv[++i];
    if (k == "--worker") {
      a.worker = v;
    } else if (k == "--scene") {
      a.scene = v;
    } else if (k == "--device") {
      a.device = v;
    } else if (k == "--expect" && (v == "cuda" || v == "cpu" || v == "any")) {
      a.expect = v;
    } else if (k == "--timeout") {
      a.timeout_seconds = std::atof(v.c_str());
      if (!(a.timeout_seconds > 0)) return std::nullopt;
    } else if (k == "--png") {
      a.png = v;
    } else if (k == "--dir") {
      a.dir = v;
    } else {
      return std::nullopt;
    }
  }
  if (a.worker.empty() || a.scene.empty()) return std::nullopt;
  return a;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The worker as a child that dies with this process (PR_SET_PDEATHSIG, checked
// against the parent's pid for the race). The store's threads run here, so the
// child only makes system calls between fork and exec.
pid_t StartWorker(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid != 0) return pid;  // parent, or -1
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  execv(args[0], args.data());
  _exit(127);  // the caller reports "the worker exited with 127"
}

// SIGTERM, then SIGKILL if it has not exited within SPEC's 10 s; its status.
int StopWorker(pid_t pid) {
  kill(pid, SIGTERM);
  int status = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return status;
}

std::string Describe(int status) {
  if (WIFEXITED(status)) return "exited with " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

std::string Tail(const std::string& path, int lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (size_t i = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0; i < all.size();
       ++i) {
    out += all[i] + "\n";
  }
  return out;
}

// The run itself; `dir` exists and is empty. Prints the Markdown section.
int Run(const Args& args, const std::string& dir) {
  std::ifstream in(args.scene);
  if (!in) {
    std::fprintf(stderr, "renderq-gpu-job: cannot read %s\n", args.scene.c_str());
    return 1;
  }
  std::stringstream text;
  text << in.rdbuf();
  const std::string body = text.str();
  renderq::SceneParseResult parsed = renderq::ParseScene(body);
  if (!parsed.ok()) {
    std::fprintf(stderr, "renderq-gpu-job: %s: %s\n", args.scene.c_str(),
                 parsed.error().message.c_str());
    return 1;
  }
  const renderq::SceneDescription scene = std::move(parsed).scene();

  const std::string db = dir + "/queue.db";
  const std::string results = dir + "/results";
  const std::string log_file = dir + "/worker.log";
  fs::create_directories(results);
  renderq::StoreOptions options;
  options.results_dir = results;
  auto store = renderq::OpenJobStore(db, options);
  if (!store.ok()) {
    std::fprintf(stderr, "renderq-gpu-job: open %s: %s\n", db.c_str(),
                 store.status().ToString().c_str());
    return 1;
  }
  auto token = (*store)->CreateToken("gpu-job");
  auto owner =
      token.ok() ? (*store)->Authenticate(*token) : renderq::Result<renderq::Owner>(token.status());
  if (!owner.ok()) {
    std::fprintf(stderr, "renderq-gpu-job: owner: %s\n", owner.status().ToString().c_str());
    return 1;
  }
  renderq::SubmitRequest request;
  request.owner_id = owner->id;
  request.spec.input_json = body;
  request.spec.scene =
      renderq::SceneShape{scene.width, scene.height, scene.samples, scene.max_depth};
  request.spec.cost_units = renderq::CostUnits(scene);
  auto submitted = (*store)->Submit(request);
  if (!submitted.ok() || submitted->kind != renderq::SubmitOutcome::Kind::kCreated) {
    std::fprintf(stderr, "renderq-gpu-job: submit: %s\n",
                 submitted.ok() ? "not created" : submitted.status().ToString().c_str());
    return 1;
  }
  const std::string job_id = submitted->job.id;
  const auto t_submit = Clock::now();

  const std::vector<std::string> worker_argv = {args.worker, "--device",   args.device, "--db",
                                                db,          "--results",  results,     "--name",
                                                "gpu-job",   "--log-file", log_file};
  const pid_t pid = StartWorker(worker_argv);
  if (pid < 0) {
    std::perror("renderq-gpu-job: fork");
    return 1;
  }

  // The job's row is the truth: wait for it to end, or for the worker to die.
  renderq::Job job = submitted->job;
  std::string problem;
  int worker_status = 0;
  bool worker_gone = false;
  const auto deadline = t_submit + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(args.timeout_seconds));
  while (true) {
    auto got = (*store)->Get(owner->id, job_id);
    if (got.ok()) job = *got;
    if (renderq::IsTerminal(job.state)) break;
    if (waitpid(pid, &worker_status, WNOHANG) == pid) {
      worker_gone = true;
      problem = "the worker " + Describe(worker_status) + " before the job ended";
      break;
    }
    if (Clock::now() >= deadline) {
      problem = "the job did not end within " + std::to_string(args.timeout_seconds) + " s";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double to_end = Seconds(Clock::now() - t_submit);
  if (!worker_gone) worker_status = StopWorker(pid);

  std::printf("## A real job through renderq-worker\n\n");
  std::printf("- scene: %s, %dx%d, %d spp, depth %d\n", fs::path(args.scene).filename().c_str(),
              scene.width, scene.height, scene.samples, scene.max_depth);
  std::printf("- `renderq-worker --device %s` on a SQLite queue in %s (%s after SIGTERM)\n",
              args.device.c_str(), dir.c_str(), Describe(worker_status).c_str());
  std::printf("- job %s: **%s**", job_id.c_str(), renderq::JobStateName(job.state));
  if (job.device) std::printf(" on `%s`", job.device->c_str());
  if (job.render_seconds) std::printf(", %.3f s of rendering", *job.render_seconds);
  if (job.samples_per_second) std::printf(", %.4g samples/s", *job.samples_per_second);
  std::printf("; %.3f s from submit to its end, the worker's start included\n", to_end);
  if (job.error_code) {
    std::printf("- error: %s: %s\n", job.error_code->c_str(),
                job.error_message.value_or("").c_str());
  }

  if (problem.empty() && job.state != renderq::JobState::kSucceeded) {
    problem = std::string("the job ended ") + renderq::JobStateName(job.state);
  }
  const std::string device = job.device.value_or("");
  if (problem.empty() && args.expect == "cuda" && device.rfind("cuda:", 0) != 0) {
    problem = "the job ran on `" + device + "`, not on a CUDA device";
  }
  if (problem.empty() && args.expect == "cpu" && device != "cpu") {
    problem = "the job ran on `" + device + "`, not on the CPU";
  }
  if (problem.empty() && !args.png.empty()) {
    auto artifact = (*store)->ReadArtifact(job_id, renderq::ArtifactKind::kResult);
    std::error_code ec;
    if (!artifact.ok()) {
      problem = "no result: " + artifact.status().ToString();
    } else if (!artifact->file.empty()) {
      fs::copy_file(results + "/" + artifact->file, args.png, fs::copy_options::overwrite_existing,
                    ec);
    } else {
      std::ofstream(args.png, std::ios::binary)
          .write(reinterpret_cast<const char*>(artifact->bytes.data()),
                 static_cast<std::streamsize>(artifact->bytes.size()));
    }
    if (problem.empty() && (ec || !fs::exists(args.png))) {
      problem = "cannot write " + args.png + (ec ? ": " + ec.message() : "");
    }
    if (problem.empty()) {
      std::printf("- PNG: %s (%ju bytes)\n", args.png.c_str(),
                  static_cast<std::uintmax_t>(fs::file_size(args.png)));
    }
  }
  if (!problem.empty()) {
    std::printf("- **failed: %s**\n\nThe worker's log, last lines:\n\n```\n%s```\n",
                problem.c_str(), Tail(log_file, 20).c_str());
    return 1;
  }
  // The worker's own word on its device (and on a fallback to the CPU).
  std::ifstream log(log_file);
  for (std::string line; std::getline(log, line);) {
    if (line.find("registered") != std::string::npos ||
        line.find("cpu_fallback") != std::string::npos) {
      std::printf("- worker log: `%s`\n", line.c_str());
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::optional<Args> args = ParseArgs(argc, argv);
  if (!args) {
    std::fputs(kUsage, stderr);
    return 64;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string dir = args->dir;
  bool temporary = false;
  if (dir.empty()) {
    std::string pattern = (fs::temp_directory_path() / "renderq-gpu-job.XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      std::perror("renderq-gpu-job: mkdtemp");
      return 1;
    }
    dir = pattern;
    temporary = true;
  } else {
    std::error_code ec;
    fs::create_directories(dir, ec);
  }
  int rc = 1;
  try {
    rc = Run(*args, dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "renderq-gpu-job: %s\n", e.what());
  }
  if (temporary) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  return rc;
}
