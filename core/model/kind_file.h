// Job kinds (SPEC "Your own GPU program: job kinds"; docs/kinds.md): a kind
// is one file NAME.json in the kinds directory. LoadKinds() reads them all,
// every program that serves or accepts kinds calls it at start, and a bad
// file stops the program with the file, the key and the reason
// ("/etc/renderq/kinds.d/povray.json: max_seconds: must be a number > 0");
// `renderqctl kinds check` prints the same without starting anything.
//
// Pure apart from reading the directory; thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/model/job.h"
#include "core/model/kind_schema.h"
#include "core/model/status.h"

namespace renderq {

inline constexpr std::string_view kRunnersDirPlaceholder = "{runners_dir}";
// The largest checkpoint a kind may set: the store keeps no larger one
// (kMaxCheckpointBytes, core/store/store_types.h).
inline constexpr std::int64_t kMaxKindCheckpointBytes = std::int64_t{64} << 20;
// The largest output: PostgreSQL keeps a result in one bytea (at most 1 GiB).
inline constexpr std::int64_t kMaxKindOutputBytes = std::int64_t{1} << 30;

struct KindSpec {
  std::string name;  // [a-z][a-z0-9-]{0,31}, never "scene"
  std::string file;  // where it was read from, for messages
  std::string description;
  std::vector<std::string> command;  // as written: {runners_dir} not yet replaced
  std::shared_ptr<const KindSchema> input_schema;
  std::string output_media_type = "image/png";
  double estimate_seconds = 0;
  double max_seconds = 3600;
  double start_seconds = 60;
  std::int64_t max_output_bytes = std::int64_t{256} << 20;
  std::int64_t max_checkpoint_bytes = std::int64_t{64} << 20;
  bool warm = true;
};

// Whether `name` may name a kind: [a-z][a-z0-9-]{0,31} and not "scene".
bool IsValidKindName(std::string_view name);

// One kind file's text -> the kind. `file` is its path (the name is its
// base name without ".json"). kInvalidArgument with "FILE: KEY: reason".
Result<KindSpec> ParseKindFile(const std::string& file, std::string_view text);

// Every NAME.json directly in `dir` (other files are ignored), sorted by
// name. kInvalidArgument listing every bad file (one "FILE: KEY: reason"
// per line); a missing directory is kNotFound.
Result<std::vector<KindSpec>> LoadKinds(const std::string& dir);

// `command` with {runners_dir} replaced by `runners_dir` in every element.
std::vector<std::string> ResolveCommand(const std::vector<std::string>& command,
                                        const std::string& runners_dir);

// The kind's JSON for GET /api/v1/kinds (name, description, input_schema,
// output_media_type, estimated_seconds).
nlohmann::json KindToJson(const KindSpec& kind, double estimated_seconds);

}  // namespace renderq
