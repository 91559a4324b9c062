// Conditional GETs (fcgi/conditional.h): If-None-Match matching, and the 304s
// Api::Handle answers for a job, the job list, the queue and the OpenAPI document.
#include <unistd.h>

#include <string>
#include <string_view>

#include <boost/test/unit_test.hpp>

#include "fcgi/conditional.h"
#include "fcgi/openapi_document.h"
#include "tests/fcgi/api_fixture.h"

namespace renderq::test {
namespace {

std::string Header(const HttpResponse& response, std::string_view name) {
  const std::string* value = response.FindHeader(name);
  return value == nullptr ? std::string() : *value;
}

// `request` sent again with If-None-Match: `etag`.
HttpRequest Revalidate(HttpRequest request, std::string etag) {
  request.if_none_match = std::move(etag);
  return request;
}

struct MatchCase {
  std::string_view header;
  std::string_view etag;
  bool matches;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(ConditionalRequests)

BOOST_AUTO_TEST_CASE(if_none_match_uses_weak_comparison) {
  const MatchCase cases[] = {
      {/*header=*/R"("abc")", /*etag=*/R"("abc")", /*matches=*/true},
      {R"(W/"abc")", R"("abc")", true},
      {R"("abc")", R"(W/"abc")", true},
      {R"(W/"abc")", R"(W/"abc")", true},
      {"*", R"(W/"abc")", true},
      {R"( "x" , W/"abc" )", R"(W/"abc")", true},
      {R"("x", "y")", R"(W/"abc")", false},
      {R"("abcd")", R"("abc")", false},
      {"abc", R"("abc")", false},         // unquoted: not an entity tag
      {R"("ab"c")", R"("ab"c")", false},  // a quote inside
      {"", R"("abc")", false},
      {",,", R"("abc")", false},
      {R"(W/)", R"("abc")", false},
  };
  for (const MatchCase& c : cases) {
    BOOST_TEST_CONTEXT("If-None-Match: " << c.header << " vs " << c.etag) {
      BOOST_TEST(IfNoneMatchMatches(c.header, c.etag) == c.matches);
    }
  }
}

BOOST_AUTO_TEST_CASE(tags_are_quoted_hex_and_depend_on_the_bytes) {
  const std::string weak = WeakEtag("one");
  BOOST_TEST(weak.size() == 2 + 32 + 2);
  BOOST_TEST(weak.starts_with("W/\""));
  BOOST_TEST(weak != WeakEtag("two"));
  BOOST_TEST(weak == WeakEtag("one"));
  BOOST_TEST(StrongEtag("one") == weak.substr(2));
}

BOOST_AUTO_TEST_CASE(an_unchanged_job_is_304_and_a_change_gives_a_new_tag) {
  ApiFixture f;
  const std::string id = f.SubmitOk(f.alice);
  const HttpRequest get = f.Request("GET", "/api/v1/jobs/" + id, Bearer(f.alice));
  const HttpResponse first = f.Call(get);
  BOOST_TEST_REQUIRE(first.status == 200);
  const std::string etag = Header(first, "ETag");
  BOOST_TEST(etag.starts_with("W/\""));

  const HttpResponse same = f.Call(Revalidate(get, etag));
  BOOST_TEST(same.status == 304);
  BOOST_TEST(same.body.empty());
  BOOST_TEST(Header(same, "ETag") == etag);
  BOOST_TEST(Header(same, "Cache-Control") == "no-store");
  BOOST_TEST(same.FindHeader("Content-Type") == nullptr);

  // HEAD revalidates like GET.
  BOOST_TEST(
      f.Call(Revalidate(f.Request("HEAD", "/api/v1/jobs/" + id, Bearer(f.alice)), etag)).status ==
      304);
  // Another tag, or none: the full answer.
  BOOST_TEST(f.Call(Revalidate(get, R"(W/"0000")")).status == 200);

  // The job starts running: its tag changes.
  WorkerInfo worker;
  worker.name = "w";
  worker.device = "cpu";
  worker.pid = ::getpid();
  BOOST_TEST_REQUIRE(f.store().RegisterWorker(worker).ok());
  auto claimed = f.store().ClaimNext("w");
  BOOST_TEST_REQUIRE(claimed.ok());
  BOOST_TEST_REQUIRE(claimed->has_value());
  const HttpResponse running = f.Call(Revalidate(get, etag));
  BOOST_TEST(running.status == 200);
  BOOST_TEST(BodyJson(running)["state"] == "running");
  const std::string running_etag = Header(running, "ETag");
  BOOST_TEST(running_etag != etag);

  // Progress moves the tag; a heartbeat with the same progress does not.
  BOOST_TEST_REQUIRE(f.store().Heartbeat((*claimed)->lease, 0.0).ok());
  BOOST_TEST(f.Call(Revalidate(get, running_etag)).status == 304);
  BOOST_TEST_REQUIRE(f.store().Heartbeat((*claimed)->lease, 0.5).ok());
  BOOST_TEST(f.Call(Revalidate(get, running_etag)).status == 200);
}

BOOST_AUTO_TEST_CASE(the_list_and_the_queue_revalidate_until_a_submit) {
  ApiFixture f;
  f.SubmitOk(f.alice);
  for (const std::string path : {"/api/v1/jobs?state=queued", "/api/v1/queue"}) {
    BOOST_TEST_CONTEXT(path) {
      const HttpRequest get = f.Request("GET", path, Bearer(f.alice));
      const HttpResponse first = f.Call(get);
      BOOST_TEST_REQUIRE(first.status == 200);
      const std::string etag = Header(first, "ETag");
      BOOST_TEST(f.Call(Revalidate(get, etag)).status == 304);
      f.SubmitOk(f.alice);
      const HttpResponse after = f.Call(Revalidate(get, etag));
      BOOST_TEST(after.status == 200);
      BOOST_TEST(Header(after, "ETag") != etag);
    }
  }
}

BOOST_AUTO_TEST_CASE(other_answers_carry_no_tag_and_never_304) {
  ApiFixture f;
  const std::string id = f.SubmitOk(f.alice);
  // Bob's view of Alice's job is a 404, whatever tag he sends.
  const HttpResponse foreign =
      f.Call(Revalidate(f.Request("GET", "/api/v1/jobs/" + id, Bearer(f.bob)), "*"));
  BOOST_TEST(foreign.status == 404);
  BOOST_TEST(foreign.FindHeader("ETag") == nullptr);
  // A cancel is never conditional.
  const HttpResponse cancel =
      f.Call(Revalidate(f.Request("DELETE", "/api/v1/jobs/" + id, Bearer(f.alice)), "*"));
  BOOST_TEST(cancel.status == 200);
  BOOST_TEST(cancel.FindHeader("ETag") == nullptr);
}

BOOST_AUTO_TEST_CASE(the_openapi_document_is_public_json_with_a_strong_tag) {
  ApiFixture f;
  const HttpRequest get = f.Request("GET", "/api/v1/openapi.json", "");
  const HttpResponse doc = f.Call(get);
  BOOST_TEST_REQUIRE(doc.status == 200);
  BOOST_TEST(Header(doc, "Content-Type") == "application/json");
  BOOST_TEST(doc.body == std::string(OpenApiDocumentJson()));
  const Json json = BodyJson(doc);
  BOOST_TEST(json["openapi"].get<std::string>().starts_with("3.1."));
  BOOST_TEST(json["paths"].contains("/api/v1/jobs/{id}"));
  const std::string etag = Header(doc, "ETag");
  BOOST_TEST(etag == StrongEtag(OpenApiDocumentJson()));
  BOOST_TEST(f.Call(Revalidate(get, etag)).status == 304);
  HttpRequest post = f.Request("POST", "/api/v1/openapi.json", "");
  BOOST_TEST(f.Call(post).status == 405);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace renderq::test
