// Bad requests, one table row each: the exact status, problem type and (where
// the problem is in the scene) JSON pointer the client gets, and proof that
// nothing was stored.
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "fcgi/problem.h"
#include "tests/fcgi/api_fixture.h"

// Rows name only the fields that differ from a good request; the others keep
// their default member initializers. GCC 12 still warns about those.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace renderq::test {
namespace {

constexpr std::uint64_t kBodySize = std::numeric_limits<std::uint64_t>::max();  // body.size()

enum class Auth { kAlice, kNone, kUnknownToken, kBasicScheme, kEmptyBearer, kRevoked };

struct BadRequest {
  std::string name;
  std::string body = ValidScene();
  std::string method = "POST";
  std::string target = "/api/v1/jobs";  // path[?query]; {bob_job} is a job of another owner
  Auth auth = Auth::kAlice;
  std::string content_type = "application/json";
  std::optional<std::uint64_t> content_length = kBodySize;
  std::string idempotency_key;
  int status = 0;
  std::string type;
  std::vector<std::string> pointers;  // each must be reported
};

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

Json ManyMaterials(int n) {
  Json list = Json::array();
  for (int i = 0; i < n; ++i) {
    list.push_back(
        {{"name", "m" + std::to_string(i)}, {"type", "lambertian"}, {"albedo", {0.5, 0.5, 0.5}}});
  }
  return list;
}

// 4096 x 4096 pixels x 65536 samples x depth 64: days of rendering anywhere.
std::string ExpensiveScene() {
  Json scene = ValidSceneJson();
  scene["width"] = 4096;
  scene["height"] = 4096;
  scene["samples"] = 65536;
  scene["max_depth"] = 64;
  return scene.dump();
}

const std::string kUnknownId = "0b7c5d3e-8a1f-4c2b-9d6e-1f2a3b4c5d6e";

std::vector<BadRequest> BadRequests() {
  const std::string scene = ValidScene();
  // clang-format off: one request per line reads as a table
  return {
      // ---- malformed JSON: 400 with line and column
      {.name = "empty body", .body = "", .status = 400, .type = "malformed-json"},
      {.name = "truncated object",
       .body = R"({"width": 64,)",
       .status = 400,
       .type = "malformed-json"},
      {.name = "trailing comma",
       .body = R"({"width": 64,})",
       .status = 400,
       .type = "malformed-json"},
      {.name = "not JSON at all", .body = "width=64", .status = 400, .type = "malformed-json"},
      {.name = "single quotes", .body = "{'width': 64}", .status = 400, .type = "malformed-json"},
      {.name = "NaN literal", .body = R"({"width": NaN})", .status = 400, .type = "malformed-json"},
      {.name = "unterminated string",
       .body = R"({"width)",
       .status = 400,
       .type = "malformed-json"},
      {.name = "trailing garbage", .body = scene + " x", .status = 400, .type = "malformed-json"},
      {.name = "two documents", .body = scene + scene, .status = 400, .type = "malformed-json"},
      {.name = "unclosed array", .body = "[1, 2", .status = 400, .type = "malformed-json"},
      // ---- wrong shape and types: 422 with pointers
      {.name = "top level is an array",
       .body = "[]",
       .status = 422,
       .type = "invalid-scene",
       .pointers = {""}},
      {.name = "top level is a number",
       .body = "42",
       .status = 422,
       .type = "invalid-scene",
       .pointers = {""}},
      {.name = "width is a string",
       .body = SceneWith("/width", "64"),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/width"}},
      {.name = "width is fractional",
       .body = SceneWith("/width", 1.5),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/width"}},
      {.name = "samples is a boolean",
       .body = SceneWith("/samples", true),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/samples"}},
      {.name = "camera is an array",
       .body = SceneWith("/camera", Json::array()),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/camera"}},
      {.name = "materials is an object",
       .body = SceneWith("/materials", Json::object()),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/materials"}},
      {.name = "objects is null",
       .body = SceneWith("/objects", nullptr),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/objects"}},
      {.name = "position has 2 numbers",
       .body = SceneWith("/camera/position", {0, 1}),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/camera/position"}},
      {.name = "position has 4 numbers",
       .body = SceneWith("/camera/position", {0, 1, 2, 3}),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/camera/position"}},
      {.name = "albedo holds a string",
       .body = SceneWith("/materials/0/albedo/1", "x"),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/materials/0/albedo/1"}},
      // ---- out of range
      {.name = "width 0",
       .body = SceneWith("/width", 0),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/width"}},
      {.name = "width 4097",
       .body = SceneWith("/width", 4097),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/width"}},
      {.name = "height negative",
       .body = SceneWith("/height", -1),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/height"}},
      {.name = "samples 0",
       .body = SceneWith("/samples", 0),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/samples"}},
      {.name = "samples 65537",
       .body = SceneWith("/samples", 65537),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/samples"}},
      {.name = "max_depth 0",
       .body = SceneWith("/max_depth", 0),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/max_depth"}},
      {.name = "max_depth 65",
       .body = SceneWith("/max_depth", 65),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/max_depth"}},
      {.name = "seed negative",
       .body = SceneWith("/seed", -1),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/seed"}},
      {.name = "seed over uint32",
       .body = SceneWith("/seed", 4294967296LL),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/seed"}},
      {.name = "vfov 0",
       .body = SceneWith("/camera/vfov", 0),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/camera/vfov"}},
      {.name = "vfov 180",
       .body = SceneWith("/camera/vfov", 180),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/camera/vfov"}},
      {.name = "aperture negative",
       .body = SceneWith("/camera/aperture", -0.1),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/camera/aperture"}},
      {.name = "albedo over 1",
       .body = SceneWith("/materials/0/albedo/0", 1.5),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/materials/0/albedo/0"}},
      {.name = "roughness over 1",
       .body = SceneWith("/materials/1/roughness", 2),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/materials/1/roughness"}},
      {.name = "ior under 1",
       .body = SceneWith("/materials/2/ior", 0.5),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/materials/2/ior"}},
      {.name = "emission negative",
       .body = SceneWith("/materials/3/emission/2", -1),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/materials/3/emission/2"}},
      {.name = "sky zenith negative",
       .body = SceneWith("/sky/zenith/0", -0.5),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/sky/zenith/0"}},
      {.name = "radius 0",
       .body = SceneWith("/objects/0/radius", 0),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/objects/0/radius"}},
      {.name = "radius negative",
       .body = SceneWith("/objects/0/radius", -1),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/objects/0/radius"}},
      {.name = "coordinate too large",
       .body = SceneWith("/objects/0/center/0", 1e7),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/objects/0/center/0"}},
      {.name = "number beyond double",
       .body = R"({"width": 1e400})",
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/width"}},
      // ---- geometry rules
      {.name = "look_at equals position",
       .body = SceneWith("/camera/look_at", {0, 1, 5}),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/camera/look_at"}},
      {.name = "up parallel to view",
       .body = SceneWith("/camera/up", {0, -0.5, -5}),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/camera/up"}},
      {.name = "quad edge zero",
       .body = SceneWith("/objects/1/u", {0, 0, 0}),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/objects/1/u"}},
      {.name = "triangle index out of range",
       .body = SceneWith("/objects/2/triangles/0/2", 3),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/objects/2/triangles/0/2"}},
      {.name = "mesh without vertices",
       .body = SceneWith("/objects/2/vertices", Json::array()),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/objects/2/vertices"}},
      // ---- unknown keys, missing keys, references
      {.name = "unknown top-level key",
       .body = SceneWith("/colour", "red"),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/colour"}},
      {.name = "unknown key of 1 MiB (not quoted back)",
       .body = SceneWith("/" + std::string(1 << 20, 'k'), 1),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {""}},
      {.name = "unknown camera key",
       .body = SceneWith("/camera/fov", 40),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/camera/fov"}},
      {.name = "roughness on a lambertian",
       .body = SceneWith("/materials/0/roughness", 0.2),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/materials/0/roughness"}},
      {.name = "unknown object key",
       .body = SceneWith("/objects/0/colour", 1),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/objects/0/colour"}},
      {.name = "repeated key",
       .body = R"({"width": 64, "width": 64})",
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/width"}},
      {.name = "missing width",
       .body = SceneWithout("/width"),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/width"}},
      {.name = "missing camera position",
       .body = SceneWithout("/camera/position"),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/camera/position"}},
      {.name = "missing materials",
       .body = SceneWithout("/materials"),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/materials"}},
      {.name = "missing objects",
       .body = SceneWithout("/objects"),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/objects"}},
      {.name = "unknown material type",
       .body = SceneWith("/materials/0/type", "plastic"),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/materials/0/type"}},
      {.name = "unknown object type",
       .body = SceneWith("/objects/0/type", "cube"),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/objects/0/type"}},
      {.name = "dangling material",
       .body = SceneWith("/objects/0/material", "gold"),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/objects/0/material"}},
      {.name = "duplicate material name",
       .body = SceneWith("/materials/1/name", "red"),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/materials/1/name"}},
      {.name = "too many materials",
       .body = SceneWith("/materials", ManyMaterials(1001)),
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/materials"}},
      {.name = "nested too deep",
       .body = SceneWith("/sky", Json::parse(Repeat("[", 40) + Repeat("]", 40))),
       .status = 422,
       .type = "invalid-scene"},
      {.name = "several findings at once",
       .body =
           R"({"width": 0, "height": 5000, "samples": 4, "camera": {"position": [0,0,0], "look_at": [0,0,-1]}, "materials": [], "objects": [], "extra": 1})",
       .status = 422,
       .type = "invalid-scene",
       .pointers = {"/width", "/height", "/extra"}},
      // ---- cost
      {.name = "too expensive", .body = ExpensiveScene(), .status = 422, .type = "too-expensive"},
      // ---- transport: length, size, type
      {.name = "no Content-Length",
       .content_length = std::nullopt,
       .status = 411,
       .type = "length-required"},
      {.name = "body over 4 MiB",
       .body = "",
       .content_length = 4 * 1024 * 1024 + 1,
       .status = 413,
       .type = "body-too-large"},
      {.name = "Content-Length of 10 GB",
       .body = "",
       .content_length = 10'000'000'000ULL,
       .status = 413,
       .type = "body-too-large"},
      {.name = "body shorter than announced",
       .content_length = scene.size() + 10,
       .status = 400,
       .type = "malformed-body"},
      {.name = "Content-Type text/plain",
       .content_type = "text/plain",
       .status = 415,
       .type = "unsupported-media-type"},
      {.name = "no Content-Type",
       .content_type = "",
       .status = 415,
       .type = "unsupported-media-type"},
      {.name = "Content-Type form",
       .content_type = "application/x-www-form-urlencoded",
       .status = 415,
       .type = "unsupported-media-type"},
      {.name = "JSON in latin1",
       .content_type = "application/json; charset=iso-8859-1",
       .status = 415,
       .type = "unsupported-media-type"},
      {.name = "application/jsonp",
       .content_type = "application/jsonp",
       .status = 415,
       .type = "unsupported-media-type"},
      {.name = "Idempotency-Key with a space",
       .idempotency_key = "a b",
       .status = 400,
       .type = "invalid-idempotency-key"},
      {.name = "Idempotency-Key too long",
       .idempotency_key = std::string(256, 'k'),
       .status = 400,
       .type = "invalid-idempotency-key"},
      // ---- tokens
      {.name = "no token", .auth = Auth::kNone, .status = 401, .type = "unauthorized"},
      {.name = "unknown token", .auth = Auth::kUnknownToken, .status = 401, .type = "unauthorized"},
      {.name = "Basic scheme", .auth = Auth::kBasicScheme, .status = 401, .type = "unauthorized"},
      {.name = "Bearer without token",
       .auth = Auth::kEmptyBearer,
       .status = 401,
       .type = "unauthorized"},
      {.name = "revoked token", .auth = Auth::kRevoked, .status = 401, .type = "unauthorized"},
      {.name = "no token, bad body too",
       .body = "{",
       .auth = Auth::kNone,
       .status = 401,
       .type = "unauthorized"},
      {.name = "GET job without token",
       .method = "GET",
       .target = "/api/v1/jobs/{bob_job}",
       .auth = Auth::kNone,
       .status = 401,
       .type = "unauthorized"},
      {.name = "queue with unknown token",
       .method = "GET",
       .target = "/api/v1/queue",
       .auth = Auth::kUnknownToken,
       .status = 401,
       .type = "unauthorized"},
      // ---- another owner's job: 404, never 403
      {.name = "GET another owner's job",
       .method = "GET",
       .target = "/api/v1/jobs/{bob_job}",
       .status = 404,
       .type = "not-found"},
      {.name = "DELETE another owner's job",
       .method = "DELETE",
       .target = "/api/v1/jobs/{bob_job}",
       .status = 404,
       .type = "not-found"},
      {.name = "result of another owner's job",
       .method = "GET",
       .target = "/api/v1/jobs/{bob_job}/result",
       .status = 404,
       .type = "not-found"},
      {.name = "preview of another owner's job",
       .method = "GET",
       .target = "/api/v1/jobs/{bob_job}/preview",
       .status = 404,
       .type = "not-found"},
      // ---- ids
      {.name = "id not a UUID",
       .method = "GET",
       .target = "/api/v1/jobs/42",
       .status = 404,
       .type = "not-found"},
      {.name = "id with a non-hex digit",
       .method = "GET",
       .target = "/api/v1/jobs/0b7c5d3e-8a1f-4c2b-9d6e-1f2a3b4c5d6g",
       .status = 404,
       .type = "not-found"},
      {.name = "id without dashes",
       .method = "GET",
       .target = "/api/v1/jobs/0b7c5d3e8a1f4c2b9d6e1f2a3b4c5d6e",
       .status = 404,
       .type = "not-found"},
      {.name = "unknown id",
       .method = "GET",
       .target = "/api/v1/jobs/" + kUnknownId,
       .status = 404,
       .type = "not-found"},
      {.name = "DELETE unknown id",
       .method = "DELETE",
       .target = "/api/v1/jobs/" + kUnknownId,
       .status = 404,
       .type = "not-found"},
      {.name = "result of unknown id",
       .method = "GET",
       .target = "/api/v1/jobs/" + kUnknownId + "/result",
       .status = 404,
       .type = "not-found"},
      // ---- routes and methods
      {.name = "unknown route",
       .method = "GET",
       .target = "/api/v1/nope",
       .status = 404,
       .type = "not-found"},
      {.name = "unknown job subresource",
       .method = "GET",
       .target = "/api/v1/jobs/" + kUnknownId + "/logs",
       .status = 404,
       .type = "not-found"},
      {.name = "API version 2",
       .method = "GET",
       .target = "/api/v2/jobs",
       .status = 404,
       .type = "not-found"},
      {.name = "trailing slash",
       .method = "GET",
       .target = "/api/v1/jobs/",
       .status = 404,
       .type = "not-found"},
      {.name = "root", .method = "GET", .target = "/", .status = 404, .type = "not-found"},
      {.name = "PUT jobs", .method = "PUT", .status = 405, .type = "method-not-allowed"},
      {.name = "DELETE jobs collection",
       .method = "DELETE",
       .status = 405,
       .type = "method-not-allowed"},
      {.name = "POST to a job",
       .method = "POST",
       .target = "/api/v1/jobs/{bob_job}",
       .status = 405,
       .type = "method-not-allowed"},
      {.name = "PATCH a job",
       .method = "PATCH",
       .target = "/api/v1/jobs/{bob_job}",
       .status = 405,
       .type = "method-not-allowed"},
      {.name = "DELETE a result",
       .method = "DELETE",
       .target = "/api/v1/jobs/{bob_job}/result",
       .status = 405,
       .type = "method-not-allowed"},
      {.name = "POST queue",
       .method = "POST",
       .target = "/api/v1/queue",
       .status = 405,
       .type = "method-not-allowed"},
      {.name = "POST healthz",
       .method = "POST",
       .target = "/healthz",
       .status = 405,
       .type = "method-not-allowed"},
      {.name = "lowercase method",
       .method = "get",
       .target = "/api/v1/queue",
       .status = 405,
       .type = "method-not-allowed"},
      // ---- list query parameters
      {.name = "limit 0",
       .method = "GET",
       .target = "/api/v1/jobs?limit=0",
       .status = 400,
       .type = "invalid-query"},
      {.name = "limit 101",
       .method = "GET",
       .target = "/api/v1/jobs?limit=101",
       .status = 400,
       .type = "invalid-query"},
      {.name = "limit not a number",
       .method = "GET",
       .target = "/api/v1/jobs?limit=ten",
       .status = 400,
       .type = "invalid-query"},
      {.name = "limit with a sign",
       .method = "GET",
       .target = "/api/v1/jobs?limit=+5",
       .status = 400,
       .type = "invalid-query"},
      {.name = "limit empty",
       .method = "GET",
       .target = "/api/v1/jobs?limit=",
       .status = 400,
       .type = "invalid-query"},
      {.name = "unknown state",
       .method = "GET",
       .target = "/api/v1/jobs?state=done",
       .status = 400,
       .type = "invalid-query"},
      {.name = "garbage cursor",
       .method = "GET",
       .target = "/api/v1/jobs?cursor=zzz",
       .status = 400,
       .type = "invalid-query"},
      {.name = "job id as cursor",
       .method = "GET",
       .target = "/api/v1/jobs?cursor={bob_job}",
       .status = 400,
       .type = "invalid-query"},
      {.name = "unknown parameter",
       .method = "GET",
       .target = "/api/v1/jobs?owner=bob",
       .status = 400,
       .type = "invalid-query"},
      {.name = "id in the query string",
       .method = "GET",
       .target = "/api/v1/jobs?id={bob_job}",
       .status = 400,
       .type = "invalid-query"},
      {.name = "repeated limit",
       .method = "GET",
       .target = "/api/v1/jobs?limit=5&limit=6",
       .status = 400,
       .type = "invalid-query"},
      {.name = "bad percent escape",
       .method = "GET",
       .target = "/api/v1/jobs?state=%zz",
       .status = 400,
       .type = "invalid-query"},
  };
  // clang-format on
}

std::string ReplaceAll(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

BOOST_AUTO_TEST_SUITE(BadRequestTable)

BOOST_AUTO_TEST_CASE(every_bad_request_gets_its_problem_and_stores_nothing) {
  const ApiFixture f;
  const std::string bob_job = f.SubmitOk(f.bob);
  const auto carol = f.store().CreateToken("carol");
  BOOST_TEST_REQUIRE(carol.ok());
  BOOST_TEST_REQUIRE(f.store().RevokeToken("carol").ok());
  const std::int64_t rows = f.JobRows();
  BOOST_TEST_REQUIRE(rows == 1);

  const std::vector<BadRequest> table = BadRequests();
  std::set<std::string> names;
  for (const BadRequest& c : table) {
    BOOST_TEST_CONTEXT("case '" << c.name << "'") {
      BOOST_TEST(names.insert(c.name).second, "duplicate case name");
      std::string authorization;
      switch (c.auth) {
        case Auth::kAlice: authorization = Bearer(f.alice); break;
        case Auth::kNone: break;
        case Auth::kUnknownToken: authorization = Bearer("rq_not-a-token-anyone-has"); break;
        case Auth::kBasicScheme: authorization = "Basic YWxpY2U6c2VjcmV0"; break;
        case Auth::kEmptyBearer: authorization = "Bearer "; break;
        case Auth::kRevoked: authorization = Bearer(*carol); break;
      }
      HttpRequest r =
          f.Request(c.method, ReplaceAll(c.target, "{bob_job}", bob_job), authorization);
      if (c.method == "POST") {
        r.content_type = c.content_type;
        r.content_length =
            c.content_length == kBodySize ? std::optional(c.body.size()) : c.content_length;
        r.body = c.body;
        r.idempotency_key = c.idempotency_key;
      }
      const HttpResponse response = f.Call(r);
      BOOST_TEST(response.status == c.status,
                 "status " << response.status << ", body " << response.body.substr(0, 400));
      BOOST_TEST(ProblemName(response) == c.type);
      const Json body = BodyJson(response);
      BOOST_TEST(body.value("status", 0) == c.status);
      BOOST_TEST(!body.value("title", "").empty());
      BOOST_TEST(!body.value("detail", "").empty());
      for (const std::string& pointer : c.pointers) {
        BOOST_TEST(ProblemHasPointer(response, pointer),
                   "pointer '" << pointer << "' not reported: " << response.body.substr(0, 400));
      }
      BOOST_TEST(response.body.size() < 64u * 1024u, "a problem body of " << response.body.size());
      BOOST_TEST(f.JobRows() == rows, "a bad request stored a row");
    }
  }
  BOOST_TEST(table.size() >= 60u);
}

BOOST_AUTO_TEST_CASE(malformed_json_names_line_and_column) {
  const ApiFixture f;
  const HttpResponse response =
      f.Call(f.PostJob("{\n  \"width\": 64,\n  oops\n}", Bearer(f.alice)));
  BOOST_TEST(response.status == 400);
  const std::string detail = BodyJson(response).value("detail", "");
  BOOST_TEST(detail.find("line 3") != std::string::npos, detail);
  BOOST_TEST(detail.find("column") != std::string::npos, detail);
}

BOOST_AUTO_TEST_CASE(single_finding_is_named_in_detail_and_pointer) {
  const ApiFixture f;
  const HttpResponse response =
      f.Call(f.PostJob(SceneWith("/objects/0/radius", -1), Bearer(f.alice)));
  const Json body = BodyJson(response);
  BOOST_TEST(response.status == 422);
  BOOST_TEST(body.value("pointer", "") == "/objects/0/radius");
  BOOST_TEST(body.value("detail", "").find("/objects/0/radius") != std::string::npos);
  BOOST_TEST(!body.contains("errors"));
}

BOOST_AUTO_TEST_CASE(several_findings_are_all_listed) {
  const ApiFixture f;
  Json scene = ValidSceneJson();
  scene["width"] = 0;
  scene["objects"][0]["radius"] = -1;
  scene["objects"][1]["material"] = "gold";
  const HttpResponse response = f.Call(f.PostJob(scene.dump(), Bearer(f.alice)));
  const Json body = BodyJson(response);
  BOOST_TEST(response.status == 422);
  BOOST_TEST_REQUIRE(body.contains("errors"));
  BOOST_TEST(body["errors"].size() == 3u);
  for (const char* p : {"/width", "/objects/0/radius", "/objects/1/material"}) {
    BOOST_TEST(ProblemHasPointer(response, p), p);
  }
}

BOOST_AUTO_TEST_CASE(unauthorized_asks_for_a_bearer_token) {
  const ApiFixture f;
  const HttpResponse none = f.Call(f.Request("GET", "/api/v1/jobs", ""));
  BOOST_TEST(none.status == 401);
  BOOST_TEST_REQUIRE(none.FindHeader("WWW-Authenticate") != nullptr);
  BOOST_TEST(none.FindHeader("WWW-Authenticate")->starts_with("Bearer"));
  const HttpResponse wrong = f.Call(f.Request("GET", "/api/v1/jobs", Bearer("rq_nope")));
  BOOST_TEST(wrong.status == 401);
  BOOST_TEST_REQUIRE(wrong.FindHeader("WWW-Authenticate") != nullptr);
  BOOST_TEST(wrong.FindHeader("WWW-Authenticate")->find("invalid_token") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(method_not_allowed_lists_the_allowed_ones) {
  const ApiFixture f;
  struct Row {
    const char* method;
    const char* path;
    const char* allow;
  };
  for (const Row& row :
       {Row{"PUT", "/api/v1/jobs", "GET, HEAD, POST"},
        Row{"POST",
            "/api/v1/jobs/"
            "0b7c5d3e-8a1f-4c2b-9d6e-1f2a3b4c5d6e",
            "GET, HEAD, DELETE"},
        Row{"DELETE", "/api/v1/queue", "GET, HEAD"}, Row{"POST", "/metrics", "GET, HEAD"}}) {
    const HttpResponse response = f.Call(f.Request(row.method, row.path, Bearer(f.alice)));
    BOOST_TEST(response.status == 405);
    BOOST_TEST_REQUIRE(response.FindHeader("Allow") != nullptr);
    BOOST_TEST(*response.FindHeader("Allow") == row.allow);
  }
}

BOOST_AUTO_TEST_CASE(problem_types_are_urns_with_their_status) {
  for (int t = 0; t <= static_cast<int>(ProblemType::kStorageUnavailable); ++t) {
    const auto type = static_cast<ProblemType>(t);
    const HttpResponse response = MakeProblem(type, "detail");
    BOOST_TEST(response.status == ProblemStatus(type));
    BOOST_TEST(BodyJson(response)["type"] ==
               "urn:renderq:problem:" + std::string(ProblemName(type)));
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq::test
