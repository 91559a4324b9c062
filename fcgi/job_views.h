// How the responder shows the queue's parts as JSON beyond the job object
// itself (JobToJson, core/model/job.h): the workers, another owner's running
// job, and the fingerprints that conditional GETs tag.
//
// Thread-safe: pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/store/job_store.h"

namespace renderq {

nlohmann::json WorkersJson(const std::vector<WorkerInfo>& workers, TimeMs now);

// A running job as /queue shows it: only its owner sees its id.
nlohmann::json RunningJobJson(const Job& job, std::int64_t viewer_id);

// What a job's ETag is computed from: the job as shown, less a running job's
// ETA, which moves with the clock between two progress reports (the progress,
// which the ETA follows from, stays in).
nlohmann::json JobFingerprint(nlohmann::json job);

// What the queue's ETag is computed from: the queue as shown, less the clock's
// share. A heartbeat's age counts only in 10 s steps (a live worker stays in the
// first step between heartbeats; a stale one moves on), a running job's ETA not
// at all (its progress stays in).
nlohmann::json QueueFingerprint(nlohmann::json queue);

}  // namespace renderq
