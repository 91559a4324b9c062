#include "core/model/kind_file.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace renderq {
namespace {

using nlohmann::json;

// Limits of the numbers a kind file may set: what the store and the worker
// can honour, and typos caught (a max_seconds of 36000000 is a year).
constexpr double kMaxSeconds = 7 * 24 * 3600.0;
constexpr std::size_t kMaxKindFileBytes = 4 << 20;

Status Bad(const std::string& file, std::string_view key, const std::string& reason) {
  std::string where = file;
  if (!key.empty()) where += ": " + std::string(key);
  return Status::InvalidArgument(where + ": " + reason);
}

// nlohmann keeps the last of two equal keys without a word; in a
// configuration file that hides a typo, so a duplicate is an error.
Result<json> ParseWithoutDuplicates(std::string_view text) {
  std::vector<std::set<std::string>> keys;
  std::string duplicate;
  json::parser_callback_t callback = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) keys.emplace_back();
    if (event == json::parse_event_t::object_end && !keys.empty()) keys.pop_back();
    if (event == json::parse_event_t::key && !keys.empty() &&
        !keys.back().insert(parsed.get<std::string>()).second && duplicate.empty()) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  };
  try {
    json value = json::parse(text.begin(), text.end(), callback);
    if (!duplicate.empty()) return Status::InvalidArgument("duplicate key \"" + duplicate + "\"");
    return value;
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("not JSON: ") + e.what());
  }
}

bool IsMediaType(const std::string& value) {
  // type "/" subtype, RFC 6838 restricted names; parameters are not needed.
  auto token_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$&-^_.+", c) != nullptr;
  };
  std::size_t slash = value.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == value.size() || value.size() > 127) {
    return false;
  }
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (i != slash && !token_char(value[i])) return false;
  }
  return true;
}

Result<double> Seconds(const json& value, const std::string& file, std::string_view key) {
  if (!value.is_number() || value.is_boolean())
    return Bad(file, key, "must be a number of seconds");
  double seconds = value.get<double>();
  if (!std::isfinite(seconds) || seconds <= 0 || seconds > kMaxSeconds) {
    return Bad(file, key,
               "must be > 0 and at most " + std::to_string(int(kMaxSeconds)) + " (a week)");
  }
  return seconds;
}

Result<std::int64_t> Bytes(const json& value, const std::string& file, std::string_view key,
                           std::int64_t limit) {
  if (!value.is_number_integer()) return Bad(file, key, "must be a whole number of bytes");
  std::int64_t bytes = value.get<std::int64_t>();
  if (bytes < 1 || bytes > limit) {
    return Bad(file, key, "must be between 1 and " + std::to_string(limit) + " bytes");
  }
  return bytes;
}

std::string BaseName(const std::string& path) {
  std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

bool IsValidKindName(std::string_view name) {
  if (name.empty() || name.size() > 32 || name[0] < 'a' || name[0] > 'z') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return name != kSceneKind;
}

Result<KindSpec> ParseKindFile(const std::string& file, std::string_view text) {
  KindSpec kind;
  kind.file = file;
  std::string base = BaseName(file);
  if (base.size() <= 5 || base.compare(base.size() - 5, 5, ".json") != 0) {
    return Bad(file, "", "a kind file is named NAME.json");
  }
  kind.name = base.substr(0, base.size() - 5);
  if (kind.name == kSceneKind) return Bad(file, "", "\"scene\" is the built-in kind's name");
  if (!IsValidKindName(kind.name)) {
    return Bad(file, "", "the name \"" + kind.name + "\" does not match [a-z][a-z0-9-]{0,31}");
  }
  Result<json> parsed = ParseWithoutDuplicates(text);
  if (!parsed.ok()) return Bad(file, "", parsed.status().message());
  const json& root = parsed.value();
  if (!root.is_object()) return Bad(file, "", "must be a JSON object");

  static const std::set<std::string> kKeys = {
      "description",          "command",     "input_schema",  "output_media_type",
      "estimate_seconds",     "max_seconds", "start_seconds", "max_output_bytes",
      "max_checkpoint_bytes", "warm"};
  for (const auto& item : root.items()) {
    if (!kKeys.count(item.key())) return Bad(file, item.key(), "unknown key");
  }
  for (const char* required : {"command", "input_schema", "estimate_seconds"}) {
    if (!root.contains(required)) return Bad(file, required, "is required");
  }
  if (auto it = root.find("description"); it != root.end()) {
    if (!it->is_string()) return Bad(file, "description", "must be a string");
    kind.description = it->get<std::string>();
  }
  const json& command = root["command"];
  if (!command.is_array() || command.empty()) {
    return Bad(file, "command", "must be a non-empty array of strings (argv, no shell)");
  }
  for (const json& arg : command) {
    if (!arg.is_string()) return Bad(file, "command", "every element must be a string");
    std::string value = arg.get<std::string>();
    if (value.find('\0') != std::string::npos) return Bad(file, "command", "contains a NUL");
    kind.command.push_back(std::move(value));
  }
  const std::string& program = kind.command[0];
  if (program.empty() ||
      (program[0] != '/' && program.rfind(std::string(kRunnersDirPlaceholder) + "/", 0) != 0)) {
    return Bad(file, "command",
               "the program (the first element) must be an absolute path or start with "
               "{runners_dir}/; it is not looked up in PATH");
  }
  Result<std::shared_ptr<const KindSchema>> schema = KindSchema::Compile(root["input_schema"]);
  if (!schema.ok()) return Bad(file, "input_schema", schema.status().message());
  kind.input_schema = std::move(schema).value();
  if (auto it = root.find("output_media_type"); it != root.end()) {
    if (!it->is_string() || !IsMediaType(it->get<std::string>())) {
      return Bad(file, "output_media_type", "must be a media type such as image/png");
    }
    kind.output_media_type = it->get<std::string>();
  }
  ASSIGN_OR_RETURN(kind.estimate_seconds,
                   Seconds(root["estimate_seconds"], file, "estimate_seconds"));
  if (auto it = root.find("max_seconds"); it != root.end()) {
    ASSIGN_OR_RETURN(kind.max_seconds, Seconds(*it, file, "max_seconds"));
  }
  if (auto it = root.find("start_seconds"); it != root.end()) {
    ASSIGN_OR_RETURN(kind.start_seconds, Seconds(*it, file, "start_seconds"));
  }
  if (auto it = root.find("max_output_bytes"); it != root.end()) {
    ASSIGN_OR_RETURN(kind.max_output_bytes,
                     Bytes(*it, file, "max_output_bytes", kMaxKindOutputBytes));
  }
  if (auto it = root.find("max_checkpoint_bytes"); it != root.end()) {
    ASSIGN_OR_RETURN(kind.max_checkpoint_bytes,
                     Bytes(*it, file, "max_checkpoint_bytes", kMaxKindCheckpointBytes));
  }
  if (auto it = root.find("warm"); it != root.end()) {
    if (!it->is_boolean()) return Bad(file, "warm", "must be true or false");
    kind.warm = it->get<bool>();
  }
  return kind;
}

Result<std::vector<KindSpec>> LoadKinds(const std::string& dir) {
  DIR* handle = opendir(dir.c_str());
  if (handle == nullptr) {
    if (errno == ENOENT) return Status::NotFound("kinds directory " + dir + " does not exist");
    return Status::InvalidArgument("kinds directory " + dir + ": " + std::strerror(errno));
  }
  std::vector<std::string> names;
  while (dirent* entry = readdir(handle)) {
    std::string name = entry->d_name;
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0) names.push_back(name);
  }
  closedir(handle);
  std::sort(names.begin(), names.end());
  std::vector<KindSpec> kinds;
  std::string errors;
  for (const std::string& name : names) {
    std::string path = dir + (dir.empty() || dir.back() == '/' ? "" : "/") + name;
    struct stat st {};
    if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      errors += path + ": not a regular file\n";
      continue;
    }
    if (static_cast<std::size_t>(st.st_size) > kMaxKindFileBytes) {
      errors += path + ": over " + std::to_string(kMaxKindFileBytes) + " bytes\n";
      continue;
    }
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in.good() && !in.eof()) {
      errors += path + ": cannot be read\n";
      continue;
    }
    Result<KindSpec> kind = ParseKindFile(path, text.str());
    if (!kind.ok()) {
      errors += kind.status().message() + "\n";
      continue;
    }
    kinds.push_back(std::move(kind).value());
  }
  if (!errors.empty()) {
    errors.pop_back();
    return Status::InvalidArgument(errors);
  }
  return kinds;
}

std::vector<std::string> ResolveCommand(const std::vector<std::string>& command,
                                        const std::string& runners_dir) {
  std::vector<std::string> resolved;
  for (std::string arg : command) {
    std::size_t at = 0;
    while ((at = arg.find(kRunnersDirPlaceholder, at)) != std::string::npos) {
      arg.replace(at, kRunnersDirPlaceholder.size(), runners_dir);
      at += runners_dir.size();
    }
    resolved.push_back(std::move(arg));
  }
  return resolved;
}

json KindToJson(const KindSpec& kind, double estimated_seconds) {
  return {{"name", kind.name},
          {"description", kind.description},
          {"input_schema", kind.input_schema->document()},
          {"output_media_type", kind.output_media_type},
          {"estimated_seconds", estimated_seconds}};
}

}  // namespace renderq
