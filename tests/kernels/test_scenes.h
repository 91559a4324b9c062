// Scenes and helpers shared by the kernels tests.
#pragma once

#include <cmath>
#include <cstdint>
#include <fstream>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "core/model/scene.h"
#include "core/model/scene_json.h"
#include "core/model/status.h"

namespace renderq {

// Lets Boost.Test print StatusCodes in failed comparisons.
inline std::ostream& operator<<(std::ostream& os, StatusCode code) {
  return os << StatusCodeName(code);
}

}  // namespace renderq

namespace renderq::testing {

// A SPEC scene file of the source tree (path relative to its root); nullopt
// when it cannot be read or does not parse.
inline std::optional<SceneDescription> LoadSceneFile(const std::string& relative_path) {
  std::ifstream in(std::string(RENDERQ_SOURCE_DIR) + "/" + relative_path);
  if (!in) return std::nullopt;
  std::stringstream body;
  body << in.rdbuf();
  SceneParseResult parsed = ParseScene(body.str());
  if (!parsed.ok()) return std::nullopt;
  return std::move(parsed).scene();
}

// An albedo-1 lambertian sphere under a uniform sky of `sky` radiance.
inline SceneDescription FurnaceScene(float sky) {
  SceneDescription s;
  s.width = 32;
  s.height = 24;
  s.samples = 64;
  s.max_depth = 16;
  s.seed = 1;
  s.camera.position = {0.0f, 0.0f, 3.0f};
  s.camera.look_at = {0.0f, 0.0f, 0.0f};
  s.camera.vfov_degrees = 30.0f;
  s.camera.focus_distance = 3.0f;
  s.sky.horizon = {sky, sky, sky};
  s.sky.zenith = {sky, sky, sky};
  s.materials.push_back(
      MaterialDesc{"white", MaterialType::kLambertian, {1.0f, 1.0f, 1.0f}, 0.0f, 1.5f, {}});
  s.spheres.push_back(SphereDesc{{0.0f, 0.0f, 0.0f}, 1.0f, 0});
  return s;
}

// A small scene with every primitive and material kind, for determinism tests.
inline SceneDescription MixedScene(int width, int height) {
  SceneDescription s;
  s.width = width;
  s.height = height;
  s.samples = 8;
  s.max_depth = 8;
  s.seed = 42;
  s.camera.position = {0.0f, 1.0f, 4.0f};
  s.camera.look_at = {0.0f, 0.5f, 0.0f};
  s.camera.aperture = 0.05f;
  s.camera.focus_distance = 4.0f;
  s.materials = {
      {"ground", MaterialType::kLambertian, {0.5f, 0.5f, 0.5f}, 0.0f, 1.5f, {}},
      {"steel", MaterialType::kMetal, {0.8f, 0.8f, 0.8f}, 0.2f, 1.5f, {}},
      {"glass", MaterialType::kDielectric, {}, 0.0f, 1.5f, {}},
      {"lamp", MaterialType::kEmissive, {}, 0.0f, 1.5f, {4.0f, 4.0f, 4.0f}},
  };
  s.quads.push_back(QuadDesc{{-5.0f, 0.0f, -5.0f}, {10.0f, 0.0f, 0.0f}, {0.0f, 0.0f, 10.0f}, 0});
  s.spheres.push_back(SphereDesc{{-0.8f, 0.5f, 0.0f}, 0.5f, 1});
  s.spheres.push_back(SphereDesc{{0.8f, 0.5f, 0.0f}, 0.5f, 2});
  s.spheres.push_back(SphereDesc{{0.0f, 2.5f, -1.0f}, 0.4f, 3});
  MeshDesc m;
  m.vertices = {{-0.3f, 0.0f, 1.0f}, {0.3f, 0.0f, 1.0f}, {0.0f, 0.8f, 0.8f}};
  m.triangles = {{0, 1, 2}};
  m.material = 0;
  s.meshes.push_back(m);
  return s;
}

}  // namespace renderq::testing
