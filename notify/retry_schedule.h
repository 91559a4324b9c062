// When a failed webhook delivery is tried again (SPEC: exponential back-off
// with jitter for at least 24 h, the first retry within 10 s, then failed).
#pragma once

#include <cstdint>
#include <optional>

namespace renderq::notify {

using TimeMs = std::int64_t;

struct RetryPolicy {
  TimeMs first_delay_ms = 5'000;        // before the first retry, before jitter
  double factor = 2.0;                  // each further retry waits this much longer
  TimeMs max_delay_ms = 3'600'000;      // ... up to an hour
  TimeMs retry_window_ms = 86'400'000;  // retries continue while the event is younger
  double jitter = 0.5;                  // a delay d becomes uniform in [d * (1 - jitter), d]
};

// After attempt `attempt` (1 = the first) of an event created at `created_at`
// failed at `now`: when to try again, or nullopt to give up (the event is
// then older than the retry window). `unit_random` is uniform in [0, 1): the
// jitter spreads retries so that receivers coming back are not hit by every
// delivery at the same instant.
std::optional<TimeMs> NextAttemptAt(const RetryPolicy& policy, int attempt, TimeMs created_at,
                                    TimeMs now, double unit_random);

}  // namespace renderq::notify
