// Pass sizing: short passes of ~target seconds, adapting to the measured speed.
#include <boost/test/unit_test.hpp>

#include <vector>

#include "worker/pass_sizer.h"

namespace renderq {

BOOST_AUTO_TEST_SUITE(PassSizing)

BOOST_AUTO_TEST_CASE(FirstPassIsOneSample) {
  const PassSizer sizer(0.25);
  BOOST_CHECK_EQUAL(sizer.Next(1000), 1);
  BOOST_CHECK_EQUAL(sizer.EstimateSeconds(1000), 0.0);
}

BOOST_AUTO_TEST_CASE(FollowsTheMeasuredRate) {
  struct Step {
    int samples;     // the pass just observed
    double seconds;  // how long it took
    int remaining;
    int expected_next;
  };
  const std::vector<Step> steps = {
      {1, 0.01, 1000, 4},    // 100/s would give 25, but growth is capped at 4x
      {4, 0.04, 1000, 16},   // still capped
      {16, 0.16, 1000, 25},  // 100/s x 0.25 s
      {25, 1.0, 1000, 6},    // slowed to 25/s: shrinks at once
      {6, 0.06, 10, 10},     // never more than what remains
      {10, 100.0, 500, 1},   // very slow: at least one sample
      {1, 0.0, 3, 3},        // too fast to time: as fast as allowed
  };
  PassSizer sizer(0.25);
  for (const Step& s : steps) {
    sizer.Observe(s.samples, s.seconds);
    BOOST_TEST_CONTEXT("after " << s.samples << " samples in " << s.seconds << " s") {
      BOOST_CHECK_EQUAL(sizer.Next(s.remaining), s.expected_next);
    }
  }
}

BOOST_AUTO_TEST_CASE(EstimatesTheRemainingTime) {
  PassSizer sizer(0.25);
  sizer.Observe(10, 0.5);  // 20 samples/s
  BOOST_CHECK_CLOSE(sizer.EstimateSeconds(60), 3.0, 1e-9);
  BOOST_CHECK_EQUAL(sizer.EstimateSeconds(0), 0.0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace renderq
