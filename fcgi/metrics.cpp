#include "fcgi/metrics.h"

#include <cstdio>
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

void AppendNumber(std::string& out, double v) {
  char buffer[32];
  const int n = std::snprintf(buffer, sizeof buffer, "%.17g", v);
  out.append(buffer, static_cast<std::size_t>(n));
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

void AppendWorkerMetrics(std::string& out, const std::vector<WorkerInfo>& workers, TimeMs now) {
  AppendHeader(out, "renderq_worker_heartbeat_age_seconds", "gauge",
               "Seconds since the worker's last heartbeat.");
  for (const WorkerInfo& w : workers) {
    out += "renderq_worker_heartbeat_age_seconds{worker=\"";
    AppendLabelValue(out, w.name);
    out += "\"} ";
    AppendNumber(out, static_cast<double>(now - w.heartbeat_at) / 1000.0);
    out += '\n';
  }
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
    out += "\"} 1\n";
  }
  AppendHeader(out, "renderq_worker_units_per_second", "gauge",
               "Worker's last measured throughput in cost units per second.");
  for (const WorkerInfo& w : workers) {
    out += "renderq_worker_units_per_second{worker=\"";
    AppendLabelValue(out, w.name);
    out += "\"} ";
    AppendNumber(out, w.units_per_second);
    out += '\n';
  }
}

}  // namespace

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

std::string Metrics::Render(const QueueSnapshot* queue, TimeMs now) const {
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
  AppendHeader(out, "renderq_db_up", "gauge", "1 when the database could be read for this scrape.");
  out += queue != nullptr ? "renderq_db_up 1\n" : "renderq_db_up 0\n";
  if (queue == nullptr) return out;

  AppendHeader(out, "renderq_jobs", "gauge", "Jobs in the queue by state.");
  out += "renderq_jobs{state=\"queued\"} " + std::to_string(queue->queued) + '\n';
  out += "renderq_jobs{state=\"running\"} " + std::to_string(queue->running.size()) + '\n';
  AppendHeader(out, "renderq_queue_estimated_wait_seconds", "gauge",
               "Predicted seconds until every queued job is done.");
  out += "renderq_queue_estimated_wait_seconds ";
  AppendNumber(out, queue->estimated_wait_seconds);
  out += '\n';
  AppendWorkerMetrics(out, queue->workers, now);
  return out;
}

}  // namespace renderq
