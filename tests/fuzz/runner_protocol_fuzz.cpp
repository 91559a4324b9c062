// libFuzzer target: the worker's reader of runner output (worker/runner_protocol.h)
// on arbitrary bytes, fed in pieces of arbitrary sizes as a pipe delivers them.
// It must never crash, hang or hold more than one line's worth of bytes, and
// what it accepts must keep the protocol's promises: every line within 1 MiB,
// every message one of SPEC's, a failure code [a-z][a-z0-9_]{0,39}, progress in
// 0..1. Every reason it gives must go into a log line and a job's error as it is.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "worker/runner_protocol.h"

namespace {

void Require(bool condition) {
  if (!condition) std::abort();
}

void CheckMessage(const renderq::RunnerMessage& message) {
  if (auto* p = std::get_if<renderq::RunnerProgress>(&message)) {
    Require(p->fraction >= 0.0 && p->fraction <= 1.0);
  } else if (auto* f = std::get_if<renderq::RunnerFailed>(&message)) {
    Require(renderq::IsValidFailureCode(f->code));
    (void)nlohmann::json({{"message", f->message}}).dump();  // valid UTF-8
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte sets the size of the pieces the "pipe" delivers.
  const std::size_t piece = 1 + (data[0] % 64) * (data[0] % 64);
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  renderq::RunnerLineReader reader;
  bool broken = false;
  while (!rest.empty() && !broken) {
    std::string_view chunk = rest.substr(0, piece);
    rest.remove_prefix(chunk.size());
    reader.Feed(chunk);
    for (;;) {
      auto line = reader.Next();
      if (!line.ok()) {
        broken = true;
        (void)nlohmann::json({{"reason", line.status().message()}}).dump();
        break;
      }
      if (!line.value()) break;
      Require(line.value()->size() <= renderq::kMaxRunnerLineBytes);
      Require(line.value()->find('\n') == std::string::npos);
      auto message = renderq::ParseRunnerMessage(*line.value());
      if (message.ok()) {
        CheckMessage(message.value());
      } else {
        (void)nlohmann::json({{"reason", message.status().message()}}).dump(
            -1, ' ', false, nlohmann::json::error_handler_t::strict);
      }
    }
    Require(reader.pending() <= renderq::kMaxRunnerLineBytes + 64 * 64);
  }
  return 0;
}
