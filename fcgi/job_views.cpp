#include "fcgi/job_views.h"

#include <cmath>

namespace renderq {

using Json = nlohmann::json;

Json WorkersJson(const std::vector<WorkerInfo>& workers, TimeMs now) {
  Json list = Json::array();
  for (const WorkerInfo& w : workers) {
    list.push_back({
        {"name", w.name},
        {"device", w.device},
        {"fallback", w.fallback},
        {"busy", w.current_job.has_value()},
        {"heartbeat_age_seconds", static_cast<double>(now - w.heartbeat_at) / 1000.0},
        {"units_per_second", w.units_per_second},
    });
  }
  return list;
}

Json RunningJobJson(const Job& job, std::int64_t viewer_id) {
  Json out = {
      {"id", job.owner_id == viewer_id ? Json(job.id) : Json(nullptr)},
      {"mine", job.owner_id == viewer_id},
      {"progress", job.progress},
      {"started_at", job.started_at ? Json(FormatTimestamp(*job.started_at)) : Json(nullptr)},
      {"eta_seconds", job.eta_seconds ? Json(*job.eta_seconds) : Json(nullptr)},
      {"kind", job.kind},
  };
  if (job.scene) {
    out["width"] = job.scene->width;
    out["height"] = job.scene->height;
    out["samples"] = job.scene->samples;
  }
  return out;
}

Json JobFingerprint(Json job) {
  if (job.value("state", "") == "running") job.erase("eta_seconds");
  return job;
}

Json QueueFingerprint(Json queue) {
  for (Json& w : queue["workers"]) {
    w["heartbeat_age_seconds"] = std::floor(w["heartbeat_age_seconds"].get<double>() / 10.0);
  }
  for (Json& job : queue["running"]) job.erase("eta_seconds");
  return queue;
}

}  // namespace renderq
