// The queue's rules: admission, place in line, ETA, Retry-After and what
// becomes of a job whose lease ends without its worker finishing it.
//
// Every backend (SQLite, PostgreSQL) reads the same few figures about the queue
// from one snapshot (QueueLoad, OwnerLoad) and hands them to these functions, so
// both decide alike. Pure functions over values: no I/O, no clock, thread-safe.
//
// Units: costs are the cost model's units (core/cost_model.h), rates are units
// per second, times are seconds unless named *_ms.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "core/model/cost_model.h"
#include "core/model/job.h"

namespace renderq {

struct QueueLimits {
  std::int64_t max_queued = 1000;  // whole queue
  std::int64_t max_queued_per_owner = 100;
  double max_drain_seconds = 3600;  // predicted drain time bound
  // A job predicted to take longer on one worker is refused (422 too-expensive).
  // Unbounded unless set: the responder sets SPEC's limit (--max-render-seconds,
  // kDefaultMaxRenderSeconds), which is a rule about what clients may ask for.
  double max_render_seconds = std::numeric_limits<double>::infinity();
};

// The rules' settings, with SPEC's defaults.
struct QueueRules {
  TimeMs lease_timeout_ms = 15000;  // heartbeat older than this: the worker is lost
  // A job that loses its worker this often without saving a newer checkpoint
  // ends failed with worker_lost (see LeaseEndFor).
  int max_stalled_attempts = 3;
  TimeMs idempotency_window_ms = 24 * 3600 * 1000;  // a key replays within this window
  QueueLimits limits;
  double default_units_per_second = kDefaultUnitsPerSecond;  // until a worker has measured
};

// What the queue holds and how fast it drains, read from one snapshot.
struct QueueLoad {
  std::int64_t queued = 0;
  double queued_cost = 0;                // every queued job's cost
  std::optional<std::int64_t> head_seq;  // the next job to run
  double head_cost = 0;                  // its cost
  double running_remaining = 0;          // cost units the running jobs still need
  // Best throughput any worker measured (one job runs on one worker), and the
  // sum over the live workers (heartbeat within the lease timeout).
  std::optional<double> best_units_per_second;
  double live_units_per_second = 0;
};

// An owner's share of the queue.
struct OwnerLoad {
  std::int64_t queued = 0;
  // Cost of the queued jobs up to and including the owner's oldest queued one:
  // what must drain before the owner gets a slot back.
  double cost_through_first = 0;
};

// One worker's throughput for estimating a single job: the best measured, or
// the default before any worker measured.
double UnitsPerSecond(const QueueLoad& load, const QueueRules& rules);
// The whole queue's drain rate: the live workers together, or one worker's
// rate when none is live (a worker will come back).
double DrainRate(const QueueLoad& load, const QueueRules& rules);

// Seconds until every queued job and the running ones are done.
double EstimatedWaitSeconds(const QueueLoad& load, const QueueRules& rules);

// A queued job's ETA: the cost ahead of it, its own and what the running jobs
// still need, at the drain rate.
double QueuedEtaSeconds(double cost_ahead, double own_cost, const QueueLoad& load,
                        const QueueRules& rules);

// A running job's ETA: from its progress rate once it has progress, else from
// its cost at one worker's rate.
double RunningEtaSeconds(const Job& job, TimeMs now, const QueueLoad& load,
                         const QueueRules& rules);

// Whole seconds, at least 1: what a Retry-After header says.
double RetryAfterSeconds(double seconds);

struct Admission {
  enum class Kind { kAdmit, kTooExpensive, kOwnerQueueFull, kQueueFull };
  Kind kind = Kind::kAdmit;
  double retry_after_seconds = 0;  // kOwnerQueueFull, kQueueFull
  double estimated_seconds = 0;    // the job's predicted run time on one worker
  double units_per_second = 0;     // the rate that prediction used
};

// SPEC's admission rules for a new job of `cost`, in this order: its predicted
// run time on one worker against max_render_seconds (a refusal the client
// must fix), then the owner's queued jobs, the queue's length and the
// predicted drain time (refusals that pass: each carries a Retry-After derived
// from the predicted drain, never a constant).
Admission Admit(const QueueLoad& load, const OwnerLoad& owner, double cost,
                const QueueRules& rules);

// How long after it sent its last successful lease renewal (or its claim) a
// worker that cannot renew stops rendering: the lease timeout less a margin
// for a pass being interrupted. Whoever claims next can requeue the job only
// once the heartbeat the database holds (written after that renewal was sent)
// is older than the whole lease timeout, so the holder has stopped by then:
// one job never renders on two hosts at once, whatever cut the holder off.
TimeMs SelfFenceAfterMs(TimeMs lease_timeout_ms);

// A running job whose lease ends without a finish: the worker was lost (lease
// lapsed, worker restarted), the job hit a non-job failure (spend_attempt), or
// was handed back on purpose (a stop, a GPU fault: no attempt spent).
struct LeaseLoss {
  int attempts = 0;          // attempts before this one ended
  int stalled_attempts = 0;  // earlier lost attempts that saved no newer checkpoint
  bool cancel_requested = false;
  std::int64_t checkpoint_samples = 0;    // now
  std::int64_t attempt_from_samples = 0;  // when this attempt started
  bool spend_attempt = true;
};

// Why an attempt was lost when it was not its worker (a kind's runner that
// exited or broke the protocol): the error of a job the loss fails.
struct LossReason {
  std::string code;
  std::string message;
};

struct LeaseEnd {
  JobState next = JobState::kQueued;  // queued (same place in line), failed or canceled
  int attempts = 0;
  int stalled_attempts = 0;
  std::optional<std::string> error_code;  // failed only
  std::optional<std::string> error_message;
};

// What a lost lease turns the job into. `attempts` counts every attempt that
// spent one; only attempts that saved no newer checkpoint than they started
// from count toward max_stalled_attempts, so a job that keeps advancing is not
// failed for its machine's trouble, while a job that kills its worker before
// any progress (a poison job) still ends failed with worker_lost. A cancel
// that was waiting for the lost worker wins.
LeaseEnd LeaseEndFor(const LeaseLoss& loss, const std::string& last_worker, const QueueRules& rules,
                     const LossReason* reason = nullptr);

}  // namespace renderq
