// ParseKindInput: the body of POST /api/v1/kinds/{kind}/jobs turned into the
// JSON value its kind's schema is checked against (SPEC "Your own GPU
// program: job kinds"), with the rules every body of renderq's API follows:
//
// - not JSON (or not UTF-8, or a number too large for a double) -> malformed,
//   with the 1-based line and column (in bytes) where it went wrong: 400;
// - a key repeated within one object, or nesting deeper than
//   kMaxKindInputDepth -> findings at their RFC 6901 pointers: 422 (as for a
//   scene, a repeated key must not silently mean its last value);
// - otherwise the value (any JSON value: the schema says what it must be).
//
// Never throws, never recurses per level of the input (the parse and every
// walk are iterative), on any byte string (it is fuzzed). Thread-safe.
#pragma once

#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/model/kind_schema.h"

namespace renderq {

struct MalformedInput {
  std::string message;  // "malformed JSON at line 3, column 7: ..."
  int line = 0;
  int column = 0;
};

using KindInputParse = std::variant<nlohmann::json, MalformedInput, std::vector<InputFinding>>;

KindInputParse ParseKindInput(std::string_view body);

}  // namespace renderq
