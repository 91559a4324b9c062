#include "worker/pass_sizer.h"

#include <algorithm>
#include <cmath>

namespace renderq {

int PassSizer::Next(int remaining) const {
  remaining = std::max(remaining, 1);
  if (last_samples_ == 0 || samples_per_second_ <= 0.0) return 1;
  const double wanted = std::floor(samples_per_second_ * target_seconds_);
  const double cap = static_cast<double>(last_samples_) * kMaxGrowth;
  const double n = std::clamp(std::min(wanted, cap), 1.0, static_cast<double>(remaining));
  return static_cast<int>(n);
}

void PassSizer::Observe(int samples, double seconds) {
  if (samples <= 0) return;
  last_samples_ = samples;
  // A pass too fast to time (tiny image) counts as very fast, not as unknown.
  samples_per_second_ = samples / std::max(seconds, 1e-6);
}

double PassSizer::EstimateSeconds(int remaining) const {
  if (samples_per_second_ <= 0.0 || remaining <= 0) return 0.0;
  return remaining / samples_per_second_;
}

}  // namespace renderq
