// The cost model: units, estimates and SPEC's too-expensive check.
#include <cmath>
#include <limits>

#include <boost/test/unit_test.hpp>

#include "core/model/cost_model.h"

namespace renderq {
namespace {

SceneDescription SceneOf(int width, int height, int samples, int max_depth) {
  SceneDescription s;
  s.width = width;
  s.height = height;
  s.samples = samples;
  s.max_depth = max_depth;
  return s;
}

BOOST_AUTO_TEST_SUITE(cost_model)

BOOST_AUTO_TEST_CASE(units_are_pixels_times_samples_times_depth) {
  BOOST_TEST(CostUnits(640, 360, 64, 8) == 117964800.0);
  BOOST_TEST(CostUnits(SceneOf(1, 1, 1, 1)) == 1.0);
  // The largest scene does not overflow.
  BOOST_TEST(CostUnits(4096, 4096, 65536, 64) == 4096.0 * 4096 * 65536 * 64);
}

BOOST_AUTO_TEST_CASE(estimate_divides_by_measured_throughput) {
  BOOST_TEST(EstimateRenderSeconds(1e9, 1e8) == 10.0);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (double unmeasured : {0.0, -5.0, nan, inf}) {
    BOOST_TEST(EstimateRenderSeconds(4e6, unmeasured) == 4e6 / kDefaultUnitsPerSecond);
  }
  BOOST_TEST(EstimateRenderSeconds(0, 1e6) == 0.0);
  BOOST_TEST(EstimateRenderSeconds(nan, 1e6) == 0.0);
}

BOOST_AUTO_TEST_CASE(spec_example_fits_the_default_limit_on_the_default_throughput) {
  CostCheck c = CheckRenderCost(SceneOf(640, 360, 64, 8), /*units_per_second=*/0);
  BOOST_TEST(!c.too_expensive);
  BOOST_TEST(c.estimated_seconds < kDefaultMaxRenderSeconds);
  BOOST_TEST(c.detail.empty());
}

BOOST_AUTO_TEST_CASE(over_the_limit_is_too_expensive_with_the_estimate_in_detail) {
  CostCheck c = CheckRenderCost(SceneOf(640, 360, 64, 8), /*units_per_second=*/1e6);
  BOOST_TEST(c.too_expensive);
  BOOST_TEST(std::abs(c.estimated_seconds - 117.9648) < 1e-9);
  BOOST_TEST(c.detail.find("estimated render time 118.0 s exceeds the limit of 60 s") == 0u,
             c.detail);

  CostCheck configured = CheckRenderCost(SceneOf(640, 360, 64, 8), 1e6, /*limit_seconds=*/300);
  BOOST_TEST(!configured.too_expensive);
  CostCheck tight = CheckRenderCost(SceneOf(64, 64, 1, 1), 1e6, /*limit_seconds=*/0.001);
  BOOST_TEST(tight.too_expensive);
  BOOST_TEST(tight.detail.find("limit of 0.001 s") != std::string::npos, tight.detail);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq
