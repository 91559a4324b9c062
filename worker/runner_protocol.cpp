#include "worker/runner_protocol.h"

#include <cmath>
#include <set>
#include <vector>

namespace renderq {
namespace {

using nlohmann::json;

// The JSON parse with duplicate keys refused, at any depth: nlohmann keeps the
// last of two equal keys silently, which would let a runner's message mean
// two things.
Result<json> ParseStrictJson(std::string_view line) {
  std::vector<std::set<std::string>> keys;
  bool duplicate = false;
  std::string duplicate_key;
  json::parser_callback_t callback = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start: keys.emplace_back(); break;
      case json::parse_event_t::key:
        if (!keys.empty() && !keys.back().insert(parsed.get<std::string>()).second) {
          duplicate = true;
          duplicate_key = parsed.get<std::string>();
        }
        break;
      case json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      default: break;
    }
    return true;
  };
  json value;
  try {
    value = json::parse(line.begin(), line.end(), callback);
  } catch (const json::parse_error& e) {
    return Status::InvalidArgument("not JSON at byte " + std::to_string(e.byte));
  } catch (const json::exception& e) {  // a number out of range, for one
    return Status::InvalidArgument(std::string("not JSON: ") + e.what());
  }
  if (duplicate) return Status::InvalidArgument("duplicate key \"" + duplicate_key + "\"");
  return value;
}

// A FILE is any string here: whether it names a regular file inside DIR is
// the reader's question (a wrong one fails the job with runner_file, which
// is not a protocol break).
Result<std::string> FileField(const json& value, const char* message) {
  if (!value.is_string()) return Status::InvalidArgument(std::string(message) + " is not a string");
  return value.get<std::string>();
}

Result<RunnerMessage> ParseFailed(const json& body) {
  if (!body.is_object()) return Status::InvalidArgument("\"failed\" is not an object");
  for (const auto& [key, _] : body.items()) {
    if (key != "code" && key != "message" && key != "retry") {
      return Status::InvalidArgument("\"failed\" has an unknown key \"" + key + "\"");
    }
  }
  auto code = body.find("code");
  auto message = body.find("message");
  auto retry = body.find("retry");
  if (code == body.end() || !code->is_string() || !IsValidFailureCode(code->get<std::string>())) {
    return Status::InvalidArgument("\"failed.code\" does not match [a-z][a-z0-9_]{0,39}");
  }
  if (message == body.end() || !message->is_string()) {
    return Status::InvalidArgument("\"failed.message\" is not a string");
  }
  if (retry != body.end() && !retry->is_boolean()) {
    return Status::InvalidArgument("\"failed.retry\" is not a boolean");
  }
  return RunnerMessage{RunnerFailed{code->get<std::string>(), message->get<std::string>(),
                                    retry != body.end() && retry->get<bool>()}};
}

}  // namespace

bool IsValidFailureCode(std::string_view code) {
  if (code.empty() || code.size() > 40 || code[0] < 'a' || code[0] > 'z') return false;
  for (char c : code) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

Result<RunnerMessage> ParseRunnerMessage(std::string_view line) {
  if (line.size() > kMaxRunnerLineBytes) {
    return Status::InvalidArgument("line of " + std::to_string(line.size()) + " bytes");
  }
  ASSIGN_OR_RETURN(json message, ParseStrictJson(line));
  if (!message.is_object()) return Status::InvalidArgument("not a JSON object");
  if (message.size() != 1) {
    return Status::InvalidArgument("an object with " + std::to_string(message.size()) +
                                   " keys (one expected)");
  }
  const std::string key = message.begin().key();
  const json& value = message.begin().value();
  if (key == "ready") {
    if (value != json(true)) return Status::InvalidArgument("\"ready\" is not true");
    return RunnerMessage{RunnerReady{}};
  }
  if (key == "progress") {
    if (!value.is_number()) return Status::InvalidArgument("\"progress\" is not a number");
    double fraction = value.get<double>();
    if (!std::isfinite(fraction) || fraction < 0.0 || fraction > 1.0) {
      return Status::InvalidArgument("\"progress\" is outside 0..1");
    }
    return RunnerMessage{RunnerProgress{fraction}};
  }
  if (key == "preview") {
    ASSIGN_OR_RETURN(std::string file, FileField(value, "\"preview\""));
    return RunnerMessage{RunnerPreview{std::move(file)}};
  }
  if (key == "checkpoint") {
    ASSIGN_OR_RETURN(std::string file, FileField(value, "\"checkpoint\""));
    return RunnerMessage{RunnerCheckpoint{std::move(file)}};
  }
  if (key == "done") {
    ASSIGN_OR_RETURN(std::string file, FileField(value, "\"done\""));
    return RunnerMessage{RunnerDone{std::move(file)}};
  }
  if (key == "failed") return ParseFailed(value);
  std::string shown = key.size() > 40 ? key.substr(0, 40) + "..." : key;
  return Status::InvalidArgument("unknown message \"" + shown + "\"");
}

std::string RunnerJobLine(const std::string& job_id, const nlohmann::json& input,
                          const std::string& dir, const std::optional<std::string>& checkpoint) {
  json body = {{"id", job_id},
               {"input", input},
               {"dir", dir},
               {"checkpoint", checkpoint ? json(*checkpoint) : json(nullptr)}};
  return json{{"job", std::move(body)}}.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string RunnerCancelLine(const std::string& job_id) {
  return json{{"cancel", job_id}}.dump() + "\n";
}

std::string RunnerCheckpointSavedLine(const std::string& file) {
  return json{{"checkpoint_saved", file}}.dump() + "\n";
}

void RunnerLineReader::Feed(std::string_view bytes) {
  if (broken_) return;
  if (start_ > 0 && start_ == buffer_.size()) {
    buffer_.clear();
    start_ = scanned_ = 0;
  } else if (start_ > (std::size_t{1} << 16) && start_ * 2 > buffer_.size()) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  buffer_.append(bytes);
}

Result<std::optional<std::string>> RunnerLineReader::Next() {
  if (broken_) return Status::InvalidArgument("line over the limit");
  std::size_t from = start_ + scanned_;
  std::size_t newline = buffer_.find('\n', from);
  if (newline == std::string::npos) {
    scanned_ = buffer_.size() - start_;
    if (scanned_ > kMaxRunnerLineBytes) {
      broken_ = true;
      buffer_.clear();
      return Status::InvalidArgument("line over " + std::to_string(kMaxRunnerLineBytes) + " bytes");
    }
    return std::optional<std::string>();
  }
  if (newline - start_ > kMaxRunnerLineBytes) {
    broken_ = true;
    buffer_.clear();
    return Status::InvalidArgument("line over " + std::to_string(kMaxRunnerLineBytes) + " bytes");
  }
  std::string line = buffer_.substr(start_, newline - start_);
  start_ = newline + 1;
  scanned_ = 0;
  return std::optional<std::string>(std::move(line));
}

}  // namespace renderq
