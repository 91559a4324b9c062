// GET /metrics text: Prometheus exposition format 0.0.4 (every family announced
// once by HELP and TYPE before its samples, label values escaped, histogram
// buckets cumulative and ending in +Inf), and the numbers it takes from a real
// SQLite store (jobs by state, render durations of the last hour).
#include <boost/test/unit_test.hpp>

#include <charconv>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "fcgi/metrics.h"
#include "tests/core/store/store_fixture.h"

namespace renderq {
namespace {

using testing::kStart;
using testing::StoreFixture;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Every sample's value by its full series name ("name{labels}").
std::map<std::string, std::string> Samples(const std::string& text) {
  std::map<std::string, std::string> samples;
  for (const std::string& line : Lines(text)) {
    if (line.empty() || line[0] == '#') continue;
    const std::size_t space = line.rfind(' ');
    samples[line.substr(0, space)] = line.substr(space + 1);
  }
  return samples;
}

bool IsNameChar(char c, bool first) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
  return alpha || (!first && c >= '0' && c <= '9');
}

bool IsName(std::string_view s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (!IsNameChar(s[i], i == 0)) return false;
  }
  return true;
}

bool IsValue(std::string_view s) {
  if (s == "+Inf" || s == "-Inf" || s == "NaN") return true;
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size();
}

// `{name="value",...}` from the start of `rest`; consumes it. False if malformed:
// a bad label name, or a value with a raw quote, backslash or newline unescaped.
bool ConsumeLabels(std::string_view& rest) {
  rest.remove_prefix(1);  // '{'
  while (!rest.empty() && rest.front() != '}') {
    const std::size_t eq = rest.find('=');
    if (eq == std::string_view::npos || !IsName(rest.substr(0, eq)) || eq + 1 >= rest.size() ||
        rest[eq + 1] != '"') {
      return false;
    }
    std::size_t i = eq + 2;
    for (; i < rest.size() && rest[i] != '"'; ++i) {
      if (rest[i] == '\\' && (i + 1 >= rest.size() || std::string_view("\"\\n").find(rest[++i]) ==
                                                          std::string_view::npos)) {
        return false;
      }
    }
    if (i >= rest.size()) return false;
    rest.remove_prefix(i + 1);
    if (!rest.empty() && rest.front() == ',') rest.remove_prefix(1);
  }
  if (rest.empty()) return false;
  rest.remove_prefix(1);  // '}'
  return true;
}

// The metric name of a well-formed sample line, or "" if malformed.
std::string SampleName(std::string_view line) {
  const std::size_t name_end = line.find_first_of("{ ");
  if (name_end == std::string_view::npos || !IsName(line.substr(0, name_end))) return "";
  std::string_view rest = line.substr(name_end);
  if (rest.front() == '{' && !ConsumeLabels(rest)) return "";
  if (rest.empty() || rest.front() != ' ' || !IsValue(rest.substr(1))) return "";
  return std::string(line.substr(0, name_end));
}

// The structural rules of the text format, checked line by line: every family
// has one HELP and one TYPE, both before its samples.
void CheckExpositionFormat(const std::string& text) {
  static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                               "untyped"};
  BOOST_TEST_REQUIRE(!text.empty());
  BOOST_TEST(text.back() == '\n');
  std::set<std::string> helped;
  std::map<std::string, std::string> types;
  for (const std::string& line : Lines(text)) {
    BOOST_TEST_CONTEXT(line) {
      std::istringstream words(line);
      std::string hash, keyword, name, rest;
      if (line.rfind('#', 0) == 0) {
        words >> hash >> keyword >> name >> rest;
        BOOST_TEST_REQUIRE(IsName(name));
        BOOST_TEST_REQUIRE(!rest.empty());
        if (keyword == "HELP") {
          BOOST_TEST(helped.insert(name).second, "HELP twice");
        } else {
          BOOST_TEST_REQUIRE(keyword == "TYPE");
          BOOST_TEST(kTypes.contains(rest));
          BOOST_TEST(types.emplace(name, rest).second, "TYPE twice");
        }
        continue;
      }
      std::string family = SampleName(line);
      BOOST_TEST_REQUIRE(!family.empty(), "malformed sample");
      for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
        const std::string base = family.substr(0, family.size() - suffix.size());
        if (family.ends_with(suffix) && types.contains(base) &&
            (types[base] == "histogram" || types[base] == "summary")) {
          family = base;
        }
      }
      BOOST_TEST(types.contains(family), "sample before its TYPE");
      BOOST_TEST(helped.contains(family), "sample before its HELP");
    }
  }
}

JobStats SomeStats() {
  JobStats stats;
  stats.by_state = {3, 1, 7, 2, 0};
  const std::vector<double>& bounds = Metrics::RenderBuckets();
  stats.le.assign(bounds.size(), 0);
  // Renders of 0.2 s, 3 s and 4000 s: cumulative counts per bound.
  for (double seconds : {0.2, 3.0, 4000.0}) {
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      if (seconds <= bounds[i]) ++stats.le[i];
    }
    ++stats.count;
    stats.sum_seconds += seconds;
  }
  return stats;
}

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(metrics_exposition)

// The checker below would pass anything if it accepted these.
BOOST_AUTO_TEST_CASE(the_format_checker_refuses_malformed_samples) {
  const std::vector<std::pair<std::string, bool>> lines = {
      {"renderq_db_up 1", true},
      {R"(renderq_x{a="q\"b\\c\nd",b="2"} 0.5)", true},
      {"renderq_x{le=\"+Inf\"} +Inf", true},
      {"renderq_db_up", false},
      {"renderq_db_up one", false},
      {"1renderq 1", false},
      {R"(renderq_x{a="q"b"} 1)", false},
      {R"(renderq_x{a="q\x"} 1)", false},
      {R"(renderq_x{a="q"} 1 2)", false},
      {R"(renderq_x{a="q" 1)", false},
      {R"(renderq_x{-a="q"} 1)", false},
  };
  for (const auto& [line, ok] : lines) {
    BOOST_TEST(SampleName(line).empty() == !ok, line);
  }
}

BOOST_AUTO_TEST_CASE(a_full_scrape_follows_the_text_format) {
  Metrics metrics;
  metrics.CountResponse(201);
  metrics.CountSubmit(SubmitResult::kCreated);
  QueueSnapshot queue;
  queue.workers.push_back(WorkerInfo{"0", "cuda:0 NVIDIA H100", false, 42, kStart - 1500, {}, 1e8});
  queue.workers.push_back(WorkerInfo{"odd\"na\\me\n", "cpu", true, 43, kStart, {}, 0});
  const JobStats stats = SomeStats();
  CheckExpositionFormat(metrics.Render(&queue, &stats, kStart));
}

BOOST_AUTO_TEST_CASE(every_state_has_a_queue_depth) {
  const JobStats stats = SomeStats();
  const QueueSnapshot queue;
  const auto samples = Samples(Metrics().Render(&queue, &stats, kStart));
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"renderq_jobs{state=\"queued\"}", "3"},    {"renderq_jobs{state=\"running\"}", "1"},
      {"renderq_jobs{state=\"succeeded\"}", "7"}, {"renderq_jobs{state=\"failed\"}", "2"},
      {"renderq_jobs{state=\"canceled\"}", "0"},  {"renderq_db_up", "1"},
  };
  for (const auto& [series, value] : expected) {
    BOOST_TEST_CONTEXT(series) {
      BOOST_TEST_REQUIRE(samples.contains(series));
      BOOST_TEST(samples.at(series) == value);
    }
  }
}

BOOST_AUTO_TEST_CASE(render_durations_are_a_cumulative_histogram) {
  const JobStats stats = SomeStats();
  const QueueSnapshot queue;
  const std::string text = Metrics().Render(&queue, &stats, kStart);
  BOOST_TEST(text.find("# TYPE renderq_render_duration_seconds histogram\n") != std::string::npos);
  const auto samples = Samples(text);
  // le label -> how many of {0.2, 3, 4000} s are at or under it.
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"0.05", "0"}, {"0.1", "0"},  {"0.25", "1"}, {"0.5", "1"},  {"1", "1"},   {"2.5", "1"},
      {"5", "2"},    {"10", "2"},   {"30", "2"},   {"60", "2"},   {"120", "2"}, {"300", "2"},
      {"600", "2"},  {"1800", "2"}, {"3600", "2"}, {"+Inf", "3"},
  };
  BOOST_TEST(Metrics::RenderBuckets().size() + 1 == expected.size());
  for (const auto& [le, count] : expected) {
    const std::string series = "renderq_render_duration_seconds_bucket{le=\"" + le + "\"}";
    BOOST_TEST_CONTEXT(series) {
      BOOST_TEST_REQUIRE(samples.contains(series));
      BOOST_TEST(samples.at(series) == count);
    }
  }
  BOOST_TEST(samples.at("renderq_render_duration_seconds_count") == "3");
  BOOST_TEST(samples.at("renderq_render_duration_seconds_sum") == "4003.2");
}

BOOST_AUTO_TEST_CASE(workers_report_heartbeat_age_and_backend_with_escaped_names) {
  QueueSnapshot queue;
  queue.workers.push_back(WorkerInfo{"0", "cuda:0 NVIDIA H100", false, 42, kStart - 1500, {}, 1e8});
  queue.workers.push_back(WorkerInfo{"a\"b\\c\nd", "cpu", true, 43, kStart, {}, 0});
  const JobStats stats = SomeStats();
  const auto samples = Samples(Metrics().Render(&queue, &stats, kStart));
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"renderq_worker_heartbeat_age_seconds{worker=\"0\"}", "1.5"},
      {R"(renderq_worker_heartbeat_age_seconds{worker="a\"b\\c\nd"})", "0"},
      {"renderq_worker_info{worker=\"0\",backend=\"cuda\",device=\"cuda:0 NVIDIA "
       "H100\",fallback=\"0\",kinds=\"scene\"}",
       "1"},
      {R"(renderq_worker_info{worker="a\"b\\c\nd",backend="cpu",device="cpu",fallback="1",kinds="scene"})",
       "1"},
  };
  for (const auto& [series, value] : expected) {
    BOOST_TEST_CONTEXT(series) {
      BOOST_TEST_REQUIRE(samples.contains(series));
      BOOST_TEST(samples.at(series) == value);
    }
  }
}

BOOST_AUTO_TEST_CASE(an_unreadable_database_leaves_only_the_process_counters) {
  Metrics metrics;
  metrics.CountResponse(503);
  metrics.CountSubmit(SubmitResult::kStorageError);
  const QueueSnapshot queue;
  const JobStats stats;
  for (const auto& [q, s] : std::vector<std::pair<const QueueSnapshot*, const JobStats*>>{
           {nullptr, nullptr}, {&queue, nullptr}, {nullptr, &stats}}) {
    const std::string text = metrics.Render(q, s, kStart);
    CheckExpositionFormat(text);
    const auto samples = Samples(text);
    BOOST_TEST(samples.at("renderq_db_up") == "0");
    BOOST_TEST(samples.at("renderq_http_responses_total{code=\"503\"}") == "1");
    BOOST_TEST(samples.at("renderq_submits_total{outcome=\"storage_error\"}") == "1");
    BOOST_TEST(text.find("renderq_jobs") == std::string::npos);
    BOOST_TEST(text.find("renderq_render_duration") == std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(metrics_from_the_store)

// Claims the next queued job and finishes it, rendered in `render_seconds`.
void FinishNext(StoreFixture& f, double render_seconds) {
  const ClaimedJob claimed = f.Claim("w");
  const std::vector<std::uint8_t> png = {0x89, 'P', 'N', 'G'};
  const Status s = f.store->Finish(
      claimed.lease, StoreFixture::Finished(png, "cpu", render_seconds, 1.0, "\"e\""));
  BOOST_TEST_REQUIRE(s.ok(), s.ToString());
}

BOOST_FIXTURE_TEST_CASE(scrape_counts_states_and_the_last_hour_of_renders, StoreFixture) {
  Open();
  BOOST_TEST_REQUIRE(store->RegisterWorker(WorkerInfo{"w", "cpu", false, 1, 0, {}, 0}).ok());
  const std::int64_t owner = NewOwner("metrics");
  for (int i = 0; i < 6; ++i) Submit(owner);
  FinishNext(*this, 0.3);  // finished two hours before the scrape: outside the window
  clock.Advance(2 * 3600 * 1000);
  FinishNext(*this, 0.3);
  FinishNext(*this, 42.0);
  const ClaimedJob failing = Claim("w");
  BOOST_TEST_REQUIRE(store->Fail(failing.lease, "bad", "it broke").ok());
  Claim("w");  // stays running
  // One left queued.

  const std::string text = Metrics().Scrape(*store, clock.NowMs());
  CheckExpositionFormat(text);
  const auto samples = Samples(text);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"renderq_db_up", "1"},
      {"renderq_jobs{state=\"queued\"}", "1"},
      {"renderq_jobs{state=\"running\"}", "1"},
      {"renderq_jobs{state=\"succeeded\"}", "3"},
      {"renderq_jobs{state=\"failed\"}", "1"},
      {"renderq_jobs{state=\"canceled\"}", "0"},
      {"renderq_render_duration_seconds_bucket{le=\"0.25\"}", "0"},
      {"renderq_render_duration_seconds_bucket{le=\"0.5\"}", "1"},
      {"renderq_render_duration_seconds_bucket{le=\"30\"}", "1"},
      {"renderq_render_duration_seconds_bucket{le=\"60\"}", "2"},
      {"renderq_render_duration_seconds_bucket{le=\"+Inf\"}", "2"},
      {"renderq_render_duration_seconds_count", "2"},
      {"renderq_render_duration_seconds_sum", "42.3"},
  };
  for (const auto& [series, value] : expected) {
    BOOST_TEST_CONTEXT(series) {
      BOOST_TEST_REQUIRE(samples.contains(series));
      BOOST_TEST(samples.at(series) == value);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq
