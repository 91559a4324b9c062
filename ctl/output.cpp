#include "ctl/output.h"

#include <iomanip>
#include <string>

#include <nlohmann/json.hpp>

namespace renderq {
namespace {

using nlohmann::json;

std::string OrDash(const std::optional<TimeMs>& t) { return t ? FormatTimestamp(*t) : "-"; }

json WorkerToJson(const WorkerInfo& w) {
  return {{"name", w.name},
          {"device", w.device},
          {"fallback", w.fallback},
          {"pid", w.pid},
          {"heartbeat_at", FormatTimestamp(w.heartbeat_at)},
          {"current_job", w.current_job ? json(*w.current_job) : json(nullptr)},
          {"units_per_second", w.units_per_second}};
}

void PrintJobRow(const Job& job, std::ostream& out) {
  out << std::left << std::setw(38) << job.id << std::setw(11) << JobStateName(job.state)
      << std::setw(6) << (job.position ? std::to_string(*job.position) : "-") << std::setw(5)
      << job.attempts << std::setw(6) << static_cast<int>(job.progress * 100 + 0.5) << std::setw(26)
      << FormatTimestamp(job.created_at) << std::setw(10) << job.kind;
  if (job.scene) out << job.scene->width << "x" << job.scene->height << "x" << job.scene->samples;
  out << "\n";
}

void PrintJobHeader(std::ostream& out) {
  out << std::left << std::setw(38) << "ID" << std::setw(11) << "STATE" << std::setw(6) << "POS"
      << std::setw(5) << "ATT" << std::setw(6) << "PCT" << std::setw(26) << "CREATED"
      << std::setw(10) << "KIND" << "SIZE\n";
}

}  // namespace

void PrintJob(const Job& job, OutputFormat format, std::ostream& out) {
  const json j = JobToJson(job);
  if (format == OutputFormat::kJson) {
    out << j.dump() << "\n";
    return;
  }
  for (const auto& [key, value] : j.items()) {
    if (key == "links") continue;
    out << std::left << std::setw(20) << key
        << (value.is_string() ? value.get<std::string>() : value.dump()) << "\n";
  }
}

void PrintJobs(const std::vector<Job>& jobs, OutputFormat format, std::ostream& out) {
  if (format == OutputFormat::kJson) {
    json list = json::array();
    for (const Job& job : jobs) list.push_back(JobToJson(job));
    out << json{{"jobs", list}}.dump() << "\n";
    return;
  }
  PrintJobHeader(out);
  for (const Job& job : jobs) PrintJobRow(job, out);
}

void PrintTokens(const std::vector<TokenInfo>& tokens, OutputFormat format, std::ostream& out) {
  if (format == OutputFormat::kJson) {
    json list = json::array();
    for (const TokenInfo& t : tokens) {
      list.push_back(
          {{"name", t.name},
           {"created_at", FormatTimestamp(t.created_at)},
           {"revoked_at", t.revoked_at ? json(FormatTimestamp(*t.revoked_at)) : json(nullptr)}});
    }
    out << json{{"tokens", list}}.dump() << "\n";
    return;
  }
  out << std::left << std::setw(24) << "NAME" << std::setw(26) << "CREATED"
      << "REVOKED\n";
  for (const TokenInfo& t : tokens) {
    out << std::left << std::setw(24) << t.name << std::setw(26) << FormatTimestamp(t.created_at)
        << OrDash(t.revoked_at) << "\n";
  }
}

void PrintQueue(const QueueSnapshot& queue, OutputFormat format, std::ostream& out) {
  if (format == OutputFormat::kJson) {
    json running = json::array();
    for (const Job& job : queue.running) running.push_back(JobToJson(job));
    json workers = json::array();
    for (const WorkerInfo& w : queue.workers) workers.push_back(WorkerToJson(w));
    out << json{{"queued", queue.queued},
                {"running", running},
                {"workers", workers},
                {"estimated_wait_seconds", queue.estimated_wait_seconds}}
               .dump()
        << "\n";
    return;
  }
  out << "queued:          " << queue.queued << "\n"
      << "running:         " << queue.running.size() << "\n"
      << "estimated wait:  " << std::fixed << std::setprecision(1) << queue.estimated_wait_seconds
      << " s\n"
      << "workers:         " << queue.workers.size() << "\n";
  for (const WorkerInfo& w : queue.workers) {
    out << "  " << w.name << "  " << w.device << (w.fallback ? " (CPU fallback)" : "") << "  pid "
        << w.pid << "  heartbeat " << FormatTimestamp(w.heartbeat_at) << "  job "
        << w.current_job.value_or("-") << "\n";
  }
  if (!queue.running.empty()) {
    out << "\n";
    PrintJobs(queue.running, format, out);
  }
}

}  // namespace renderq
