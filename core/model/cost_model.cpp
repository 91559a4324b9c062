#include "core/model/cost_model.h"

#include <cmath>
#include <cstdio>

namespace renderq {

double CostUnits(int width, int height, int samples, int max_depth) {
  // In double: 4096² × 65536 × 64 ≈ 7e16 overflows no integer type we'd want
  // to store, and the estimate needs no more than double's precision.
  return static_cast<double>(width) * height * samples * max_depth;
}

double CostUnits(const SceneDescription& scene) {
  return CostUnits(scene.width, scene.height, scene.samples, scene.max_depth);
}

double EstimateRenderSeconds(double units, double units_per_second) {
  if (!std::isfinite(units_per_second) || units_per_second <= 0) {
    units_per_second = kDefaultUnitsPerSecond;
  }
  if (!std::isfinite(units) || units <= 0) return 0.0;
  return units / units_per_second;
}

CostCheck CheckRenderCost(const SceneDescription& scene, double units_per_second,
                          double limit_seconds) {
  CostCheck check;
  check.units = CostUnits(scene);
  check.estimated_seconds = EstimateRenderSeconds(check.units, units_per_second);
  check.too_expensive = check.estimated_seconds > limit_seconds;
  if (check.too_expensive) check.detail = TooExpensiveDetail(check.units, units_per_second, limit_seconds);
  return check;
}

std::string TooExpensiveDetail(double units, double units_per_second, double limit_seconds) {
  const double rate = std::isfinite(units_per_second) && units_per_second > 0
                          ? units_per_second
                          : kDefaultUnitsPerSecond;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "estimated render time %.1f s exceeds the limit of %g s (%.0f M cost units at "
                "%.1f M units/s); lower width, height, samples or max_depth",
                EstimateRenderSeconds(units, rate), limit_seconds, units / 1e6, rate / 1e6);
  return buf;
}

}  // namespace renderq
