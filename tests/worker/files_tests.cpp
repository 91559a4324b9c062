// Atomic writes, temp names, the start-up sweep and ETags.
#include <boost/test/unit_test.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include "core/util/atomic_file.h"
#include "tests/worker/worker_fixture.h"
#include "core/util/digest.h"

namespace renderq::testing {
namespace {

std::vector<std::uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

// A pid that belonged to a process that has exited (and been reaped).
pid_t DeadPid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  return child;
}

void Touch(const std::filesystem::path& path) { std::ofstream(path) << "x"; }

}  // namespace

BOOST_FIXTURE_TEST_SUITE(AtomicFiles, WorkerFixture)

BOOST_AUTO_TEST_CASE(WritesAndReplacesWithoutLeavingTemps) {
  const std::string path = (results / "a.png").string();
  for (Durability d : {Durability::kDurable, Durability::kVisibleOnly}) {
    BOOST_REQUIRE(WriteFileAtomically(path, Bytes("first"), d).ok());
    BOOST_CHECK(ReadBytes(path) == Bytes("first"));
    BOOST_REQUIRE(WriteFileAtomically(path, Bytes("second, longer"), d).ok());
    BOOST_CHECK(ReadBytes(path) == Bytes("second, longer"));
  }
  BOOST_CHECK(ResultFiles() == std::vector<std::string>{"a.png"});
}

BOOST_AUTO_TEST_CASE(FailsCleanlyInAMissingDirectory) {
  const Status s =
      WriteFileAtomically((results / "nope" / "a.png").string(), Bytes("x"), Durability::kDurable);
  BOOST_CHECK_EQUAL(s.code(), StatusCode::kUnavailable);
  BOOST_CHECK(ResultFiles().empty());
}

BOOST_AUTO_TEST_CASE(TempNamesCarryTheirOwner) {
  struct Case {
    std::string name;
    std::optional<pid_t> owner;
  };
  const std::vector<Case> cases = {
      {TempFileName("abc.png", 1234, 7), 1234},
      {TempFileName("abc.preview.png", 99, 0), 99},
      {".abc.png.tmp-42-1", 42},
      {"abc.png", std::nullopt},
      {"abc.png.tmp-42-1", std::nullopt},  // not hidden: not ours
      {".abc.png.tmp-x-1", std::nullopt},
      {".abc.png.tmp-42-", std::nullopt},
      {".abc.png.tmp-42-1a", std::nullopt},
      {".abc.png.tmp--1-1", std::nullopt},
      {".tmp-42-1", std::nullopt},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.name) { BOOST_CHECK(TempFileOwner(c.name) == c.owner); }
  }
}

BOOST_AUTO_TEST_CASE(EtagIsAQuotedDigestOfTheBytes) {
  const std::string a = StrongEtag(Bytes("image one"));
  BOOST_CHECK_EQUAL(a.size(), 34u);
  BOOST_CHECK_EQUAL(a.front(), '"');
  BOOST_CHECK_EQUAL(a.back(), '"');
  BOOST_CHECK_EQUAL(a, StrongEtag(Bytes("image one")));
  BOOST_CHECK_NE(a, StrongEtag(Bytes("image two")));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(StartupSweep, WorkerFixture)

BOOST_AUTO_TEST_CASE(RemovesDeadTempsAndFilesOfFinishedJobsOnly) {
  const Job queued = Submit(SceneJson(4, 4, 1));
  const Job canceled = Submit(SceneJson(4, 4, 1, /*seed=*/1));
  BOOST_REQUIRE(store->Cancel(owner_id, canceled.id).ok());
  const std::string unknown = "00000000-0000-4000-8000-000000000000";

  const std::string dead_temp = TempFileName("x.png", DeadPid(), 0);
  const std::string live_temp = TempFileName("y.png", ::getppid(), 0);    // our parent is alive
  const std::string own_pid_temp = TempFileName("z.png", ::getpid(), 0);  // a predecessor's
  for (const std::string& name :
       {dead_temp, live_temp, own_pid_temp, queued.id + ".ckpt", queued.id + ".preview.png",
        canceled.id + ".ckpt", canceled.id + ".preview.png", unknown + ".preview.png",
        queued.id + ".png", std::string("notes.txt")}) {
    Touch(results / name);
  }
  auto report = store->Sweep();
  BOOST_REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  BOOST_CHECK_EQUAL(report->temps_removed, 2);
  BOOST_CHECK_EQUAL(report->stale_files_removed, 3);
  std::vector<std::string> left = ResultFiles();
  std::sort(left.begin(), left.end());
  std::vector<std::string> expected = {live_temp, queued.id + ".ckpt", queued.id + ".preview.png",
                                       queued.id + ".png", "notes.txt"};
  std::sort(expected.begin(), expected.end());
  BOOST_CHECK_EQUAL_COLLECTIONS(left.begin(), left.end(), expected.begin(), expected.end());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace renderq::testing
