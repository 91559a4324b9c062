// ParseScene against SPEC's "Scene format": what is accepted, with which
// defaults, and for each kind of bad body, exactly where the findings point.
#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "core/model/scene_json.h"

namespace renderq {
namespace {

using Json = nlohmann::json;

// SPEC's example, verbatim: materials red, steel, glass, lamp; objects sphere,
// quad, mesh.
const char* const kSpecExample = R"({
  "width": 640, "height": 360,
  "samples": 64,
  "max_depth": 8,
  "seed": 0,
  "camera": {"position": [0, 1, 5], "look_at": [0, 0.5, 0], "up": [0, 1, 0],
             "vfov": 40, "aperture": 0.0, "focus_distance": 5.0},
  "sky": {"horizon": [1, 1, 1], "zenith": [0.5, 0.7, 1.0]},
  "materials": [
    {"name": "red",   "type": "lambertian", "albedo": [0.8, 0.1, 0.1]},
    {"name": "steel", "type": "metal", "albedo": [0.8, 0.8, 0.8], "roughness": 0.1},
    {"name": "glass", "type": "dielectric", "ior": 1.5},
    {"name": "lamp",  "type": "emissive", "emission": [8, 8, 8]}
  ],
  "objects": [
    {"type": "sphere", "center": [0, 0.5, 0], "radius": 0.5, "material": "red"},
    {"type": "quad", "corner": [-5, 0, -5], "u": [10, 0, 0], "v": [0, 0, 10], "material": "steel"},
    {"type": "mesh", "vertices": [[0,0,0], [1,0,0], [0,1,0]], "triangles": [[0, 1, 2]], "material": "glass"}
  ]
})";

// One change to the example: set the value at `pointer`, or remove it.
struct Edit {
  std::string pointer;
  std::optional<Json> value;
};
Edit Set(std::string pointer, Json value) { return {std::move(pointer), std::move(value)}; }
Edit Remove(std::string pointer) { return {std::move(pointer), std::nullopt}; }

std::string Example(const std::vector<Edit>& edits) {
  Json j = Json::parse(kSpecExample);
  for (const Edit& e : edits) {
    Json::json_pointer p(e.pointer);
    if (e.value) {
      j[p] = *e.value;
    } else {
      Json& parent = j[p.parent_pointer()];
      if (parent.is_array()) {
        parent.erase(std::stoul(p.back()));
      } else {
        parent.erase(p.back());
      }
    }
  }
  return j.dump();
}

std::vector<std::string> Pointers(const SceneError& error) {
  std::vector<std::string> out;
  for (const auto& f : error.findings) out.push_back(f.pointer);
  std::sort(out.begin(), out.end());
  return out;
}

SceneDescription MustParse(const std::string& body) {
  auto r = ParseScene(body);
  BOOST_TEST_REQUIRE(r.ok(), (r.ok() ? "" : r.error().message));
  return std::move(r).scene();
}

struct BadScene {
  const char* rule;
  std::string body;
  std::vector<std::string> pointers;  // every finding expected, in any order
};

const Json kVec2 = Json::array({0, 1});
const Json kEmptyArray = Json::array();
const Json kEmptyObject = Json::object();

const std::vector<BadScene>& BadScenes() {
  // clang-format off: one case per line reads as a table
  static const std::vector<BadScene> rows = {
      // top-level fields
      {"width is required", Example({Remove("/width")}), {"/width"}},
      {"width >= 1", Example({Set("/width", 0)}), {"/width"}},
      {"width <= 4096", Example({Set("/width", 4097)}), {"/width"}},
      {"width is an integer", Example({Set("/width", 1.5)}), {"/width"}},
      {"width is not a string", Example({Set("/width", "640")}), {"/width"}},
      {"width is not negative", Example({Set("/width", -640)}), {"/width"}},
      {"width is not null", Example({Set("/width", nullptr)}), {"/width"}},
      {"width is not a bool", Example({Set("/width", true)}), {"/width"}},
      {"height is required", Example({Remove("/height")}), {"/height"}},
      {"height >= 1", Example({Set("/height", 0)}), {"/height"}},
      {"height <= 4096", Example({Set("/height", 1e4)}), {"/height"}},
      {"samples is required", Example({Remove("/samples")}), {"/samples"}},
      {"samples >= 1", Example({Set("/samples", 0)}), {"/samples"}},
      {"samples <= 65536", Example({Set("/samples", 65537)}), {"/samples"}},
      {"samples is not huge", Example({Set("/samples", 18446744073709551615ULL)}), {"/samples"}},
      {"max_depth >= 1", Example({Set("/max_depth", 0)}), {"/max_depth"}},
      {"max_depth <= 64", Example({Set("/max_depth", 65)}), {"/max_depth"}},
      {"seed >= 0", Example({Set("/seed", -1)}), {"/seed"}},
      {"seed fits uint32", Example({Set("/seed", 4294967296LL)}), {"/seed"}},
      {"seed is an integer", Example({Set("/seed", 0.5)}), {"/seed"}},
      {"unknown top-level key", Example({Set("/sampels", 64)}), {"/sampels"}},
      {"unknown key escaped per RFC 6901", Example({Set("/a~1b~0c", 1)}), {"/a~1b~0c"}},
      // camera
      {"camera is required", Example({Remove("/camera")}), {"/camera"}},
      {"camera is an object", Example({Set("/camera", kEmptyArray)}), {"/camera"}},
      {"camera.position is required", Example({Remove("/camera/position")}), {"/camera/position"}},
      {"camera.look_at is required", Example({Remove("/camera/look_at")}), {"/camera/look_at"}},
      {"vector has 3 numbers, not 2",
       Example({Set("/camera/position", kVec2)}),
       {"/camera/position"}},
      {"vector has 3 numbers, not 4",
       Example({Set("/camera/position", {0, 1, 2, 3})}),
       {"/camera/position"}},
      {"vector elements are numbers",
       Example({Set("/camera/position/1", "1")}),
       {"/camera/position/1"}},
      {"vector is not an object", Example({Set("/camera/up", kEmptyObject)}), {"/camera/up"}},
      {"coordinates within 1e6", Example({Set("/camera/position/0", 1e7)}), {"/camera/position/0"}},
      {"look_at differs from position",
       Example({Set("/camera/look_at", {0, 1, 5})}),
       {"/camera/look_at"}},
      {"up is non-zero", Example({Set("/camera/up", {0, 0, 0})}), {"/camera/up"}},
      {"up is not parallel to the view",
       Example({Set("/camera/up", {0, -1, -10})}),
       {"/camera/up"}},
      {"default up is not parallel to the view",
       Example({Remove("/camera/up"), Set("/camera/position", {0, 5, 0}),
                Set("/camera/look_at", {0, 0, 0})}),
       {"/camera/up"}},
      {"vfov >= 1", Example({Set("/camera/vfov", 0)}), {"/camera/vfov"}},
      {"vfov <= 179", Example({Set("/camera/vfov", 180)}), {"/camera/vfov"}},
      {"aperture >= 0", Example({Set("/camera/aperture", -0.1)}), {"/camera/aperture"}},
      {"focus_distance > 0",
       Example({Set("/camera/focus_distance", 0)}),
       {"/camera/focus_distance"}},
      {"unknown camera key", Example({Set("/camera/fov", 40)}), {"/camera/fov"}},
      // sky
      {"sky is an object", Example({Set("/sky", "blue")}), {"/sky"}},
      {"sky.horizon has 3 numbers", Example({Set("/sky/horizon", kVec2)}), {"/sky/horizon"}},
      {"sky colours are >= 0", Example({Set("/sky/zenith/0", -1)}), {"/sky/zenith/0"}},
      {"unknown sky key", Example({Set("/sky/ground", {0, 0, 0})}), {"/sky/ground"}},
      // materials
      {"materials is required (and every reference dangles)",
       Example({Remove("/materials")}),
       {"/materials", "/objects/0/material", "/objects/1/material", "/objects/2/material"}},
      {"materials is an array",
       Example({Set("/materials", kEmptyObject)}),
       {"/materials", "/objects/0/material", "/objects/1/material", "/objects/2/material"}},
      {"a material is an object",
       Example({Set("/materials/0", "red")}),
       {"/materials/0", "/objects/0/material"}},
      {"material name is required",
       Example({Remove("/materials/0/name")}),
       {"/materials/0/name", "/objects/0/material"}},
      {"material name is not empty",
       Example({Set("/materials/0/name", "")}),
       {"/materials/0/name", "/objects/0/material"}},
      {"material name is a string",
       Example({Set("/materials/0/name", 7)}),
       {"/materials/0/name", "/objects/0/material"}},
      {"material name is at most 128 bytes",
       Example({Set("/materials/0/name", std::string(129, 'r'))}),
       {"/materials/0/name", "/objects/0/material"}},
      {"material names are unique",
       Example({Set("/materials/1/name", "red")}),
       {"/materials/1/name", "/objects/1/material"}},
      {"material type is required", Example({Remove("/materials/0/type")}), {"/materials/0/type"}},
      {"material type is known",
       Example({Set("/materials/0/type", "plastic")}),
       {"/materials/0/type"}},
      {"lambertian has no roughness",
       Example({Set("/materials/0/roughness", 0.5)}),
       {"/materials/0/roughness"}},
      {"lambertian needs albedo",
       Example({Remove("/materials/0/albedo")}),
       {"/materials/0/albedo"}},
      {"albedo <= 1", Example({Set("/materials/0/albedo/0", 1.2)}), {"/materials/0/albedo/0"}},
      {"albedo >= 0", Example({Set("/materials/0/albedo/2", -0.1)}), {"/materials/0/albedo/2"}},
      {"metal needs albedo", Example({Remove("/materials/1/albedo")}), {"/materials/1/albedo"}},
      {"roughness <= 1", Example({Set("/materials/1/roughness", 1.5)}), {"/materials/1/roughness"}},
      {"metal has no ior", Example({Set("/materials/1/ior", 1.5)}), {"/materials/1/ior"}},
      {"dielectric needs ior", Example({Remove("/materials/2/ior")}), {"/materials/2/ior"}},
      {"ior >= 1", Example({Set("/materials/2/ior", 0.5)}), {"/materials/2/ior"}},
      {"ior <= 3", Example({Set("/materials/2/ior", 3.5)}), {"/materials/2/ior"}},
      {"dielectric has no albedo",
       Example({Set("/materials/2/albedo", {1, 1, 1})}),
       {"/materials/2/albedo"}},
      {"emissive needs emission",
       Example({Remove("/materials/3/emission")}),
       {"/materials/3/emission"}},
      {"emission <= 1e4",
       Example({Set("/materials/3/emission/1", 2e4)}),
       {"/materials/3/emission/1"}},
      {"emission >= 0", Example({Set("/materials/3/emission/0", -8)}), {"/materials/3/emission/0"}},
      // objects
      {"objects is required", Example({Remove("/objects")}), {"/objects"}},
      {"objects is an array", Example({Set("/objects", kEmptyObject)}), {"/objects"}},
      {"an object is an object", Example({Set("/objects/0", 1)}), {"/objects/0"}},
      {"object type is required", Example({Remove("/objects/0/type")}), {"/objects/0/type"}},
      {"object type is known", Example({Set("/objects/0/type", "cube")}), {"/objects/0/type"}},
      {"object material is required",
       Example({Remove("/objects/0/material")}),
       {"/objects/0/material"}},
      {"object material is defined",
       Example({Set("/objects/0/material", "blue")}),
       {"/objects/0/material"}},
      {"object material is a name, not an index",
       Example({Set("/objects/0/material", 0)}),
       {"/objects/0/material"}},
      {"sphere radius > 0", Example({Set("/objects/0/radius", 0)}), {"/objects/0/radius"}},
      {"sphere radius is not negative",
       Example({Set("/objects/0/radius", -1)}),
       {"/objects/0/radius"}},
      {"sphere radius is required", Example({Remove("/objects/0/radius")}), {"/objects/0/radius"}},
      {"sphere center has 3 numbers",
       Example({Set("/objects/0/center", kVec2)}),
       {"/objects/0/center"}},
      {"a misspelt key is unknown and the right one missing",
       Example({Remove("/objects/0/radius"), Set("/objects/0/radus", 0.5)}),
       {"/objects/0/radius", "/objects/0/radus"}},
      {"quad corner is required", Example({Remove("/objects/1/corner")}), {"/objects/1/corner"}},
      {"quad u is non-zero", Example({Set("/objects/1/u", {0, 0, 0})}), {"/objects/1/u"}},
      {"quad v is not parallel to u", Example({Set("/objects/1/v", {-3, 0, 0})}), {"/objects/1/v"}},
      {"quad has no radius", Example({Set("/objects/1/radius", 1)}), {"/objects/1/radius"}},
      {"mesh vertices are not empty",
       Example({Set("/objects/2/vertices", kEmptyArray)}),
       {"/objects/2/vertices"}},
      {"mesh triangles are not empty",
       Example({Set("/objects/2/triangles", kEmptyArray)}),
       {"/objects/2/triangles"}},
      {"mesh vertices are 3-vectors",
       Example({Set("/objects/2/vertices/1", kVec2)}),
       {"/objects/2/vertices/1"}},
      {"mesh vertex components are numbers",
       Example({Set("/objects/2/vertices/1/0", nullptr)}),
       {"/objects/2/vertices/1/0"}},
      {"triangle indices are in range",
       Example({Set("/objects/2/triangles/0/2", 3)}),
       {"/objects/2/triangles/0/2"}},
      {"triangle indices are not negative",
       Example({Set("/objects/2/triangles/0/0", -1)}),
       {"/objects/2/triangles/0/0"}},
      {"triangle indices are integers",
       Example({Set("/objects/2/triangles/0/1", 1.5)}),
       {"/objects/2/triangles/0/1"}},
      {"a triangle has 3 indices",
       Example({Set("/objects/2/triangles/0", kVec2)}),
       {"/objects/2/triangles/0"}},
      {"mesh has no center", Example({Set("/objects/2/center", {0, 0, 0})}), {"/objects/2/center"}},
      // several at once: every finding is reported
      {"every finding is reported",
       Example({Set("/width", 0), Set("/objects/0/radius", -1),
                Set("/objects/1/material", "chrome"), Set("/camera/vfov", 200),
                Set("/materials/2/ior", "1.5")}),
       {"/camera/vfov", "/materials/2/ior", "/objects/0/radius", "/objects/1/material", "/width"}},
      // whole-document rules
      {"top level is an object, not an array", "[1, 2, 3]", {""}},
      {"top level is an object, not a string", R"("scene")", {""}},
      {"top level is an object, not null", "null", {""}},
      {"repeated top-level key",
       R"({"width": 64, "width": 64})",
       {"/camera", "/height", "/materials", "/objects", "/samples", "/width"}},
      {"number too large for a double", R"({"width": 1e400})", {"/width"}},
      {"number too large inside a mesh",
       R"({"objects": [{"vertices": [[0, -1e999, 0]]}]})",
       {"/objects/0/vertices/0/1"}},
  };
  // clang-format on
  return rows;
}

BOOST_AUTO_TEST_SUITE(scene_json)

BOOST_AUTO_TEST_CASE(spec_example_parses_with_names_resolved) {
  SceneDescription s = MustParse(kSpecExample);
  BOOST_TEST(s.width == 640);
  BOOST_TEST(s.height == 360);
  BOOST_TEST(s.samples == 64);
  BOOST_TEST(s.max_depth == 8);
  BOOST_TEST(s.seed == 0u);
  BOOST_TEST(s.camera.focus_distance == 5.0f);
  BOOST_TEST(s.materials.size() == 4u);
  BOOST_TEST(s.materials[1].name == "steel");
  BOOST_TEST((s.materials[1].type == MaterialType::kMetal));
  BOOST_TEST(s.materials[1].roughness == 0.1f);
  BOOST_TEST((s.materials[2].type == MaterialType::kDielectric));
  BOOST_TEST(s.materials[2].ior == 1.5f);
  BOOST_TEST((s.materials[3].type == MaterialType::kEmissive));
  BOOST_TEST(s.materials[3].emission[0] == 8.0f);
  BOOST_TEST_REQUIRE(s.spheres.size() == 1u);
  BOOST_TEST_REQUIRE(s.quads.size() == 1u);
  BOOST_TEST_REQUIRE(s.meshes.size() == 1u);
  BOOST_TEST(s.spheres[0].material == 0u);
  BOOST_TEST(s.spheres[0].radius == 0.5f);
  BOOST_TEST(s.quads[0].material == 1u);
  BOOST_TEST(s.quads[0].u[0] == 10.0f);
  BOOST_TEST(s.meshes[0].material == 2u);
  BOOST_TEST(s.meshes[0].vertices.size() == 3u);
  BOOST_TEST((s.meshes[0].triangles[0] == std::array<std::uint32_t, 3>{0, 1, 2}));
  BOOST_TEST(s.TriangleCount() == 1u);
}

BOOST_AUTO_TEST_CASE(defaults_are_applied) {
  SceneDescription s = MustParse(R"({"width": 8, "height": 4, "samples": 1,
      "camera": {"position": [0, 0, 3], "look_at": [0, 4, 0]},
      "materials": [], "objects": []})");
  BOOST_TEST(s.max_depth == 8);
  BOOST_TEST(s.seed == 0u);
  BOOST_TEST((s.camera.up == Float3{0, 1, 0}));
  BOOST_TEST(s.camera.vfov_degrees == 40.0f);
  BOOST_TEST(s.camera.aperture == 0.0f);
  BOOST_TEST(s.camera.focus_distance == 5.0f);  // |(0,4,-3)|
  BOOST_TEST((s.sky.horizon == Float3{1, 1, 1}));
  BOOST_TEST((s.sky.zenith == Float3{0.5f, 0.7f, 1.0f}));
  BOOST_TEST(s.materials.empty());
  BOOST_TEST(s.spheres.empty());
}

BOOST_AUTO_TEST_CASE(explicit_values_and_limits_of_ranges_are_accepted) {
  SceneDescription s = MustParse(Example({
      Set("/width", 4096),
      Set("/height", 1),
      Set("/samples", 65536),
      Set("/max_depth", 64),
      Set("/seed", 4294967295LL),
      Set("/camera/vfov", 179),
      Set("/camera/aperture", 0.25),
      Set("/sky", {{"horizon", {0, 0, 0}}, {"zenith", {0, 0, 0}}}),
      Set("/materials/1/roughness", 1),
      Set("/materials/2/ior", 3),
      Set("/materials/3/emission", {1e4, 0, 0}),
  }));
  BOOST_TEST(s.width == 4096);
  BOOST_TEST(s.samples == 65536);
  BOOST_TEST(s.max_depth == 64);
  BOOST_TEST(s.seed == 4294967295u);
  BOOST_TEST(s.camera.vfov_degrees == 179.0f);
  BOOST_TEST(s.camera.aperture == 0.25f);
  BOOST_TEST((s.sky.zenith == Float3{0, 0, 0}));
  BOOST_TEST(s.materials[3].emission[0] == 1e4f);
}

BOOST_AUTO_TEST_CASE(integers_may_be_written_as_integral_numbers) {
  SceneDescription s = MustParse(Example({Set("/width", 1e3), Set("/samples", 2.0)}));
  BOOST_TEST(s.width == 1000);
  BOOST_TEST(s.samples == 2);
}

BOOST_AUTO_TEST_CASE(metal_roughness_defaults_to_zero) {
  SceneDescription s = MustParse(Example({Remove("/materials/1/roughness")}));
  BOOST_TEST(s.materials[1].roughness == 0.0f);
}

BOOST_AUTO_TEST_CASE(objects_keep_json_order_within_each_kind) {
  SceneDescription s = MustParse(Example({
      Set("/objects/3",
          {{"type", "sphere"}, {"center", {1, 2, 3}}, {"radius", 2}, {"material", "lamp"}}),
  }));
  BOOST_TEST_REQUIRE(s.spheres.size() == 2u);
  BOOST_TEST(s.spheres[1].material == 3u);
  BOOST_TEST((s.spheres[1].center == Float3{1, 2, 3}));
}

BOOST_AUTO_TEST_CASE(every_bad_scene_is_refused_with_exact_pointers) {
  BOOST_TEST(BadScenes().size() >= 60u);
  std::set<std::string> rules;
  for (const BadScene& row : BadScenes()) {
    BOOST_TEST_CONTEXT(row.rule) {
      BOOST_TEST(rules.insert(row.rule).second);  // distinct rows
      auto r = ParseScene(row.body);
      BOOST_TEST_REQUIRE(!r.ok());
      const SceneError& e = r.error();
      BOOST_TEST((e.kind == SceneError::Kind::kInvalidScene));
      auto expected = row.pointers;
      std::sort(expected.begin(), expected.end());
      BOOST_TEST(Pointers(e) == expected, boost::test_tools::per_element());
      BOOST_TEST(!e.message.empty());
      for (const auto& f : e.findings) BOOST_TEST(!f.detail.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(details_say_what_is_wrong) {
  const std::string kHugeKey(1 << 20, 'k');
  struct Row {
    std::string body;
    std::string pointer;
    std::string detail;
  };
  const std::vector<Row> rows = {
      {Example({Set("/objects/0/radius", 0)}), "/objects/0/radius", "must be > 0"},
      {Example({Set("/width", 5000)}), "/width", "must be in [1, 4096]"},
      {Example({Set("/width", 1.5)}), "/width", "must be an integer"},
      {Example({Remove("/samples")}), "/samples", "is required"},
      {Example({Set("/extra", 1)}), "/extra", "unknown key"},
      {Example({Set("/objects/0/material", "blue")}), "/objects/0/material",
       "material \"blue\" is not defined"},
      {Example({Set("/objects/2/triangles/0/2", 3)}), "/objects/2/triangles/0/2",
       "must be a vertex index in [0, 2]"},
      {Example({Set("/materials/1/name", "red")}), "/materials/1/name",
       "duplicate material name \"red\" (also /materials/0)"},
      {R"({"a": 1, "a": 2})", "/a", "duplicate key"},
      // A huge key is not quoted back: the pointer stops before it.
      {Example({Set("/" + kHugeKey, 1)}), "", "unknown key (under a key too long to quote)"},
      {Example({Set("/camera/" + kHugeKey, 1)}), "/camera",
       "unknown key (under a key too long to quote)"},
      {"{\"" + kHugeKey + "\": 1, \"" + kHugeKey + "\": 2}", "",
       "duplicate key (under a key too long to quote)"},
  };
  for (const Row& row : rows) {
    BOOST_TEST_CONTEXT(row.pointer) {
      auto r = ParseScene(row.body);
      BOOST_TEST_REQUIRE(!r.ok());
      const auto& f = r.error().findings;
      auto it = std::find_if(f.begin(), f.end(),
                             [&](const SceneFinding& x) { return x.pointer == row.pointer; });
      BOOST_TEST_REQUIRE((it != f.end()));
      BOOST_TEST(it->detail == row.detail);
      BOOST_TEST(r.error().message.size() < 1000u);
    }
  }
}

BOOST_AUTO_TEST_CASE(duplicate_keys_are_found_at_any_depth) {
  std::string body = kSpecExample;
  // Repeat a key inside the camera and inside the third object.
  body.replace(body.find("\"vfov\": 40"), 10, "\"vfov\": 40, \"vfov\": 41");
  body.replace(body.find("\"material\": \"glass\""), 19,
               "\"material\": \"glass\", \"material\": \"red\"");
  auto r = ParseScene(body);
  BOOST_TEST_REQUIRE(!r.ok());
  BOOST_TEST(
      (Pointers(r.error()) == std::vector<std::string>{"/camera/vfov", "/objects/2/material"}));
}

BOOST_AUTO_TEST_CASE(malformed_json_reports_line_and_column) {
  struct Row {
    const char* what;
    std::string body;
    int line;
    int column;
  };
  const std::vector<Row> rows = {
      {"empty body", "", 1, 1},
      {"unterminated object", "{", 1, 2},
      {"missing value on line 2", "{\"width\": 640,\n  \"height\": }", 2, 13},
      {"trailing comma", "{\"width\": 640,}", 1, 15},
      {"garbage after the document", "{} x", 1, 4},
      {"NaN is not JSON", "{\"width\": NaN}", 1, 11},
      {"single quotes", "{'width': 1}", 1, 2},
      {"comments are not JSON", "{\n// note\n}", 2, 1},
      {"unterminated string on line 3", "{\n\"a\":\n\"abc", 3, 5},
      {"raw control character in a string", "{\"a\": \"x\ty\"}", 1, 9},
      {"invalid UTF-8 in a string", "{\"a\": \"\xff\"}", 1, 8},
      {"bare word", "hello", 1, 1},
  };
  for (const Row& row : rows) {
    BOOST_TEST_CONTEXT(row.what) {
      auto r = ParseScene(row.body);
      BOOST_TEST_REQUIRE(!r.ok());
      const SceneError& e = r.error();
      BOOST_TEST((e.kind == SceneError::Kind::kMalformedJson));
      BOOST_TEST(e.line == row.line);
      BOOST_TEST(e.column == row.column);
      BOOST_TEST(e.findings.empty());
      BOOST_TEST(e.message.find("line " + std::to_string(row.line)) != std::string::npos,
                 e.message);
      // Safe to embed in a JSON response as it is.
      BOOST_TEST(std::all_of(e.message.begin(), e.message.end(),
                             [](char c) { return c >= 0x20 && c < 0x7F; }));
    }
  }
}

std::string Nested(char open, char close, std::size_t depth) {
  std::string s;
  for (std::size_t i = 0; i < depth; ++i) s += open == '{' ? "{\"a\":" : "[";
  s += "0";
  for (std::size_t i = 0; i < depth; ++i) s += close;
  return s;
}

BOOST_AUTO_TEST_CASE(deep_nesting_is_refused_without_recursion) {
  // 4 MiB of '[': would overflow the stack of a recursive parser.
  auto r = ParseScene(std::string(4 << 20, '['));
  BOOST_TEST_REQUIRE(!r.ok());
  BOOST_TEST((r.error().kind == SceneError::Kind::kInvalidScene));
  BOOST_TEST_REQUIRE(r.error().findings.size() == 1u);
  std::string pointer;
  for (std::size_t i = 0; i < kMaxSceneJsonDepth; ++i) pointer += "/0";
  BOOST_TEST(r.error().findings[0].pointer == pointer);

  auto objects = ParseScene(Nested('{', '}', 100000));
  BOOST_TEST_REQUIRE(!objects.ok());
  BOOST_TEST(objects.error().findings.size() == 1u);

  // At the bound itself the document parses (and is then just a bad scene).
  auto at_bound = ParseScene(Nested('[', ']', kMaxSceneJsonDepth));
  BOOST_TEST_REQUIRE(!at_bound.ok());
  BOOST_TEST((Pointers(at_bound.error()) == std::vector<std::string>{""}));
}

// The example with its mesh (/objects/2) replaced by `text`: one or more objects
// written out as JSON text, because a DOM of a million triangles is slow to build.
std::string WithObjectText(const std::string& text) {
  const std::string placeholder = "\"@objects@\"";
  std::string body = Example({Set("/objects/2", "@objects@")});
  return body.replace(body.find(placeholder), placeholder.size(), text);
}

// The example with the mesh replaced by `meshes` meshes of `triangles_each`
// triangles (all [0, 1, 2]), built as text because a DOM would be slow.
std::string WithMeshes(std::size_t meshes, std::size_t triangles_each) {
  std::string text;
  for (std::size_t m = 0; m < meshes; ++m) {
    text += m ? ",{" : "{";
    text +=
        "\"type\":\"mesh\",\"material\":\"glass\",\"vertices\":[[0,0,0],[1,0,0],[0,1,0]],"
        "\"triangles\":[";
    for (std::size_t i = 0; i < triangles_each; ++i) text += i ? ",[0,1,2]" : "[0,1,2]";
    text += "]}";
  }
  return WithObjectText(text);
}

BOOST_AUTO_TEST_CASE(triangle_limit_counts_every_mesh) {
  SceneDescription s = MustParse(WithMeshes(2, kMaxTriangles / 2));
  BOOST_TEST(s.TriangleCount() == kMaxTriangles);

  auto one_too_many = ParseScene(WithMeshes(1, kMaxTriangles + 1));
  BOOST_TEST_REQUIRE(!one_too_many.ok());
  BOOST_TEST((Pointers(one_too_many.error()) == std::vector<std::string>{"/objects/2/triangles"}));

  auto in_total = ParseScene(WithMeshes(2, kMaxTriangles / 2 + 1));
  BOOST_TEST_REQUIRE(!in_total.ok());
  BOOST_TEST((Pointers(in_total.error()) == std::vector<std::string>{"/objects/3/triangles"}));
}

BOOST_AUTO_TEST_CASE(object_and_material_limits) {
  Json sphere = {{"type", "sphere"}, {"center", {0, 0, 0}}, {"radius", 1}, {"material", "red"}};
  Json objects = Json::array();
  for (std::size_t i = 0; i < kMaxObjects; ++i) objects.push_back(sphere);
  BOOST_TEST(MustParse(Example({Set("/objects", objects)})).spheres.size() == kMaxObjects);
  objects.push_back(sphere);
  auto too_many_objects = ParseScene(Example({Set("/objects", objects)}));
  BOOST_TEST_REQUIRE(!too_many_objects.ok());
  BOOST_TEST((Pointers(too_many_objects.error()) == std::vector<std::string>{"/objects"}));

  Json materials = Json::array();
  for (std::size_t i = 0; i < kMaxMaterials; ++i) {
    materials.push_back({{"name", i == 0 ? std::string("red") : "m" + std::to_string(i)},
                         {"type", "lambertian"},
                         {"albedo", {0.5, 0.5, 0.5}}});
  }
  auto at_limit =
      Example({Set("/materials", materials), Remove("/objects/2"), Remove("/objects/1")});
  BOOST_TEST(MustParse(at_limit).materials.size() == kMaxMaterials);
  materials.push_back({{"name", "extra"}, {"type", "lambertian"}, {"albedo", {0, 0, 0}}});
  auto over = ParseScene(
      Example({Set("/materials", materials), Remove("/objects/2"), Remove("/objects/1")}));
  BOOST_TEST_REQUIRE(!over.ok());
  BOOST_TEST(
      (Pointers(over.error()) == std::vector<std::string>{"/materials", "/objects/0/material"}));
}

BOOST_AUTO_TEST_CASE(findings_are_capped_and_counted) {
  Json mesh = {{"type", "mesh"}, {"material", "red"}, {"triangles", {{0, 1, 2}}}};
  mesh["vertices"] = Json::array();
  for (int i = 0; i < 500; ++i) mesh["vertices"].push_back({0, 0, "x"});
  auto r = ParseScene(Example({Set("/objects/2", mesh)}));
  BOOST_TEST_REQUIRE(!r.ok());
  const auto& f = r.error().findings;
  BOOST_TEST_REQUIRE(f.size() == kMaxSceneFindings + 1);
  BOOST_TEST(f.front().pointer == "/objects/2/vertices/0/2");
  BOOST_TEST(f.back().pointer == "");
  BOOST_TEST(f.back().detail == "... and 400 more findings");
  BOOST_TEST(r.error().message.find("500 problems") == 0u, r.error().message);
}

// A body of about `bytes` holding one big mesh (a triangle strip), as text.
std::string BigMeshBody(std::size_t bytes) {
  std::string vertices;
  std::string triangles;
  std::size_t n = 0;
  for (; vertices.size() + triangles.size() < bytes; ++n) {
    vertices += (n ? ",[" : "[") + std::to_string(0.125 * n) + ",1.5,-2.25]";
    if (n >= 2) {
      triangles += (n > 2 ? ",[" : "[") + std::to_string(n - 2) + "," + std::to_string(n - 1) +
                   "," + std::to_string(n) + "]";
    }
  }
  return WithObjectText("{\"type\":\"mesh\",\"material\":\"glass\",\"vertices\":[" + vertices +
                        "],\"triangles\":[" + triangles + "]}");
}

BOOST_AUTO_TEST_CASE(a_4_mib_mesh_body_parses_whole) {
  const std::string body = BigMeshBody((4u << 20) - 4096);
  SceneDescription s = MustParse(body);
  BOOST_TEST_REQUIRE(s.meshes.size() == 1u);
  BOOST_TEST(s.meshes[0].triangles.size() + 2 == s.meshes[0].vertices.size());
}

BOOST_AUTO_TEST_CASE(json_pointer_tokens_are_escaped) {
  BOOST_TEST(EscapeJsonPointerToken("a/b~c") == "a~1b~0c");
  BOOST_TEST(EscapeJsonPointerToken("~1") == "~01");
  BOOST_TEST(EscapeJsonPointerToken("") == "");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq
