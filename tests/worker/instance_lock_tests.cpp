// The per-name instance lock: one live worker process per name.
#include <boost/test/unit_test.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include "core/util/instance_lock.h"
#include "tests/worker/worker_fixture.h"

namespace renderq::testing {

BOOST_FIXTURE_TEST_SUITE(InstanceLocking, WorkerFixture)

BOOST_AUTO_TEST_CASE(TheLockFileSitsBesideTheDatabase) {
  BOOST_CHECK_EQUAL(InstanceLock::PathFor("/var/lib/renderq/queue.db", "0"),
                    "/var/lib/renderq/queue.db.worker-0.lock");
}

BOOST_AUTO_TEST_CASE(ASecondHolderIsRefusedUntilTheFirstLetsGo) {
  const std::string path = InstanceLock::PathFor((dir / "queue.db").string(), "cpu");
  {
    auto first = InstanceLock::Acquire(path);
    BOOST_REQUIRE_MESSAGE(first.ok(), first.status().ToString());
    // flock() locks belong to the open file description, so a second open in
    // this process conflicts just as another process would.
    auto second = InstanceLock::Acquire(path);
    BOOST_REQUIRE(!second.ok());
    BOOST_CHECK_EQUAL(second.status().code(), StatusCode::kConflict);
    // Another name is independent.
    BOOST_CHECK(
        InstanceLock::Acquire(InstanceLock::PathFor((dir / "queue.db").string(), "0")).ok());
  }
  BOOST_CHECK(InstanceLock::Acquire(path).ok());
}

BOOST_AUTO_TEST_CASE(TheKernelReleasesTheLockOfAKilledProcess) {
  const std::string path = InstanceLock::PathFor((dir / "queue.db").string(), "cpu");
  int ready[2];
  BOOST_REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) {
    auto held = InstanceLock::Acquire(path);
    const char c = held.ok() ? 'y' : 'n';
    if (::write(ready[1], &c, 1) != 1) ::_exit(1);
    ::pause();  // until SIGKILL
    ::_exit(0);
  }
  ::close(ready[1]);
  char c = 0;
  BOOST_REQUIRE(::read(ready[0], &c, 1) == 1);
  ::close(ready[0]);
  BOOST_REQUIRE_EQUAL(c, 'y');
  BOOST_CHECK_EQUAL(InstanceLock::Acquire(path).status().code(), StatusCode::kConflict);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  BOOST_CHECK(InstanceLock::Acquire(path).ok());
}

BOOST_AUTO_TEST_CASE(AnUnusableDirectoryIsUnavailableNotAConflict) {
  auto lock = InstanceLock::Acquire((dir / "missing" / "q.db.worker-cpu.lock").string());
  BOOST_REQUIRE(!lock.ok());
  BOOST_CHECK_EQUAL(lock.status().code(), StatusCode::kUnavailable);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace renderq::testing
