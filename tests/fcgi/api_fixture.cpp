#include "tests/fcgi/api_fixture.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>

#include <boost/test/unit_test.hpp>

namespace renderq::test {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "renderq-fcgi-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

Json ValidSceneJson() {
  return Json::parse(R"({
    "width": 64, "height": 48, "samples": 4, "max_depth": 4, "seed": 7,
    "camera": {"position": [0, 1, 5], "look_at": [0, 0.5, 0], "up": [0, 1, 0],
               "vfov": 40, "aperture": 0.0, "focus_distance": 5.0},
    "sky": {"horizon": [1, 1, 1], "zenith": [0.5, 0.7, 1.0]},
    "materials": [
      {"name": "red",   "type": "lambertian", "albedo": [0.8, 0.1, 0.1]},
      {"name": "steel", "type": "metal", "albedo": [0.8, 0.8, 0.8], "roughness": 0.1},
      {"name": "glass", "type": "dielectric", "ior": 1.5},
      {"name": "lamp",  "type": "emissive", "emission": [8, 8, 8]}
    ],
    "objects": [
      {"type": "sphere", "center": [0, 0.5, 0], "radius": 0.5, "material": "red"},
      {"type": "quad", "corner": [-5, 0, -5], "u": [10, 0, 0], "v": [0, 0, 10], "material": "steel"},
      {"type": "mesh", "vertices": [[0,0,0], [1,0,0], [0,1,0]], "triangles": [[0, 1, 2]],
       "material": "glass"}
    ]
  })");
}

std::string ValidScene() { return ValidSceneJson().dump(); }

std::string SceneWith(std::string_view pointer, const Json& value) {
  Json scene = ValidSceneJson();
  scene[Json::json_pointer(std::string(pointer))] = value;
  return scene.dump();
}

std::string SceneWithout(std::string_view pointer) {
  const Json::json_pointer p{std::string(pointer)};
  Json scene = ValidSceneJson();
  Json& parent = scene[p.parent_pointer()];
  if (parent.is_array()) {
    parent.erase(static_cast<std::size_t>(std::stoul(p.back())));
  } else {
    parent.erase(p.back());
  }
  return scene.dump();
}

std::string Bearer(std::string_view token) { return "Bearer " + std::string(token); }

Json BodyJson(const HttpResponse& response) {
  Json body = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  BOOST_TEST(!body.is_discarded(), "body is not JSON: " << response.body);
  return body.is_discarded() ? Json() : body;
}

std::string ProblemName(const HttpResponse& response) {
  const std::string* type = response.FindHeader("Content-Type");
  if (type == nullptr || *type != "application/problem+json") return "";
  const Json body = BodyJson(response);
  if (!body.is_object() || !body.contains("type") || !body["type"].is_string()) return "";
  const std::string uri = body["type"];
  constexpr std::string_view kPrefix = "urn:renderq:problem:";
  return uri.starts_with(kPrefix) ? uri.substr(kPrefix.size()) : "";
}

bool ProblemHasPointer(const HttpResponse& response, std::string_view pointer) {
  const Json body = BodyJson(response);
  if (!body.is_object()) return false;
  if (body.contains("pointer") && body["pointer"] == pointer) return true;
  if (!body.contains("errors")) return false;
  for (const Json& e : body["errors"]) {
    if (e.contains("pointer") && e["pointer"] == pointer) return true;
  }
  return false;
}

ApiFixture::ApiFixture(ApiFixtureOptions options) {
  db_path_ = dir_.path() + "/queue.db";
  results_dir_ = dir_.path() + "/results";
  std::filesystem::create_directory(results_dir_);
  StoreOptions store_options;
  store_options.rules.limits = options.limits;
  store_options.results_dir = results_dir_;
  auto store = OpenJobStore(db_path_, store_options);
  if (!store.ok()) throw std::runtime_error("open store: " + store.status().ToString());
  store_ = std::move(store).value();
  auto a = store_->CreateToken("alice");
  auto b = store_->CreateToken("bob");
  if (!a.ok() || !b.ok()) throw std::runtime_error("create tokens failed");
  alice = *a;
  bob = *b;
  api_ = std::make_unique<Api>(store_.get(), &metrics_, SystemClock::Instance(), options.api);
}

HttpRequest ApiFixture::PostJob(std::string body, std::string authorization) const {
  HttpRequest r = Request("POST", "/api/v1/jobs", std::move(authorization));
  r.content_type = "application/json";
  r.content_length = body.size();
  r.body = std::move(body);
  return r;
}

HttpRequest ApiFixture::Request(std::string method, std::string path,
                                std::string authorization) const {
  HttpRequest r;
  r.method = std::move(method);
  const std::size_t q = path.find('?');
  if (q != std::string::npos) {
    r.query = path.substr(q + 1);
    path.resize(q);
  }
  r.path = std::move(path);
  r.authorization = std::move(authorization);
  r.remote_addr = "127.0.0.1";
  return r;
}

std::string ApiFixture::SubmitOk(const std::string& token, std::string body) const {
  const HttpResponse response = Call(PostJob(std::move(body), Bearer(token)));
  BOOST_TEST_REQUIRE(response.status == 201,
                     "submit answered " << response.status << ": " << response.body);
  return BodyJson(response)["id"].get<std::string>();
}

std::int64_t ApiFixture::JobRows() const {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(db_path_.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, &sqlite3_close);
  if (rc != SQLITE_OK) throw std::runtime_error("sqlite3_open_v2 failed");
  sqlite3_stmt* raw_stmt = nullptr;
  if (sqlite3_prepare_v2(db.get(), "SELECT count(*) FROM jobs", -1, &raw_stmt, nullptr) !=
      SQLITE_OK) {
    throw std::runtime_error(sqlite3_errmsg(db.get()));
  }
  std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(raw_stmt, &sqlite3_finalize);
  if (sqlite3_step(stmt.get()) != SQLITE_ROW) throw std::runtime_error(sqlite3_errmsg(db.get()));
  return sqlite3_column_int64(stmt.get(), 0);
}

}  // namespace renderq::test
