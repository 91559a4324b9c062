#include <boost/test/unit_test.hpp>

#include "tests/core/store/test_database.h"

namespace renderq::testing {

std::unique_ptr<TestDatabase> MakePostgresTestDatabase(const std::filesystem::path&) {
  BOOST_FAIL("this build has no PostgreSQL backend");
  return nullptr;
}

}  // namespace renderq::testing
