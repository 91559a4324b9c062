// The store contract under concurrency: several threads and several processes
// submit and claim at once. FIFO means: claim order == seq order == commit
// order. Runs on every backend the build has.
#include <boost/test/unit_test.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "tests/core/store/store_fixture.h"

namespace renderq::testing {
namespace {

std::int64_t MonotonicNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// One submit as its caller saw it.
struct SubmitRecord {
  std::int64_t seq = 0;
  std::string id;
  std::int64_t began_ns = 0;     // before Submit was called
  std::int64_t returned_ns = 0;  // after it returned (committed)
};

// Commit order is seq order: a submit that returned before another began has
// the smaller seq, whichever thread or process made them.
void CheckSeqFollowsCommitOrder(std::vector<SubmitRecord> records) {
  std::sort(records.begin(), records.end(), [](auto& a, auto& b) { return a.seq < b.seq; });
  // For each record, every record with a larger seq must not have returned
  // before it began: track the earliest return among larger seqs.
  std::int64_t earliest_later_return = INT64_MAX;
  for (auto it = records.rbegin(); it != records.rend(); ++it) {
    BOOST_TEST(earliest_later_return > it->began_ns,
               "seq " << it->seq << " committed after a larger seq");
    earliest_later_return = std::min(earliest_later_return, it->returned_ns);
  }
  std::set<std::int64_t> seqs;
  for (auto& r : records) seqs.insert(r.seq);
  BOOST_TEST(seqs.size() == records.size());
}

// Claims until the queue is empty; returns the claimed jobs in claim order.
std::vector<Job> DrainInOrder(JobStore& store) {
  std::vector<Job> claimed;
  for (int i = 0; i < 100000; ++i) {
    auto next = store.ClaimNext("drain");
    BOOST_REQUIRE_MESSAGE(next.ok(), next.status().ToString());
    if (!next->has_value()) break;
    claimed.push_back((*next)->job);
  }
  return claimed;
}

void CheckClaimsFollowSeq(const std::vector<Job>& claimed,
                          const std::vector<SubmitRecord>& submitted) {
  BOOST_REQUIRE(claimed.size() == submitted.size());
  std::map<std::string, std::int64_t> seq_of;
  for (auto& r : submitted) seq_of[r.id] = r.seq;
  for (std::size_t i = 0; i < claimed.size(); ++i) {
    BOOST_TEST(seq_of.at(claimed[i].id) == claimed[i].seq);
    if (i > 0) BOOST_TEST(claimed[i - 1].seq < claimed[i].seq);
  }
}

// Runs `child` in `n` forked processes (each opens the store itself, after
// the fork) and requires every one to exit 0.
void InChildren(int n, const std::function<int(int)>& child) {
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    pid_t pid = fork();
    BOOST_REQUIRE(pid >= 0);
    if (pid == 0) _exit(child(i));
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    BOOST_REQUIRE(waitpid(pid, &status, 0) == pid);
    BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0), "child exit status " << status);
  }
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(StoreConcurrency, StoreFixture)

BOOST_AUTO_TEST_CASE(FifoUnderConcurrentSubmitsFromThreads) {
  options.clock = nullptr;  // the backend's own clock
  options.rules.limits.max_queued = options.rules.limits.max_queued_per_owner = 100000;
  options.rules.limits.max_drain_seconds = 1e12;
  Open();
  const std::int64_t owner = NewOwner("alice");
  constexpr int kThreads = 8, kEach = 50;
  std::mutex mu;
  std::vector<SubmitRecord> records;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        SubmitRecord r;
        r.began_ns = MonotonicNs();
        auto outcome = store->Submit(Request(owner));
        r.returned_ns = MonotonicNs();
        if (!outcome.ok()) continue;  // counted below
        r.seq = outcome->job.seq;
        r.id = outcome->job.id;
        std::lock_guard lock(mu);
        records.push_back(r);
      }
    });
  }
  for (auto& t : threads) t.join();
  BOOST_REQUIRE(records.size() == static_cast<std::size_t>(kThreads * kEach));
  CheckSeqFollowsCommitOrder(records);
  CheckClaimsFollowSeq(DrainInOrder(*store), records);
}

BOOST_AUTO_TEST_CASE(FifoUnderConcurrentSubmitsFromProcesses) {
  options.clock = nullptr;  // the backend's own clock
  options.rules.limits.max_queued = options.rules.limits.max_queued_per_owner = 100000;
  options.rules.limits.max_drain_seconds = 1e12;
  Open();
  const std::int64_t owner = NewOwner("alice");
  store.reset();  // no connection may cross the fork
  constexpr int kProcesses = 4, kEach = 40;
  InChildren(kProcesses, [&](int index) {
    auto opened = OpenJobStore(db(), options);
    if (!opened.ok()) return 2;
    std::ofstream out(dir / ("submits-" + std::to_string(index)));
    for (int i = 0; i < kEach; ++i) {
      std::int64_t began = MonotonicNs();
      auto outcome = (*opened)->Submit(Request(owner));
      std::int64_t returned = MonotonicNs();
      if (!outcome.ok() || outcome->kind != SubmitOutcome::Kind::kCreated) return 3;
      out << outcome->job.seq << ' ' << outcome->job.id << ' ' << began << ' ' << returned << '\n';
    }
    return out.good() ? 0 : 4;
  });
  std::vector<SubmitRecord> records;
  for (int i = 0; i < kProcesses; ++i) {
    std::ifstream in(dir / ("submits-" + std::to_string(i)));
    SubmitRecord r;
    while (in >> r.seq >> r.id >> r.began_ns >> r.returned_ns) records.push_back(r);
  }
  BOOST_REQUIRE(records.size() == static_cast<std::size_t>(kProcesses * kEach));
  CheckSeqFollowsCommitOrder(records);
  Open();
  CheckClaimsFollowSeq(DrainInOrder(*store), records);
}

BOOST_AUTO_TEST_CASE(ExactlyOneClaimerWinsAmongThreads) {
  options.rules.limits.max_queued_per_owner = 1000;
  Open();
  const std::int64_t owner = NewOwner("alice");
  constexpr int kJobs = 200;
  for (int i = 0; i < kJobs; ++i) Submit(owner);
  std::mutex mu;
  std::vector<std::string> claimed;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kJobs; ++i) {
        auto next = store->ClaimNext("w" + std::to_string(t));
        if (!next.ok()) {
          ++errors;
          continue;
        }
        if (!next->has_value()) return;
        std::lock_guard lock(mu);
        claimed.push_back((*next)->job.id);
      }
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(errors.load() == 0);
  BOOST_TEST(claimed.size() == static_cast<std::size_t>(kJobs));
  BOOST_TEST(std::set<std::string>(claimed.begin(), claimed.end()).size() == claimed.size());
}

BOOST_AUTO_TEST_CASE(ExactlyOneClaimerWinsAmongProcesses) {
  options.rules.limits.max_queued_per_owner = 1000;
  Open();
  const std::int64_t owner = NewOwner("alice");
  constexpr int kJobs = 120, kProcesses = 4;
  std::vector<std::string> submitted;
  for (int i = 0; i < kJobs; ++i) submitted.push_back(Submit(owner).id);
  store.reset();
  InChildren(kProcesses, [&](int index) {
    auto opened = OpenJobStore(db(), options);
    if (!opened.ok()) return 2;
    std::ofstream out(dir / ("claims-" + std::to_string(index)));
    std::int64_t last_seq = 0;
    for (int i = 0; i < kJobs; ++i) {
      auto next = (*opened)->ClaimNext("p" + std::to_string(index));
      if (!next.ok()) return 3;
      if (!next->has_value()) break;
      if ((*next)->job.seq <= last_seq) return 5;  // each claimer sees the line in order
      last_seq = (*next)->job.seq;
      out << (*next)->job.id << '\n';
    }
    return out.good() ? 0 : 4;
  });
  std::multiset<std::string> claimed;
  for (int i = 0; i < kProcesses; ++i) {
    std::ifstream in(dir / ("claims-" + std::to_string(i)));
    std::string id;
    while (in >> id) claimed.insert(id);
  }
  BOOST_TEST(claimed.size() == static_cast<std::size_t>(kJobs));
  BOOST_TEST(std::set<std::string>(claimed.begin(), claimed.end()) ==
             std::set<std::string>(submitted.begin(), submitted.end()));
}

// Admission decided by several processes (each a responder with its own
// writer session) committing at once: the per-owner limit still holds exactly.
BOOST_AUTO_TEST_CASE(AdmissionLimitsHoldAcrossProcesses) {
  options.clock = nullptr;  // the backend's own clock
  options.rules.limits.max_queued_per_owner = 12;
  options.rules.limits.max_drain_seconds = 1e12;
  Open();
  const std::int64_t owner = NewOwner("alice");
  store.reset();  // no connection may cross the fork
  constexpr int kProcesses = 4, kEach = 10;
  InChildren(kProcesses, [&](int index) {
    auto opened = OpenJobStore(db(), options);
    if (!opened.ok()) return 2;
    std::ofstream out(dir / ("admitted-" + std::to_string(index)));
    for (int i = 0; i < kEach; ++i) {
      auto outcome = (*opened)->Submit(Request(owner));
      if (!outcome.ok()) return 3;
      if (outcome->kind == SubmitOutcome::Kind::kCreated) {
        out << "created\n";
      } else if (outcome->kind == SubmitOutcome::Kind::kOwnerQueueFull) {
        if (outcome->retry_after_seconds < 1) return 4;
        out << "refused\n";
      } else {
        return 5;
      }
    }
    return out.good() ? 0 : 6;
  });
  int created = 0, refused = 0;
  for (int i = 0; i < kProcesses; ++i) {
    std::ifstream in(dir / ("admitted-" + std::to_string(i)));
    std::string word;
    while (in >> word) (word == "created" ? created : refused)++;
  }
  BOOST_TEST(created == 12);
  BOOST_TEST(refused == kProcesses * kEach - 12);
  Open();
  BOOST_TEST(store->Queue()->queued == 12);
}

// 64 threads submit at once: the writer must commit them in far fewer
// transactions than submits. Also prints the throughput.
BOOST_AUTO_TEST_CASE(GroupCommitBatchesConcurrentSubmits) {
  options.clock = nullptr;  // the backend's own clock
  options.rules.limits.max_queued = options.rules.limits.max_queued_per_owner = 1000000;
  options.rules.limits.max_drain_seconds = 1e12;
  Open();
  std::vector<std::int64_t> owners;
  for (int i = 0; i < 8; ++i) owners.push_back(NewOwner("o" + std::to_string(i)));
  const auto before = store->GroupCommitStats();
  constexpr int kThreads = 64, kEach = 60;
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  auto begin = std::chrono::steady_clock::now();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto outcome = store->Submit(Request(owners[static_cast<std::size_t>(t % 8)]));
        if (!outcome.ok() || outcome->kind != SubmitOutcome::Kind::kCreated) ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  const auto after = store->GroupCommitStats();
  const auto units = after.units - before.units;
  const auto commits = after.commits - before.commits;
  BOOST_TEST(failed.load() == 0);
  BOOST_TEST(units == kThreads * kEach);
  BOOST_TEST(commits * 4 < units, "commits " << commits << " for " << units << " submits");
  BOOST_TEST_MESSAGE("group commit: " << units << " submits from " << kThreads << " threads in "
                                      << seconds << " s = " << units / seconds << " submits/s, "
                                      << commits << " commits ("
                                      << static_cast<double>(units) / static_cast<double>(commits)
                                      << " per commit)");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace renderq::testing
