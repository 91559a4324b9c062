#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "ctl/duration.h"

namespace renderq {
namespace {

BOOST_AUTO_TEST_SUITE(ctl_duration)

BOOST_AUTO_TEST_CASE(accepts_a_count_and_one_unit) {
  struct Case {
    std::string text;
    TimeMs ms;
  };
  const std::vector<Case> cases = {
      {"500ms", 500},      {"45s", 45'000},     {"30m", 1'800'000},
      {"12h", 43'200'000}, {"7d", 604'800'000}, {"2w", 1'209'600'000},
  };
  for (const Case& c : cases) {
    auto got = ParseDuration(c.text);
    BOOST_TEST_CONTEXT(c.text) {
      BOOST_TEST_REQUIRE(got.ok());
      BOOST_TEST(*got == c.ms);
    }
  }
}

BOOST_AUTO_TEST_CASE(refuses_everything_else) {
  for (const char* text : {"", "7", "d", "0d", "-1d", "1.5d", "7 d", "7days", "7D", "1y",
                           "99999999999999999999d", "106751991168d"}) {
    BOOST_TEST_CONTEXT(text) { BOOST_TEST(!ParseDuration(text).ok()); }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq
