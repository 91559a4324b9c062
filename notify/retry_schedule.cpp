#include "notify/retry_schedule.h"

#include <algorithm>
#include <cmath>

namespace renderq::notify {

std::optional<TimeMs> NextAttemptAt(const RetryPolicy& policy, int attempt, TimeMs created_at,
                                    TimeMs now, double unit_random) {
  if (now - created_at >= policy.retry_window_ms) return std::nullopt;
  const int exponent = std::clamp(attempt - 1, 0, 62);
  const double delay =
      std::min(static_cast<double>(policy.first_delay_ms) * std::pow(policy.factor, exponent),
               static_cast<double>(policy.max_delay_ms));
  const double u = std::clamp(unit_random, 0.0, 1.0);
  const double jittered = delay * (1.0 - policy.jitter * u);
  return now + std::max<TimeMs>(1, static_cast<TimeMs>(jittered));
}

}  // namespace renderq::notify
