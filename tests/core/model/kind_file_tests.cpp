// Kind files (core/model/kind_file.h): what SPEC's keys accept, the errors
// that name file, key and reason, and the shipped kinds.d/ loading as is.
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/model/kind_file.h"

namespace renderq::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json Minimal() {
  return {{"command", {"/usr/bin/python3", "/opt/runner.py"}},
          {"input_schema", {{"type", "object"}}},
          {"estimate_seconds", 5}};
}

Result<KindSpec> Parse(const json& kind, const std::string& name = "sketch") {
  return ParseKindFile("/etc/renderq/kinds.d/" + name + ".json", kind.dump());
}

BOOST_AUTO_TEST_SUITE(KindFiles)

BOOST_AUTO_TEST_CASE(a_minimal_kind_gets_spec_defaults) {
  auto kind = Parse(Minimal());
  BOOST_REQUIRE_MESSAGE(kind.ok(), kind.status().ToString());
  BOOST_TEST(kind->name == "sketch");
  BOOST_TEST(kind->description == "");
  BOOST_TEST(kind->output_media_type == "image/png");
  BOOST_TEST(kind->estimate_seconds == 5.0);
  BOOST_TEST(kind->max_seconds == 3600.0);
  BOOST_TEST(kind->start_seconds == 60.0);
  BOOST_TEST(kind->max_output_bytes == (std::int64_t{256} << 20));
  BOOST_TEST(kind->max_checkpoint_bytes == (std::int64_t{64} << 20));
  BOOST_TEST(kind->warm);
}

BOOST_AUTO_TEST_CASE(every_key_set) {
  json kind = Minimal();
  kind["description"] = "Sketches";
  kind["output_media_type"] = "model/gltf-binary";
  kind["max_seconds"] = 120;
  kind["start_seconds"] = 2.5;
  kind["max_output_bytes"] = 1000;
  kind["max_checkpoint_bytes"] = 2000;
  kind["warm"] = false;
  auto parsed = Parse(kind);
  BOOST_REQUIRE_MESSAGE(parsed.ok(), parsed.status().ToString());
  BOOST_TEST(parsed->output_media_type == "model/gltf-binary");
  BOOST_TEST(parsed->start_seconds == 2.5);
  BOOST_TEST(parsed->max_output_bytes == 1000);
  BOOST_TEST(!parsed->warm);
}

BOOST_AUTO_TEST_CASE(errors_name_file_key_and_reason) {
  struct Case {
    std::string what;
    json kind;
    std::string name;
    std::string message;
  };
  auto with = [](const char* key, json value) {
    json kind = Minimal();
    kind[key] = std::move(value);
    return kind;
  };
  auto without = [](const char* key) {
    json kind = Minimal();
    kind.erase(key);
    return kind;
  };
  const std::string file = "/etc/renderq/kinds.d/sketch.json: ";
  const Case cases[] = {
      {"unknown key", with("colour", "red"), "sketch", file + "colour: unknown key"},
      {"no command", without("command"), "sketch", file + "command: is required"},
      {"no schema", without("input_schema"), "sketch", file + "input_schema: is required"},
      {"no estimate", without("estimate_seconds"), "sketch",
       file + "estimate_seconds: is required"},
      {"command a string", with("command", "python3 x.py"), "sketch",
       file + "command: must be a non-empty array"},
      {"command empty", with("command", json::array()), "sketch",
       file + "command: must be a non-empty array"},
      {"command not strings", with("command", {"/bin/x", 3}), "sketch",
       file + "command: every element must be a string"},
      {"program on PATH", with("command", {"python3", "x.py"}), "sketch",
       file + "command: the program (the first element) must be an absolute path"},
      {"schema not an object", with("input_schema", "object"), "sketch",
       file + "input_schema: must be a JSON Schema object"},
      {"schema draft 4",
       with("input_schema", {{"$schema", "http://json-schema.org/draft-04/schema#"}}), "sketch",
       file + "input_schema: \"$schema\" must be draft 7"},
      {"schema invalid", with("input_schema", {{"minimum", "zero"}}), "sketch",
       file + "input_schema: not a valid draft-7 schema"},
      {"schema pattern", with("input_schema", {{"properties", {{"a", {{"pattern", "^x"}}}}}}),
       "sketch", file + "input_schema: \"pattern\" is not supported"},
      {"media type", with("output_media_type", "png"), "sketch",
       file + "output_media_type: must be a media type"},
      {"negative estimate", with("estimate_seconds", -1), "sketch",
       file + "estimate_seconds: must be > 0"},
      {"boolean estimate", with("estimate_seconds", true), "sketch",
       file + "estimate_seconds: must be a number of seconds"},
      {"huge max_seconds", with("max_seconds", 1e9), "sketch",
       file + "max_seconds: must be > 0 and at most 604800"},
      {"fractional bytes", with("max_output_bytes", 1.5), "sketch",
       file + "max_output_bytes: must be a whole number of bytes"},
      {"warm as string", with("warm", "yes"), "sketch", file + "warm: must be true or false"},
      {"reserved name", Minimal(), "scene",
       "/etc/renderq/kinds.d/scene.json: \"scene\" is the built-in kind's name"},
      {"bad name", Minimal(), "My_Kind",
       "/etc/renderq/kinds.d/My_Kind.json: the name \"My_Kind\" does not match "
       "[a-z][a-z0-9-]{0,31}"},
      {"long name", Minimal(), std::string(33, 'a'), "does not match"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.what) {
      auto kind = Parse(c.kind, c.name);
      BOOST_REQUIRE(!kind.ok());
      BOOST_TEST(kind.status().message().find(c.message) != std::string::npos,
                 kind.status().message());
    }
  }
  auto duplicate = ParseKindFile("/k/a.json", R"({"command": ["/x"], "input_schema": {},
      "estimate_seconds": 1, "warm": true, "warm": false})");
  BOOST_TEST(duplicate.status().message() == "/k/a.json: duplicate key \"warm\"");
  auto not_json = ParseKindFile("/k/a.json", "{\"command\": [");
  BOOST_TEST(not_json.status().message().find("/k/a.json: not JSON") == 0u);
}

BOOST_AUTO_TEST_CASE(runners_dir_is_replaced_in_every_element) {
  json kind = Minimal();
  kind["command"] = {"{runners_dir}/povray/run", "--conf={runners_dir}/conf", "plain"};
  auto parsed = Parse(kind);
  BOOST_REQUIRE(parsed.ok());
  BOOST_TEST(ResolveCommand(parsed->command, "/usr/share/renderq/runners") ==
             (std::vector<std::string>{"/usr/share/renderq/runners/povray/run",
                                       "--conf=/usr/share/renderq/runners/conf", "plain"}));
}

BOOST_AUTO_TEST_CASE(a_directory_loads_every_kind_and_reports_every_bad_file) {
  const fs::path dir = fs::temp_directory_path() / ("renderq-kinds-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "b.json") << Minimal().dump();
  std::ofstream(dir / "a.json") << Minimal().dump();
  std::ofstream(dir / "README") << "not a kind";
  fs::create_directories(dir / "examples");
  std::ofstream(dir / "examples" / "c.json") << "{}";
  auto kinds = LoadKinds(dir.string());
  BOOST_REQUIRE_MESSAGE(kinds.ok(), kinds.status().ToString());
  BOOST_TEST(kinds->size() == 2u);
  BOOST_TEST((*kinds)[0].name == "a");
  std::ofstream(dir / "bad.json") << "{}";
  std::ofstream(dir / "worse.json") << "[]";
  auto broken = LoadKinds(dir.string());
  BOOST_REQUIRE(!broken.ok());
  BOOST_TEST(broken.status().message() == (dir / "bad.json").string() + ": command: is required\n" +
                                              (dir / "worse.json").string() +
                                              ": must be a JSON object");
  fs::remove_all(dir);
  BOOST_TEST((LoadKinds(dir.string()).status().code() == StatusCode::kNotFound));
}

BOOST_AUTO_TEST_CASE(the_shipped_kinds_load) {
  for (const char* dir : {"/kinds.d", "/examples/kinds.d"}) {
    auto kinds = LoadKinds(std::string(RENDERQ_SOURCE_DIR) + dir);
    BOOST_REQUIRE_MESSAGE(kinds.ok(), kinds.status().ToString());
    BOOST_TEST(!kinds->empty());
  }
}

BOOST_AUTO_TEST_CASE(the_api_shows_a_kind_as_spec_says) {
  json kind = Minimal();
  kind["description"] = "Sketches";
  auto parsed = Parse(kind);
  BOOST_REQUIRE(parsed.ok());
  BOOST_TEST(KindToJson(*parsed, 7.5) == json({{"name", "sketch"},
                                               {"description", "Sketches"},
                                               {"input_schema", {{"type", "object"}}},
                                               {"output_media_type", "image/png"},
                                               {"estimated_seconds", 7.5}}));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq::testing
