// What the fcgi tests share: an Api over a real SQLite store on a fresh temp
// file, two owners with tokens, request builders and a row counter that reads
// the database through its own sqlite3 connection.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/model/clock.h"
#include "core/model/cost_model.h"
#include "core/store/open_job_store.h"
#include "fcgi/api.h"
#include "fcgi/http.h"
#include "fcgi/metrics.h"

namespace renderq::test {

using Json = nlohmann::json;

// A fresh directory from mkdtemp(3), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A small valid scene (SPEC's format, every material and object kind) as JSON.
Json ValidSceneJson();
std::string ValidScene();
// ValidSceneJson() with the value at `pointer` replaced (or added).
std::string SceneWith(std::string_view pointer, const Json& value);
// ValidSceneJson() without the value at `pointer`.
std::string SceneWithout(std::string_view pointer);

std::string Bearer(std::string_view token);

// The response body as JSON; a failed test check (and null) when it is not JSON.
Json BodyJson(const HttpResponse& response);
// "urn:renderq:problem:<name>" -> "<name>"; "" when the body is no problem.
std::string ProblemName(const HttpResponse& response);
// True when `pointer` is the problem's `pointer` or one of its errors' pointers.
bool ProblemHasPointer(const HttpResponse& response, std::string_view pointer);

// The limits renderq-fcgi runs with by default (SPEC's).
inline QueueLimits ResponderLimits() {
  QueueLimits limits;
  limits.max_render_seconds = kDefaultMaxRenderSeconds;
  return limits;
}

struct ApiFixtureOptions {
  QueueLimits limits = ResponderLimits();
  ApiOptions api;
};

class ApiFixture {
 public:
  ApiFixture() : ApiFixture(ApiFixtureOptions{}) {}
  explicit ApiFixture(ApiFixtureOptions options);

  HttpResponse Call(const HttpRequest& request) const { return api_->Handle(request); }

  // POST /api/v1/jobs with a JSON body, `authorization` as the header's value.
  HttpRequest PostJob(std::string body, std::string authorization) const;
  HttpRequest Request(std::string method, std::string path, std::string authorization) const;
  // Submits ValidScene() (or `body`) as `token`'s owner; the new job's id.
  std::string SubmitOk(const std::string& token, std::string body = ValidScene()) const;

  // SELECT count(*) FROM jobs, through a separate read-only connection.
  std::int64_t JobRows() const;

  const std::string& db_path() const { return db_path_; }
  // The Api's results_dir: an empty directory inside the fixture's temp dir.
  const std::string& results_dir() const { return results_dir_; }
  JobStore& store() const { return *store_; }
  const Metrics& metrics() const { return metrics_; }

  std::string alice;  // tokens
  std::string bob;

 private:
  TempDir dir_;
  std::string db_path_;
  std::string results_dir_;
  std::unique_ptr<JobStore> store_;
  Metrics metrics_;
  std::unique_ptr<Api> api_;
};

}  // namespace renderq::test
