#include "core/model/queue_rules.h"

#include <algorithm>
#include <cmath>

namespace renderq {

TimeMs SelfFenceAfterMs(TimeMs lease_timeout_ms) {
  // A fifth of the lease, at least half a second (or half a lease that is
  // shorter than a second): a render pass stops within a fraction of a second
  // of its interrupt, and a monotonic clock runs at the database clock's rate
  // to within parts per thousand.
  const TimeMs margin = std::max(lease_timeout_ms / 5, std::min<TimeMs>(500, lease_timeout_ms / 2));
  return std::max<TimeMs>(lease_timeout_ms - margin, 0);
}
namespace {

double Seconds(double cost, const QueueLoad& load, const QueueRules& rules) {
  return cost / DrainRate(load, rules);
}

bool PositiveFinite(double x) { return x > 0 && std::isfinite(x); }

}  // namespace

double UnitsPerSecond(const QueueLoad& load, const QueueRules& rules) {
  if (load.best_units_per_second && PositiveFinite(*load.best_units_per_second)) {
    return *load.best_units_per_second;
  }
  return rules.default_units_per_second;
}

double DrainRate(const QueueLoad& load, const QueueRules& rules) {
  return PositiveFinite(load.live_units_per_second) ? load.live_units_per_second
                                                    : UnitsPerSecond(load, rules);
}

double EstimatedWaitSeconds(const QueueLoad& load, const QueueRules& rules) {
  return Seconds(load.queued_cost + load.running_remaining, load, rules);
}

double QueuedEtaSeconds(double cost_ahead, double own_cost, const QueueLoad& load,
                        const QueueRules& rules) {
  return Seconds(cost_ahead + own_cost + load.running_remaining, load, rules);
}

double RunningEtaSeconds(const Job& job, TimeMs now, const QueueLoad& load,
                         const QueueRules& rules) {
  if (job.progress > 0 && job.started_at && now > *job.started_at) {
    const double elapsed = static_cast<double>(now - *job.started_at) / 1000.0;
    return elapsed * (1 - job.progress) / job.progress;
  }
  return job.cost_units * (1 - job.progress) / UnitsPerSecond(load, rules);
}

double RetryAfterSeconds(double seconds) { return std::max(1.0, std::ceil(seconds)); }

Admission Admit(const QueueLoad& load, const OwnerLoad& owner, double cost,
                const QueueRules& rules) {
  const QueueLimits& limits = rules.limits;
  const double units_per_second = UnitsPerSecond(load, rules);
  const double estimated = EstimateRenderSeconds(cost, units_per_second);
  if (estimated > limits.max_render_seconds) {
    return {Admission::Kind::kTooExpensive, 0, estimated, units_per_second};
  }
  if (owner.queued >= limits.max_queued_per_owner && owner.queued > 0) {
    // Until the owner's oldest queued job is done and frees a slot.
    return {
        Admission::Kind::kOwnerQueueFull,
        RetryAfterSeconds(Seconds(owner.cost_through_first + load.running_remaining, load, rules)),
        estimated, units_per_second};
  }
  if (load.queued >= limits.max_queued && load.head_seq) {
    // Until the next job in line is done and frees a slot.
    return {Admission::Kind::kQueueFull,
            RetryAfterSeconds(Seconds(load.head_cost + load.running_remaining, load, rules)),
            estimated, units_per_second};
  }
  const double drain = Seconds(load.queued_cost + load.running_remaining + cost, load, rules);
  if (drain > limits.max_drain_seconds) {
    return {Admission::Kind::kQueueFull, RetryAfterSeconds(drain - limits.max_drain_seconds),
            estimated, units_per_second};
  }
  return {Admission::Kind::kAdmit, 0, estimated, units_per_second};
}

LeaseEnd LeaseEndFor(const LeaseLoss& loss, const std::string& last_worker, const QueueRules& rules,
                     const LossReason* reason) {
  LeaseEnd end;
  const int spent = loss.spend_attempt ? 1 : 0;
  const bool progressed = loss.checkpoint_samples > loss.attempt_from_samples;
  end.attempts = loss.attempts + spent;
  end.stalled_attempts = loss.stalled_attempts + (loss.spend_attempt && !progressed ? 1 : 0);
  if (loss.cancel_requested) {
    end.next = JobState::kCanceled;
  } else if (end.stalled_attempts >= rules.max_stalled_attempts) {
    end.next = JobState::kFailed;
    end.error_code = reason != nullptr ? reason->code : std::string(kErrorWorkerLost);
    end.error_message =
        "the job lost its " + std::string(reason != nullptr ? "runner " : "worker ") +
        std::to_string(end.stalled_attempts) + " times without progress (" +
        std::to_string(end.attempts) + " attempts, worker " + last_worker + " last)";
    if (reason != nullptr) *end.error_message += ": " + reason->message;
  } else {
    end.next = JobState::kQueued;
  }
  return end;
}

}  // namespace renderq
