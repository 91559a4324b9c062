// The retry schedule: the first retry within 10 s, longer waits after, and
// retries for at least 24 h.
#include <boost/test/unit_test.hpp>

#include "notify/retry_schedule.h"

namespace renderq::notify {
namespace {

constexpr TimeMs kHour = 3'600'000;

BOOST_AUTO_TEST_SUITE(RetryScheduleTests)

BOOST_AUTO_TEST_CASE(TheFirstRetryComesWithinTenSeconds) {
  const RetryPolicy policy;
  for (const double u : {0.0, 0.25, 0.5, 0.999999}) {
    const auto next = NextAttemptAt(policy, /*attempt=*/1, /*created_at=*/0, /*now=*/100, u);
    BOOST_REQUIRE(next.has_value());
    BOOST_TEST(*next - 100 <= 10'000);
    BOOST_TEST(*next - 100 >= 2'500);
  }
}

BOOST_AUTO_TEST_CASE(WaitsGrowAndStopAtAnHour) {
  const RetryPolicy policy;
  TimeMs previous = 0;
  for (int attempt = 1; attempt <= 20; ++attempt) {
    const TimeMs wait = *NextAttemptAt(policy, attempt, 0, 0, /*u=*/0.0);
    BOOST_TEST(wait >= previous);
    BOOST_TEST(wait <= kHour);
    previous = wait;
  }
  BOOST_TEST(previous == kHour);
  // Jitter only shortens a wait, and by at most half.
  BOOST_TEST(*NextAttemptAt(policy, 20, 0, 0, 0.999999) >= kHour / 2);
}

// Walking the whole schedule: retries go on past 24 h after the event, then stop.
BOOST_AUTO_TEST_CASE(RetriesForAtLeastADayThenGivesUp) {
  const RetryPolicy policy;
  for (const double u : {0.0, 0.999999}) {
    TimeMs now = 0;
    int attempt = 1;
    std::optional<TimeMs> next;
    while ((next = NextAttemptAt(policy, attempt, /*created_at=*/0, now, u))) {
      now = *next;
      ++attempt;
      BOOST_REQUIRE(attempt < 1000);
    }
    BOOST_TEST(now >= 24 * kHour);
    BOOST_TEST(now < 25 * kHour);
    BOOST_TEST_MESSAGE("u=" << u << ": " << attempt << " attempts over " << now / kHour << " h");
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq::notify
