#include "fcgi/metrics.h"

#include <charconv>
#include <cmath>
#include <string_view>

namespace renderq {

namespace {

// Label values escape backslash, double quote and newline (exposition format).
void AppendLabelValue(std::string& out, std::string_view value) {
  for (const char c : value) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
}

// Shortest text that reads back as the same double ("0.05", not
// "0.050000000000000003"); infinities and NaN as the exposition format spells them.
void AppendNumber(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buffer[32];
    const std::to_chars_result r = std::to_chars(buffer, buffer + sizeof buffer, v);
    out.append(buffer, r.ptr);
  }
}

void AppendHeader(std::string& out, std::string_view name, std::string_view type,
                  std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

// "cuda:0 NVIDIA H100" -> "cuda", "cpu" -> "cpu".
std::string_view Backend(std::string_view device) {
  const std::size_t end = device.find_first_of(": ");
  return device.substr(0, end);
}

// One gauge with a sample per worker, labelled by the worker's name.
template <typename Value>
void AppendWorkerGauge(std::string& out, const char* name, const char* help,
                       const std::vector<WorkerInfo>& workers, Value value) {
  AppendHeader(out, name, "gauge", help);
  for (const WorkerInfo& w : workers) {
    out += name;
    out += "{worker=\"";
    AppendLabelValue(out, w.name);
    out += "\"} ";
    AppendNumber(out, value(w));
    out += '\n';
  }
}

void AppendWorkerMetrics(std::string& out, const std::vector<WorkerInfo>& workers, TimeMs now) {
  AppendWorkerGauge(
      out, "renderq_worker_heartbeat_age_seconds", "Seconds since the worker's last heartbeat.",
      workers,
      [now](const WorkerInfo& w) { return static_cast<double>(now - w.heartbeat_at) / 1000.0; });
  AppendHeader(out, "renderq_worker_info", "gauge",
               "Worker backend and device (value 1); fallback=1: asked for a GPU, on the CPU.");
  for (const WorkerInfo& w : workers) {
    out += "renderq_worker_info{worker=\"";
    AppendLabelValue(out, w.name);
    out += "\",backend=\"";
    AppendLabelValue(out, Backend(w.device));
    out += "\",device=\"";
    AppendLabelValue(out, w.device);
    out += "\",fallback=\"";
    out += w.fallback ? "1" : "0";
    out += "\",kinds=\"";
    for (std::size_t i = 0; i < w.kinds.size(); ++i) {
      if (i > 0) out += ',';
      AppendLabelValue(out, w.kinds[i]);
    }
    out += "\"} 1\n";
  }
  AppendWorkerGauge(out, "renderq_worker_units_per_second",
                    "Worker's last measured throughput in cost units per second.", workers,
                    [](const WorkerInfo& w) { return w.units_per_second; });
}

void AppendJobStats(std::string& out, const JobStats& stats, const std::vector<double>& bounds) {
  AppendHeader(out, "renderq_jobs", "gauge", "Jobs in the database by state.");
  for (std::size_t s = 0; s < stats.by_state.size(); ++s) {
    out += "renderq_jobs{state=\"";
    out += JobStateName(static_cast<JobState>(s));
    out += "\"} " + std::to_string(stats.by_state[s]) + '\n';
  }
  AppendHeader(out, "renderq_render_duration_seconds", "histogram",
               "Render time of the jobs that succeeded in the last hour.");
  for (std::size_t i = 0; i < bounds.size() && i < stats.le.size(); ++i) {
    out += "renderq_render_duration_seconds_bucket{le=\"";
    AppendNumber(out, bounds[i]);
    out += "\"} " + std::to_string(stats.le[i]) + '\n';
  }
  out +=
      "renderq_render_duration_seconds_bucket{le=\"+Inf\"} " + std::to_string(stats.count) + '\n';
  out += "renderq_render_duration_seconds_sum ";
  AppendNumber(out, stats.sum_seconds);
  out += "\nrenderq_render_duration_seconds_count " + std::to_string(stats.count) + '\n';
  // The same figures by job kind (SPEC "Your own GPU program: job kinds").
  AppendHeader(out, "renderq_kind_jobs", "gauge", "Jobs in the database by kind and state.");
  for (const auto& [kind, k] : stats.kinds) {
    for (std::size_t s = 0; s < k.by_state.size(); ++s) {
      out += "renderq_kind_jobs{kind=\"";
      AppendLabelValue(out, kind);
      out += "\",state=\"";
      out += JobStateName(static_cast<JobState>(s));
      out += "\"} " + std::to_string(k.by_state[s]) + '\n';
    }
  }
  AppendHeader(out, "renderq_kind_run_seconds", "summary",
               "Run time of the jobs of each kind that succeeded in the last hour.");
  for (const auto& [kind, k] : stats.kinds) {
    out += "renderq_kind_run_seconds_sum{kind=\"";
    AppendLabelValue(out, kind);
    out += "\"} ";
    AppendNumber(out, k.sum_seconds);
    out += "\nrenderq_kind_run_seconds_count{kind=\"";
    AppendLabelValue(out, kind);
    out += "\"} " + std::to_string(k.succeeded) + '\n';
  }
}

}  // namespace

const std::vector<double>& Metrics::RenderBuckets() {
  // From a tiny preview (50 ms) to an hour-long render.
  static const std::vector<double> kBuckets = {0.05, 0.1, 0.25, 0.5, 1,   2.5,  5,   10,
                                               30,   60,  120,  300, 600, 1800, 3600};
  return kBuckets;
}

const char* SubmitResultName(SubmitResult result) {
  switch (result) {
    case SubmitResult::kCreated: return "created";
    case SubmitResult::kReplayed: return "replayed";
    case SubmitResult::kRejected: return "rejected";
    case SubmitResult::kKeyConflict: return "key_conflict";
    case SubmitResult::kOwnerQueueFull: return "owner_queue_full";
    case SubmitResult::kQueueFull: return "queue_full";
    case SubmitResult::kStorageError: return "storage_error";
    case SubmitResult::kCount: break;
  }
  return "unknown";
}

void Metrics::CountResponse(int status) {
  if (status < kMinStatus || status > kMaxStatus) return;
  responses_[static_cast<std::size_t>(status - kMinStatus)].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::CountSubmit(SubmitResult result) {
  submits_[static_cast<std::size_t>(result)].fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t Metrics::Responses(int status) const {
  if (status < kMinStatus || status > kMaxStatus) return 0;
  return responses_[static_cast<std::size_t>(status - kMinStatus)].load(std::memory_order_relaxed);
}

std::uint64_t Metrics::Submits(SubmitResult result) const {
  return submits_[static_cast<std::size_t>(result)].load(std::memory_order_relaxed);
}

std::string Metrics::Scrape(JobStore& store, TimeMs now) const {
  Result<QueueSnapshot> queue = store.Queue();
  Result<JobStats> stats = store.Stats(now - kRenderWindowMs, RenderBuckets());
  return Render(queue.ok() ? &*queue : nullptr, stats.ok() ? &*stats : nullptr, now);
}

std::string Metrics::Render(const QueueSnapshot* queue, const JobStats* stats, TimeMs now) const {
  std::string out;
  out.reserve(4096);
  AppendHeader(out, "renderq_http_responses_total", "counter",
               "Responses of this responder process by HTTP status code.");
  for (int status = kMinStatus; status <= kMaxStatus; ++status) {
    const std::uint64_t n = Responses(status);
    if (n == 0) continue;
    out += "renderq_http_responses_total{code=\"" + std::to_string(status) + "\"} ";
    out += std::to_string(n);
    out += '\n';
  }
  AppendHeader(out, "renderq_submits_total", "counter",
               "POST /api/v1/jobs requests of this responder process by outcome.");
  for (int r = 0; r < static_cast<int>(SubmitResult::kCount); ++r) {
    const auto result = static_cast<SubmitResult>(r);
    out += "renderq_submits_total{outcome=\"";
    out += SubmitResultName(result);
    out += "\"} ";
    out += std::to_string(Submits(result));
    out += '\n';
  }
  const bool db_up = queue != nullptr && stats != nullptr;
  AppendHeader(out, "renderq_db_up", "gauge", "1 when the database could be read for this scrape.");
  out += db_up ? "renderq_db_up 1\n" : "renderq_db_up 0\n";
  if (!db_up) return out;

  AppendJobStats(out, *stats, RenderBuckets());
  AppendHeader(out, "renderq_queue_estimated_wait_seconds", "gauge",
               "Predicted seconds until every queued job is done.");
  out += "renderq_queue_estimated_wait_seconds ";
  AppendNumber(out, queue->estimated_wait_seconds);
  out += '\n';
  AppendWorkerMetrics(out, queue->workers, now);
  return out;
}

}  // namespace renderq
