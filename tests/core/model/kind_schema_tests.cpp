// Kind input checks (core/model/kind_schema.h): one finding per violated
// constraint at its RFC 6901 pointer, no duplicates, no findings for the
// objects and arrays that enclose a violation, and the schemas refused
// because valijson cannot check them safely on hostile input.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <set>

#include "core/model/kind_schema.h"

namespace renderq::testing {
namespace {

using nlohmann::json;

std::shared_ptr<const KindSchema> Compile(const char* schema) {
  auto compiled = KindSchema::Compile(json::parse(schema));
  BOOST_REQUIRE_MESSAGE(compiled.ok(), compiled.status().ToString());
  return *compiled;
}

std::set<std::pair<std::string, std::string>> AsSet(const std::vector<InputFinding>& findings) {
  std::set<std::pair<std::string, std::string>> set;
  for (const InputFinding& f : findings) set.insert({f.pointer, f.detail});
  return set;
}

constexpr const char* kPovray = R"({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object", "required": ["scene"], "additionalProperties": false,
  "properties": {
    "scene": {"type": "string", "minLength": 1},
    "width": {"type": "integer", "minimum": 1, "maximum": 4096},
    "height": {"type": "integer", "minimum": 1, "maximum": 4096},
    "antialias": {"type": ["boolean", "number"], "minimum": 0, "maximum": 3}
  }})";

BOOST_AUTO_TEST_SUITE(KindInputs)

BOOST_AUTO_TEST_CASE(a_valid_input_has_no_findings) {
  auto schema = Compile(kPovray);
  BOOST_TEST(schema->Check({{"scene", "sphere{}"}, {"width", 64}, {"antialias", 0.3}}).empty());
  BOOST_TEST(schema->Check({{"scene", "x"}, {"antialias", true}}).empty());
}

BOOST_AUTO_TEST_CASE(one_finding_per_violated_constraint_at_its_pointer) {
  auto schema = Compile(kPovray);
  auto findings = schema->Check(
      {{"scene", ""}, {"width", 0}, {"height", 5000.5}, {"antialias", "yes"}, {"colour", 1}});
  BOOST_TEST(findings.size() == AsSet(findings).size());  // no duplicates
  BOOST_TEST(AsSet(findings) == (std::set<std::pair<std::string, std::string>>{
                                    {"/scene", "must be at least 1 characters in length"},
                                    {"/width", "must be >= 1"},
                                    {"/height", "must be <= 4096"},
                                    {"/height", "must be of type integer"},
                                    {"/antialias", "must be of type boolean or number"},
                                    {"/colour", "unknown key (not allowed by the schema)"},
                                }));
  BOOST_TEST(AsSet(schema->Check(json::object())) ==
             (std::set<std::pair<std::string, std::string>>{{"/scene", "is required"}}));
  BOOST_TEST(AsSet(schema->Check(json::array())) ==
             (std::set<std::pair<std::string, std::string>>{{"", "must be of type object"}}));
}

BOOST_AUTO_TEST_CASE(no_findings_for_the_enclosing_objects_and_arrays) {
  auto schema = Compile(R"({"type": "object", "properties": {"a": {"type": "object",
      "required": ["z"], "properties": {"b": {"type": "object", "properties": {"c": {
      "type": "array", "items": {"type": "integer", "minimum": 2}}}}}}}})");
  auto findings = schema->Check({{"a", {{"b", {{"c", {1, "x", 3}}}}}}});
  BOOST_TEST(AsSet(findings) == (std::set<std::pair<std::string, std::string>>{
                                    {"/a/b/c/0", "must be >= 2"},
                                    {"/a/b/c/1", "must be of type integer"},
                                    {"/a/z", "is required"},
                                }));
}

BOOST_AUTO_TEST_CASE(pointers_escape_tilde_and_slash) {
  auto schema = Compile(R"({"type": "object", "additionalProperties": {"type": "integer"}})");
  auto findings = schema->Check({{"a/b~c", "x"}});
  BOOST_TEST(AsSet(findings) == (std::set<std::pair<std::string, std::string>>{
                                    {"/a~1b~0c", "must be of type integer"}}));
}

BOOST_AUTO_TEST_CASE(combinators_are_one_constraint_each) {
  auto schema = Compile(R"({"anyOf": [{"type": "boolean"}, {"type": "number", "maximum": 3}]})");
  auto findings = schema->Check(4);
  BOOST_TEST(std::count_if(findings.begin(), findings.end(), [](const InputFinding& f) {
               return f.detail == "must match at least one of the schemas in anyOf";
             }) == 1);
  BOOST_TEST(findings.size() == AsSet(findings).size());
}

BOOST_AUTO_TEST_CASE(schemas_valijson_cannot_check_safely_are_refused) {
  for (const char* schema :
       {R"({"properties": {"a": {"pattern": "^x"}}})", R"({"patternProperties": {"^x": {}}})",
        R"({"items": {"uniqueItems": true}})", R"({"$ref": "https://example.com/schema.json"})"}) {
    BOOST_TEST_CONTEXT(schema) {
      auto compiled = KindSchema::Compile(json::parse(schema));
      BOOST_TEST(!compiled.ok());
    }
  }
  // A pattern as a property's *name* or inside an enum is no pattern constraint.
  BOOST_TEST(KindSchema::Compile(json::parse(R"({"properties": {"pattern": {"enum": [
      {"pattern": "x"}]}}})"))
                 .ok());
}

BOOST_AUTO_TEST_CASE(deep_inputs_are_refused_before_valijson_recurses) {
  auto schema =
      Compile(R"({"definitions": {"t": {"type": "array", "items": {"$ref": "#/definitions/t"}}},
                           "$ref": "#/definitions/t"})");
  json deep = json::parse(std::string(100000, '[') + std::string(100000, ']'));
  auto findings = schema->Check(deep);
  BOOST_REQUIRE(findings.size() == 1u);
  BOOST_TEST(findings[0].pointer == "");
  BOOST_TEST(findings[0].detail == "nested deeper than 64 levels");
  BOOST_TEST(JsonDepth(json::parse("[[1], {\"a\": [[]]}]")) == 4);
}

BOOST_AUTO_TEST_CASE(many_violations_are_capped) {
  auto schema = Compile(R"({"type": "array", "items": {"type": "string"}})");
  json many = json::array();
  for (int i = 0; i < 500; ++i) many.push_back(i);
  auto findings = schema->Check(many);
  BOOST_TEST(findings.size() == kMaxKindInputFindings);
  BOOST_TEST(findings.back().detail == "401 more findings left out");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq::testing
