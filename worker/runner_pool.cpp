#include "worker/runner_pool.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace renderq {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
namespace fs = std::filesystem;

bool IsRunnerVariable(const std::string& var) {
  for (const char* name : {"RENDERQ_DEVICE=", "CUDA_VISIBLE_DEVICES=", "RENDERQ_KIND="}) {
    if (var.rfind(name, 0) == 0) return true;
  }
  return false;
}

milliseconds Millis(double seconds) {
  return milliseconds(static_cast<long long>(seconds * 1000.0));
}

}  // namespace

RunnerPool::RunnerPool(Logger& log, RunnerPoolOptions options)
    : log_(log), options_(std::move(options)) {}

RunnerPool::~RunnerPool() {
  for (auto& [name, slot] : slots_) slot.session.reset();  // kills each group
}

Result<std::unique_ptr<RunnerPool>> RunnerPool::Create(Logger& log, std::vector<KindSpec> kinds,
                                                       RunnerPoolOptions options) {
  std::error_code ec;
  const fs::path scratch(options.scratch_dir);
  if (options.scratch_dir_named && fs::is_directory(scratch, ec) &&
      !fs::exists(scratch / kScratchMarker, ec) && !fs::is_empty(scratch, ec)) {
    return Status::InvalidArgument("the scratch directory " + options.scratch_dir +
                                   " holds files and is not one a worker made (no " +
                                   kScratchMarker +
                                   "); name an empty or new directory: the worker empties it");
  }
  fs::remove_all(scratch, ec);
  fs::create_directories(scratch, ec);
  if (!ec) std::ofstream(scratch / kScratchMarker) << "renderq-worker scratch directory\n";
  if (ec) {
    return Status::Unavailable("cannot make the scratch directory " + options.scratch_dir + ": " +
                               ec.message());
  }
  std::unique_ptr<RunnerPool> pool(new RunnerPool(log, std::move(options)));
  for (KindSpec& kind : kinds) {
    fs::create_directories(fs::path(pool->options_.scratch_dir) / kind.name / "jobs", ec);
    if (ec) return Status::Unavailable("cannot make " + kind.name + "'s scratch: " + ec.message());
    std::string name = kind.name;
    pool->slots_[name].spec = std::move(kind);
  }
  return pool;
}

RunnerStartOptions RunnerPool::StartOptions(const Slot& slot) const {
  RunnerStartOptions start;
  start.kind = slot.spec.name;
  start.argv = ResolveCommand(slot.spec.command, options_.runners_dir);
  for (const std::string& var : options_.environment) {
    if (!IsRunnerVariable(var)) start.env.push_back(var);
  }
  start.env.push_back("RENDERQ_DEVICE=" + device_);
  start.env.push_back("CUDA_VISIBLE_DEVICES=" +
                      (cuda_index_ ? std::to_string(*cuda_index_) : std::string()));
  start.env.push_back("RENDERQ_KIND=" + slot.spec.name);
  start.working_dir = (fs::path(options_.scratch_dir) / slot.spec.name).string();
  start.limits = options_.limits;
  start.limits.start = Millis(slot.spec.start_seconds);
  start.limits.max_job = Millis(slot.spec.max_seconds);
  start.limits.max_output_bytes = static_cast<std::uint64_t>(slot.spec.max_output_bytes);
  start.limits.max_checkpoint_bytes = static_cast<std::uint64_t>(slot.spec.max_checkpoint_bytes);
  return start;
}

void RunnerPool::Failed(Slot& slot, const std::string& why) {
  slot.session.reset();
  slot.ready = false;
  ++slot.failures;
  milliseconds delay = options_.first_backoff;
  for (int i = 1; i < slot.failures && delay < options_.max_backoff; ++i) delay *= 2;
  delay = std::min(delay, options_.max_backoff);
  slot.next_start = Clock::now() + delay;
  log_.Log("runner_start_failed", "",
           "kind=" + slot.spec.name + " failures=" + std::to_string(slot.failures) +
               " retry_in_ms=" + std::to_string(delay.count()) + " reason=\"" + why + "\"");
}

void RunnerPool::SetDevice(const std::string& renderq_device, std::optional<int> cuda_index) {
  if (renderq_device == device_ && cuda_index == cuda_index_) return;
  device_ = renderq_device;
  cuda_index_ = cuda_index;
  for (auto& [name, slot] : slots_) {
    if (slot.session) {
      log_.Log("runner_restart", "", "kind=" + name + " device=" + device_);
      slot.session.reset();
      slot.ready = false;
      slot.next_start = {};
    }
  }
}

void RunnerPool::Tend(milliseconds wait) {
  const Clock::time_point until = Clock::now() + wait;
  for (auto& [name, slot] : slots_) {
    if (!slot.spec.warm || slot.ready) continue;
    if (!slot.session) {
      if (Clock::now() < slot.next_start) continue;
      Result<std::unique_ptr<RunnerSession>> spawned =
          RunnerSession::Spawn(StartOptions(slot), log_);
      if (!spawned.ok()) {
        Failed(slot, spawned.status().message());
        continue;
      }
      slot.session = std::move(spawned).value();
      log_.Log("runner_started", "",
               "kind=" + name + " pid=" + std::to_string(slot.session->pgid()));
    }
  }
  // Then the starting ones' output, sharing the time left.
  for (auto& [name, slot] : slots_) {
    if (!slot.spec.warm || slot.ready || !slot.session) continue;
    auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now());
    Result<bool> ready = slot.session->PollReady(std::max(left, milliseconds(0)));
    if (!ready.ok()) {
      Failed(slot, ready.status().message());
    } else if (*ready) {
      slot.ready = true;
      log_.Log("runner_ready", "", "kind=" + name);
    }
  }
}

std::vector<std::string> RunnerPool::ClaimableKinds() const {
  std::vector<std::string> kinds;
  const Clock::time_point now = Clock::now();
  for (const auto& [name, slot] : slots_) {
    if (slot.session || now >= slot.next_start) kinds.push_back(name);
  }
  return kinds;
}

bool RunnerPool::Starting() const {
  for (const auto& [name, slot] : slots_) {
    if (slot.spec.warm && slot.session && !slot.ready) return true;
  }
  return false;
}

std::vector<std::string> RunnerPool::Kinds() const {
  std::vector<std::string> kinds;
  for (const auto& [name, slot] : slots_) kinds.push_back(name);
  return kinds;
}

const KindSpec* RunnerPool::Find(const std::string& kind) const {
  auto it = slots_.find(kind);
  return it == slots_.end() ? nullptr : &it->second.spec;
}

Result<RunnerSession*> RunnerPool::Acquire(const std::string& kind,
                                           const std::function<bool()>& give_up) {
  auto it = slots_.find(kind);
  if (it == slots_.end()) return Status::NotFound("this worker does not serve kind " + kind);
  Slot& slot = it->second;
  if (slot.spec.warm) {
    if (slot.ready && slot.session && !slot.session->usable()) {
      Failed(slot, "the runner died between jobs");
    }
    if (!slot.session && Clock::now() < slot.next_start) {
      return Status::Unavailable("the " + kind + " runner is backing off after a failure");
    }
    if (!slot.session) {
      Result<std::unique_ptr<RunnerSession>> spawned =
          RunnerSession::Spawn(StartOptions(slot), log_);
      if (!spawned.ok()) {
        Failed(slot, spawned.status().message());
        return Status::Unavailable("the " + kind + " runner cannot start");
      }
      slot.session = std::move(spawned).value();
      log_.Log("runner_started", "",
               "kind=" + kind + " pid=" + std::to_string(slot.session->pgid()));
    }
    while (!slot.ready) {
      if (give_up()) return Status::Cancelled("stopped waiting for the " + kind + " runner");
      Result<bool> ready = slot.session->PollReady(std::chrono::milliseconds(50));
      if (!ready.ok()) {
        Failed(slot, ready.status().message());
        return Status::Unavailable("the " + kind + " runner did not start");
      }
      if (*ready) {
        slot.ready = true;
        log_.Log("runner_ready", "", "kind=" + kind);
      }
    }
    return slot.session.get();
  }
  Result<std::unique_ptr<RunnerSession>> spawned = RunnerSession::Spawn(StartOptions(slot), log_);
  if (!spawned.ok()) {
    Failed(slot, spawned.status().message());
    return Status::InvalidArgument(spawned.status().message());
  }
  slot.session = std::move(spawned).value();
  for (;;) {
    if (give_up()) {
      slot.session.reset();
      return Status::Cancelled("stopped waiting for the " + kind + " runner");
    }
    Result<bool> ready = slot.session->PollReady(std::chrono::milliseconds(50));
    if (!ready.ok()) {
      Failed(slot, ready.status().message());
      return Status::InvalidArgument(ready.status().message());
    }
    if (*ready) return slot.session.get();
  }
}

void RunnerPool::Release(const std::string& kind, bool finished_a_job) {
  auto it = slots_.find(kind);
  if (it == slots_.end()) return;
  Slot& slot = it->second;
  if (finished_a_job) slot.failures = 0;
  if (!slot.spec.warm) {
    slot.session.reset();
    return;
  }
  if (slot.session && !slot.session->usable()) {
    slot.session.reset();
    slot.ready = false;
    if (!finished_a_job) {
      Failed(slot, "the runner was lost during a job");
    } else {
      slot.next_start = {};
    }
  }
}

Result<std::string> RunnerPool::MakeJobDir(const std::string& kind, const std::string& job_id) {
  const fs::path dir = fs::path(options_.scratch_dir) / kind / "jobs" / job_id;
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec) return Status::Unavailable("cannot make " + dir.string() + ": " + ec.message());
  return dir.string();
}

void RunnerPool::RemoveJobDir(const std::string& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);  // removes links themselves, never what they point to
}

std::string RunnerPool::CheckpointPath(const std::string& kind, const std::string& job_id) const {
  return (fs::path(options_.scratch_dir) / kind / ("checkpoint-" + job_id)).string();
}

}  // namespace renderq
