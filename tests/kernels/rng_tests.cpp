// The RNG is a pure function of (seed, pixel, sample) and looks uniform.
#include <boost/test/unit_test.hpp>

#include <set>

#include "kernels/host_device.h"

namespace renderq::kernels {
namespace {

BOOST_AUTO_TEST_SUITE(KernelsRng)

BOOST_AUTO_TEST_CASE(same_key_same_stream) {
  Rng a = MakeRng(/*seed=*/7, /*pixel=*/1234, /*sample=*/56);
  Rng b = MakeRng(7, 1234, 56);
  for (int i = 0; i < 100; ++i) BOOST_TEST(NextUint(a) == NextUint(b));
}

BOOST_AUTO_TEST_CASE(known_values_pin_the_algorithm) {
  // Recorded from this implementation. A change here changes every image and
  // invalidates every saved checkpoint, so it must be deliberate (and the
  // goldens regenerated).
  struct Case {
    uint32_t seed, pixel, sample;
    uint32_t first;
  };
  const Case cases[] = {{0, 0, 0, 3692338148u}, {7, 1234, 56, 3748544952u}};
  for (const auto& c : cases) {
    Rng r = MakeRng(c.seed, c.pixel, c.sample);
    BOOST_TEST(NextUint(r) == c.first);
  }
  Rng r = MakeRng(0, 0, 0);
  NextUint(r);
  BOOST_TEST(NextUint(r) == 3808777966u);
}

BOOST_AUTO_TEST_CASE(different_keys_different_streams) {
  std::set<uint32_t> firsts;
  for (uint32_t seed = 0; seed < 4; ++seed) {
    for (uint32_t pixel = 0; pixel < 64; ++pixel) {
      for (uint32_t sample = 0; sample < 64; ++sample) {
        Rng r = MakeRng(seed, pixel, sample);
        firsts.insert(NextUint(r));
      }
    }
  }
  // 16384 keys; a few 32-bit collisions are possible, many would mean correlation.
  BOOST_TEST(firsts.size() > 16370u);
}

BOOST_AUTO_TEST_CASE(floats_are_uniform_in_unit_interval) {
  Rng r = MakeRng(3, 4, 5);
  constexpr int kN = 200000;
  int buckets[10] = {};
  double sum = 0.0;
  for (int i = 0; i < kN; ++i) {
    const float f = NextFloat(r);
    BOOST_REQUIRE(f >= 0.0f);
    BOOST_REQUIRE(f < 1.0f);
    sum += f;
    ++buckets[static_cast<int>(f * 10.0f)];
  }
  BOOST_TEST(sum / kN == 0.5, boost::test_tools::tolerance(0.01));
  for (int b : buckets) BOOST_TEST(std::abs(b - kN / 10) < kN / 100);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq::kernels
