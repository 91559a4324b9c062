// How renderqctl shows jobs, tokens and the queue: aligned text for people,
// one JSON document (the API's shapes) with --json for scripts.
// Thread-safe: pure functions writing to the given stream.
#pragma once

#include <ostream>
#include <vector>

#include "core/model/job.h"
#include "core/store/job_store.h"

namespace renderq {

enum class OutputFormat { kText, kJson };

void PrintJob(const Job& job, OutputFormat format, std::ostream& out);
void PrintJobs(const std::vector<Job>& jobs, OutputFormat format, std::ostream& out);
void PrintTokens(const std::vector<TokenInfo>& tokens, OutputFormat format, std::ostream& out);
void PrintQueue(const QueueSnapshot& queue, OutputFormat format, std::ostream& out);

}  // namespace renderq
