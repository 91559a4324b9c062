// valijson throws only when built with exceptions on; otherwise it prints and
// aborts on a schema it cannot parse. This is the one file that includes it.
#define VALIJSON_USE_EXCEPTIONS 1

#include "core/model/kind_schema.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <stdexcept>
#include <utility>

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "core/model/scene_json.h"

namespace renderq {

struct KindSchema::Compiled {
  valijson::Schema schema;
};

namespace {

using nlohmann::json;

// valijson's context ["<root>", "[camera]", "[3]"] -> "/camera/3". Keys and
// indexes look alike ("[3]"), as they do in a JSON pointer.
std::string ContextToPointer(const std::vector<std::string>& context) {
  std::string pointer;
  for (std::size_t i = 1; i < context.size(); ++i) {
    const std::string& part = context[i];
    std::string token = part.size() >= 2 && part.front() == '[' && part.back() == ']'
                            ? part.substr(1, part.size() - 2)
                            : part;
    pointer += "/" + EscapeJsonPointerToken(token);
  }
  return pointer;
}

bool StartsWith(const std::string& text, std::string_view prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

// valijson reports a failure inside an object or array a second time on the
// enclosing value ("Failed to validate against schema associated with
// property name 'x'"): those are not constraints of their own.
bool IsEnclosingReport(const std::string& description) {
  static constexpr std::string_view kPrefixes[] = {
      "Failed to validate item #",
      "Failed to validate against schema associated with property name",
      "Failed to validate against schema associated with pattern",
      "Failed to validate against additional properties schema",
      "Failed to validate against dependent schema",
      "Failed to validate against child schema #",
  };
  for (std::string_view prefix : kPrefixes) {
    if (StartsWith(description, prefix)) return true;
  }
  return false;
}

// "4096.000000" -> "4096", "0.100000" -> "0.1": valijson prints bounds with
// std::to_string. (No std::regex anywhere here: messages may carry keys of
// the input, and std::regex recurses once per character.)
std::string TrimNumbers(const std::string& text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '.' && i > 0 && std::isdigit(static_cast<unsigned char>(text[i - 1])) &&
        i + 1 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1]))) {
      std::size_t end = i + 1;
      while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
      std::string fraction = text.substr(i + 1, end - i - 1);
      while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
      if (!fraction.empty()) out += "." + fraction;
      i = end;
      continue;
    }
    out += text[i++];
  }
  return out;
}

// The quoted name at the end of "... 'name'." (names may contain quotes).
std::optional<std::string> QuotedTail(const std::string& text, std::string_view prefix) {
  if (!StartsWith(text, prefix) || text.size() < prefix.size() + 3) return std::nullopt;
  if (text.compare(text.size() - 2, 2, "'.") != 0) return std::nullopt;
  return text.substr(prefix.size(), text.size() - prefix.size() - 2);
}

// The schema that applies at `pointer` when it can be found by following
// `properties` and `items` from the root (it can for most kind schemas);
// null otherwise. Used only to word a finding better.
const json* SchemaAt(const json& root, const std::vector<std::string>& tokens) {
  const json* at = &root;
  for (const std::string& token : tokens) {
    if (!at->is_object()) return nullptr;
    auto properties = at->find("properties");
    if (properties != at->end() && properties->is_object() && properties->contains(token)) {
      at = &(*properties)[token];
      continue;
    }
    auto items = at->find("items");
    if (items != at->end() && items->is_object()) {
      at = &*items;
      continue;
    }
    auto additional = at->find("additionalProperties");
    if (additional != at->end() && additional->is_object()) {
      at = &*additional;
      continue;
    }
    return nullptr;
  }
  return at;
}

std::vector<std::string> Tokens(const std::vector<std::string>& context) {
  std::vector<std::string> tokens;
  for (std::size_t i = 1; i < context.size(); ++i) {
    const std::string& part = context[i];
    tokens.push_back(part.size() >= 2 ? part.substr(1, part.size() - 2) : part);
  }
  return tokens;
}

std::string TypeWords(const json& type) {
  if (type.is_string()) return type.get<std::string>();
  std::string words;
  if (type.is_array()) {
    for (std::size_t i = 0; i < type.size(); ++i) {
      if (!type[i].is_string()) continue;
      if (!words.empty()) words += i + 1 == type.size() ? " or " : ", ";
      words += type[i].get<std::string>();
    }
  }
  return words;
}

// One valijson error -> a finding in the responder's words ("must be <= 4096").
InputFinding Word(const json& schema, const valijson::ValidationResults::Error& error) {
  std::string pointer = ContextToPointer(error.context);
  const std::string& d = error.description;
  if (auto name = QuotedTail(d, "Missing required property '")) {
    return {pointer + "/" + EscapeJsonPointerToken(*name), "is required"};
  }
  if (auto name = QuotedTail(d,
                             "Object contains a property that could not be validated using "
                             "'properties' or 'additionalProperties' constraints: '")) {
    return {pointer + "/" + EscapeJsonPointerToken(*name), "unknown key (not allowed by the schema)"};
  }
  struct Rewrite {
    std::string_view from;
    std::string_view to;
  };
  static constexpr Rewrite kRewrites[] = {
      {"Expected number less than or equal to ", "must be <= "},
      {"Expected number less than ", "must be < "},
      {"Expected number greater than or equal to ", "must be >= "},
      {"Expected number greater than ", "must be > "},
      {"String should be no more than ", "must be at most "},
      {"String should be no fewer than ", "must be at least "},
      {"Array should contain no more than ", "must have at most "},
      {"Array should contain no fewer than ", "must have at least "},
      {"Object should have no more than ", "must have at most "},
      {"Object should have no fewer than ", "must have at least "},
      {"Value should be a multiple of ", "must be a multiple of "},
  };
  for (const Rewrite& r : kRewrites) {
    if (StartsWith(d, r.from)) {
      std::string rest = d.substr(r.from.size());
      if (!rest.empty() && rest.back() == '.') rest.pop_back();
      return {pointer, TrimNumbers(std::string(r.to) + rest)};
    }
  }
  if (d == "Value type not permitted by 'type' constraint.") {
    const json* at = SchemaAt(schema, Tokens(error.context));
    if (at != nullptr && at->is_object() && at->contains("type")) {
      std::string words = TypeWords((*at)["type"]);
      if (!words.empty()) return {pointer, "must be of type " + words};
    }
    return {pointer, "has a type the schema does not allow"};
  }
  if (d == "Failed to match against any enum values.")
    return {pointer, "must be one of the allowed values"};
  if (StartsWith(d, "Failed to validate against any schemas allowed by anyOf")) {
    return {pointer, "must match at least one of the schemas in anyOf"};
  }
  if (StartsWith(d, "Failed to validate against any child schemas allowed by oneOf")) {
    return {pointer, "must match one of the schemas in oneOf"};
  }
  if (StartsWith(d, "Failed to validate against exactly one child schema")) {
    return {pointer, "must match exactly one of the schemas in oneOf, not several"};
  }
  if (StartsWith(d, "Failed to validate against a conditional schema")) {
    return {pointer, "does not satisfy the schema's if/then/else"};
  }
  if (StartsWith(d, "Target should not validate against schema specified in 'not'")) {
    return {pointer, "must not match the schema in not"};
  }
  if (d == "Failed to match expected value set by 'const' constraint.") {
    return {pointer, "must be the constant the schema sets"};
  }
  std::string detail = d;
  if (!detail.empty() && detail.back() == '.') detail.pop_back();
  return {pointer, TrimNumbers(detail)};
}

// What valijson cannot check safely on untrusted input (see the header),
// and references it cannot resolve. Walks the schema as a schema: the keys of
// "properties", "definitions" and "dependencies" are names, and "enum",
// "const", "default" and "examples" hold data, not keywords.
Status CheckSupported(const json& schema) {
  std::vector<const json*> stack = {&schema};
  auto push_map = [&](const json& map) {
    if (!map.is_object()) return;
    for (const json& value : map) stack.push_back(&value);
  };
  while (!stack.empty()) {
    const json* node = stack.back();
    stack.pop_back();
    if (node->is_array()) {
      for (const json& item : *node) stack.push_back(&item);
      continue;
    }
    if (!node->is_object()) continue;
    for (const auto& [key, value] : node->items()) {
      if (key == "pattern" || key == "patternProperties") {
        return Status::InvalidArgument(
            "\"" + key +
            "\" is not supported: valijson matches it with std::regex, which recurses once "
            "per character and would crash on a long input; use enum, const or maxLength, or "
            "check it in the runner");
      }
      if (key == "uniqueItems" && value == json(true)) {
        return Status::InvalidArgument(
            "\"uniqueItems\" is not supported: valijson compares every pair of items, which "
            "takes minutes on a large input; check it in the runner");
      }
      if (key == "$ref") {
        if (!value.is_string() || !StartsWith(value.get<std::string>(), "#")) {
          return Status::InvalidArgument(
              "\"$ref\": only references inside the schema (\"#...\") "
              "work");
        }
        continue;
      }
      if (key == "enum" || key == "const" || key == "default" || key == "examples") continue;
      if (key == "properties" || key == "definitions" || key == "dependencies") {
        push_map(value);
        continue;
      }
      stack.push_back(&value);
    }
  }
  return Status::Ok();
}

}  // namespace

int JsonDepth(const json& value) {
  int deepest = 0;
  std::vector<std::pair<const json*, int>> stack = {{&value, 0}};
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    if (!node->is_structured()) continue;
    deepest = std::max(deepest, depth + 1);
    for (const json& child : *node) stack.push_back({&child, depth + 1});
  }
  return deepest;
}

KindSchema::~KindSchema() = default;

Result<std::shared_ptr<const KindSchema>> KindSchema::Compile(const json& schema) {
  if (!schema.is_object()) return Status::InvalidArgument("must be a JSON Schema object");
  auto version = schema.find("$schema");
  if (version != schema.end()) {
    static const std::set<std::string> kDraft7 = {
        "http://json-schema.org/draft-07/schema#", "http://json-schema.org/draft-07/schema",
        "https://json-schema.org/draft-07/schema#", "https://json-schema.org/draft-07/schema"};
    if (!version->is_string() || !kDraft7.count(version->get<std::string>())) {
      return Status::InvalidArgument(
          "\"$schema\" must be draft 7 "
          "(http://json-schema.org/draft-07/schema#)");
    }
  }
  RETURN_IF_ERROR(CheckSupported(schema));
  std::shared_ptr<KindSchema> compiled(new KindSchema());
  compiled->document_ = schema;
  compiled->compiled_ = std::make_unique<Compiled>();
  try {
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter adapter(compiled->document_);
    parser.populateSchema(adapter, compiled->compiled_->schema);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("not a valid draft-7 schema: ") + e.what());
  }
  return std::shared_ptr<const KindSchema>(std::move(compiled));
}

std::vector<InputFinding> KindSchema::Check(const json& input) const {
  if (JsonDepth(input) > kMaxKindInputDepth) {
    return {{"", "nested deeper than " + std::to_string(kMaxKindInputDepth) + " levels"}};
  }
  valijson::Validator validator;  // per call: it caches regexes, so it is not shareable
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(input);
  try {
    if (validator.validate(compiled_->schema, target, &results)) return {};
  } catch (const std::exception& e) {
    return {{"", std::string("could not be checked: ") + e.what()}};
  }
  std::vector<InputFinding> findings;
  std::set<std::pair<std::string, std::string>> seen;
  valijson::ValidationResults::Error error;
  std::size_t dropped = 0;
  while (results.popError(error)) {
    if (IsEnclosingReport(error.description)) continue;
    InputFinding finding = Word(document_, error);
    if (!seen.insert({finding.pointer, finding.detail}).second) continue;
    if (findings.size() >= kMaxKindInputFindings - 1) {
      ++dropped;
      continue;
    }
    findings.push_back(std::move(finding));
  }
  if (dropped > 0) findings.push_back({"", std::to_string(dropped) + " more findings left out"});
  return findings;
}

}  // namespace renderq
