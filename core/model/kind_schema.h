// KindSchema: a job kind's `input_schema` (JSON Schema, draft 7), compiled
// once with Debian's valijson, and the check of a submitted input against it
// (SPEC "Your own GPU program: job kinds": 422 with one finding per violated
// constraint at its RFC 6901 pointer, no duplicates, no extra findings for
// the enclosing objects).
//
// Refused when the kind file is loaded, with the reason:
//  - a `$schema` other than draft 7, a `$ref` that leaves the document;
//  - `pattern` and `patternProperties`: valijson checks them with std::regex,
//    whose matcher recurses once per character (100,000 characters exhaust an
//    8 MiB stack: a crash on a 4 MiB input);
//  - `uniqueItems`: valijson compares every pair, minutes on a 4 MiB array.
// Inputs nested deeper than kMaxKindInputDepth are refused before valijson
// sees them (its recursion follows the input's depth under a recursive schema).
//
// Thread safety: a KindSchema is immutable once built; Check() may run on any
// number of threads at once (each call has its own valijson Validator).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/model/status.h"

namespace renderq {

inline constexpr int kMaxKindInputDepth = 64;
// At most this many findings, the last one saying how many more were left
// out (the API's problem bodies list at most 100).
inline constexpr std::size_t kMaxKindInputFindings = 100;

struct InputFinding {
  std::string pointer;  // RFC 6901: "/width"; "" is the whole input
  std::string detail;   // "must be <= 4096"

  bool operator==(const InputFinding&) const = default;
};

class KindSchema {
 public:
  // kInvalidArgument with the reason when `schema` is not a draft-7 schema
  // renderq can check inputs with (see above).
  static Result<std::shared_ptr<const KindSchema>> Compile(const nlohmann::json& schema);

  // The findings for `input`: empty when it is valid. At most
  // kMaxKindInputFindings in all, the last saying how many were left out.
  std::vector<InputFinding> Check(const nlohmann::json& input) const;

  const nlohmann::json& document() const { return document_; }

  ~KindSchema();

 private:
  struct Compiled;
  KindSchema() = default;
  nlohmann::json document_;
  std::unique_ptr<Compiled> compiled_;
};

// Depth of the deepest array or object in `value` (a scalar is 0).
int JsonDepth(const nlohmann::json& value);

}  // namespace renderq
