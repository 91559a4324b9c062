// libFuzzer target: ParseScene on arbitrary bytes must return (never crash,
// hang or leak), and what it returns must keep the header's promises.
// Built with clang when RENDERQ_FUZZ=ON; tests/fuzz/run-fuzz builds and runs it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/model/scene_json.h"

namespace {

void Require(bool condition) {
  if (!condition) std::abort();
}

// Every string must go into a JSON response as it is: dump() throws on bad UTF-8.
void CheckError(const renderq::SceneError& e) {
  nlohmann::json j = {{"detail", e.message}};
  using Kind = renderq::SceneError::Kind;
  if (e.kind == Kind::kMalformedJson) {
    Require(e.line >= 1 && e.column >= 1 && e.findings.empty());
  } else {
    Require(!e.findings.empty() && e.findings.size() <= renderq::kMaxSceneFindings + 1);
    for (const auto& f : e.findings) {
      Require(f.pointer.empty() || f.pointer[0] == '/');
      Require(!f.detail.empty());
      j["errors"].push_back({{"pointer", f.pointer}, {"detail", f.detail}});
    }
  }
  (void)j.dump();
}

void CheckScene(const renderq::SceneDescription& s) {
  Require(s.width >= 1 && s.width <= 4096 && s.height >= 1 && s.height <= 4096);
  Require(s.samples >= 1 && s.samples <= 65536 && s.max_depth >= 1 && s.max_depth <= 64);
  Require(s.camera.focus_distance > 0 && s.materials.size() <= renderq::kMaxMaterials);
  Require(s.TriangleCount() <= renderq::kMaxTriangles);
  auto material_ok = [&](std::uint32_t m) { return m < s.materials.size(); };
  for (const auto& x : s.spheres) Require(material_ok(x.material) && x.radius > 0);
  for (const auto& x : s.quads) Require(material_ok(x.material));
  for (const auto& mesh : s.meshes) {
    Require(material_ok(mesh.material) && !mesh.vertices.empty());
    for (const auto& t : mesh.triangles) {
      for (std::uint32_t i : t) Require(i < mesh.vertices.size());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto result = renderq::ParseScene(body);
  try {
    if (result.ok()) {
      CheckScene(result.scene());
    } else {
      CheckError(result.error());
    }
  } catch (const std::exception&) {
    std::abort();  // a string that cannot be put in a response
  }
  return 0;
}
