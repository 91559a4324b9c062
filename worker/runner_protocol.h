// The runner protocol, the worker's side (SPEC "Your own GPU program: job
// kinds"; docs/kinds.md): the messages a runner may send, parsed strictly
// from its lines, and the lines the worker sends.
//
// A line is at most kMaxRunnerLineBytes before its '\n', UTF-8, one JSON
// object with exactly one key (no duplicate keys anywhere). Anything else is a
// protocol break. RunnerLineReader frames a byte stream into such lines and
// never holds more than one line's worth of bytes.
//
// Pure functions and a small value class: no I/O, thread-compatible.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "core/model/status.h"

namespace renderq {

inline constexpr std::size_t kMaxRunnerLineBytes = std::size_t{1} << 20;

struct RunnerReady {};
struct RunnerProgress {
  double fraction = 0;  // 0..1
};
struct RunnerPreview {
  std::string file;  // as the runner sent it: ReadRunnerFile() decides if it is usable
};
struct RunnerCheckpoint {
  std::string file;
};
struct RunnerDone {
  std::string file;
};
struct RunnerFailed {
  std::string code;  // [a-z][a-z0-9_]{0,39}
  std::string message;
  bool retry = false;
};
using RunnerMessage = std::variant<RunnerReady, RunnerProgress, RunnerPreview, RunnerCheckpoint,
                                   RunnerDone, RunnerFailed>;

// One line from a runner (without its '\n') -> its message. kInvalidArgument
// with a short reason ("not JSON at byte 12", "unknown message \"hello\"") for
// anything that is not exactly one of the protocol's messages.
Result<RunnerMessage> ParseRunnerMessage(std::string_view line);

// Whether `code` may be a `failed` code: [a-z][a-z0-9_]{0,39}.
bool IsValidFailureCode(std::string_view code);

// The worker's lines, '\n' included.
std::string RunnerJobLine(const std::string& job_id, const nlohmann::json& input,
                          const std::string& dir, const std::optional<std::string>& checkpoint);
std::string RunnerCancelLine(const std::string& job_id);
std::string RunnerCheckpointSavedLine(const std::string& file);

// Frames bytes read from a runner's stdout into lines.
class RunnerLineReader {
 public:
  // Appends bytes as read from the pipe.
  void Feed(std::string_view bytes);
  // The next complete line (without '\n'), nullopt when none is complete yet;
  // kInvalidArgument once the pending line is over kMaxRunnerLineBytes (the
  // reader is then broken for good: the runner must be killed).
  Result<std::optional<std::string>> Next();
  // Bytes received that are not yet a complete line.
  std::size_t pending() const { return buffer_.size() - start_; }

 private:
  std::string buffer_;
  std::size_t start_ = 0;
  std::size_t scanned_ = 0;  // bytes from start_ known to hold no '\n'
  bool broken_ = false;
};

}  // namespace renderq
