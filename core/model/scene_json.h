// ParseScene: the request body of POST /api/v1/jobs (SPEC "Scene format") turned
// into a validated SceneDescription, or into a failure that says everything that
// is wrong with it.
//
// Contract
// - Never throws, never crashes, on any byte string (it is fuzzed). Thread-safe:
//   no shared state. Bounded: nesting deeper than kMaxSceneJsonDepth is refused
//   while parsing (before any recursion could overflow the stack), and at most
//   kMaxSceneFindings findings are kept.
// - On success every default is applied (max_depth 8, seed 0, up [0,1,0], vfov 40,
//   aperture 0, focus_distance |look_at - position|, sky horizon [1,1,1] and zenith
//   [0.5,0.7,1]), material names are resolved to indices into `materials`, and every
//   rule below holds, so the renderer needs no checks of its own.
// - On failure, SceneError::kind tells the HTTP layer which answer to give:
//     kMalformedJson -> 400: `message` names the problem, `line`/`column` (1-based,
//                       counted in bytes; a tab is one column) say where.
//     kInvalidScene  -> 422: `findings` lists EVERY rule broken (not just the
//                       first), each with an RFC 6901 pointer ("~" as "~0", "/" as
//                       "~1") and a short detail ("must be in [1, 4096]").
//   `message` is a one-line summary either way. Every string in a SceneError is
//   valid UTF-8 (bytes of a malformed body are shown as '?'), so it can be put in
//   a JSON response as it is.
//
// Rules (beyond SPEC's text, these are the choices made here)
// - Top level is an object. Unknown keys are errors everywhere, and so are keys
//   repeated within one object (reported at the repeated key's pointer).
// - Integer fields accept any JSON number with no fractional part (1000 and 1e3
//   alike, as JSON Schema's "integer"); 1.5 or a value outside the range is an error.
//   Numbers too large for a double (1e400) are reported at their pointer as
//   "number out of range"; parsing stops there, so that is the only finding.
// - Vectors: exactly 3 numbers. Positions and edge vectors (camera position,
//   look_at, up, sphere center, quad corner/u/v, mesh vertices) lie within
//   +-kMaxCoordinate so the renderer's float math stays finite; radius is in
//   (0, kMaxCoordinate]; aperture in [0, kMaxCoordinate]; focus_distance in
//   (0, kMaxCoordinate]. Colours: albedo in [0,1], emission and sky in [0,1e4].
// - Materials: "name" (1..128 bytes, unique) and "type" are required for all.
//     lambertian: albedo (required)
//     metal:      albedo (required), roughness (optional, default 0, in [0,1])
//     dielectric: ior (required, in [1,3])
//     emissive:   emission (required)
//   Any other key on a material is unknown (e.g. "roughness" on a lambertian). A
//   material with a missing or unknown type has only its name and type checked.
// - Objects: "type" and "material" (a defined name) are required for all.
//     sphere: center, radius        quad: corner, u, v (non-zero, not parallel)
//     mesh:   vertices (non-empty array of 3-vectors), triangles (non-empty array
//             of 3 vertex indices, each < the mesh's vertex count)
// - camera: position and look_at required, look_at differs from position, up is
//   non-zero and not parallel to the view direction. sky: horizon and zenith are
//   each optional.
// - Limits: kMaxMaterials materials, kMaxObjects objects, kMaxTriangles triangles
//   and kMaxVertices vertices in total. An array over its limit gets one finding at
//   its pointer and its elements are not checked one by one.
// - Nesting deeper than kMaxSceneJsonDepth is an invalid scene with one finding at
//   the container that went too deep (no valid scene nests deeper than 5).
// - Past kMaxSceneFindings findings the list ends with one more finding, pointer ""
//   and detail "... and N more findings".
// - A pointer longer than kMaxSceneFindingPointerBytes (a key of that size in the
//   body) is cut back to its whole tokens that fit, and its detail ends with
//   "(under a key too long to quote)".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/model/scene.h"
#include "core/model/status.h"

namespace renderq {

inline constexpr std::size_t kMaxSceneJsonDepth = 16;
inline constexpr std::size_t kMaxSceneFindings = 100;
inline constexpr std::size_t kMaxSceneFindingPointerBytes = 512;
inline constexpr std::size_t kMaxMaterials = 1000;
inline constexpr std::size_t kMaxObjects = 100000;
inline constexpr std::uint64_t kMaxTriangles = 1000000;
inline constexpr std::uint64_t kMaxVertices = 3000000;
inline constexpr double kMaxCoordinate = 1e6;
inline constexpr std::size_t kMaxMaterialNameBytes = 128;

// One broken rule: where (RFC 6901 pointer into the request body) and what.
struct SceneFinding {
  std::string pointer;  // "/objects/3/radius"; "" is the whole document
  std::string detail;   // "must be > 0"

  bool operator==(const SceneFinding&) const = default;
};

struct SceneError {
  enum class Kind { kMalformedJson, kInvalidScene };

  Kind kind = Kind::kInvalidScene;
  // One line for logs and for a problem's "detail": "line 3, column 7: syntax
  // error ..." or "3 problems in the scene" (or the single finding's text).
  std::string message;
  int line = 0;                        // kMalformedJson only: 1-based
  int column = 0;                      // kMalformedJson only: 1-based, in bytes
  std::vector<SceneFinding> findings;  // kInvalidScene only: never empty

  // kInvalidArgument carrying `message`, for callers that only need a Status.
  Status ToStatus() const { return Status::InvalidArgument(message); }
};

// A SceneDescription or the SceneError that explains why there is none.
class [[nodiscard]] SceneParseResult {
 public:
  SceneParseResult(SceneDescription scene) : v_(std::move(scene)) {}  // NOLINT: implicit by design
  SceneParseResult(SceneError error) : v_(std::move(error)) {}        // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<SceneDescription>(v_); }
  const SceneDescription& scene() const& { return std::get<SceneDescription>(v_); }
  SceneDescription&& scene() && { return std::get<SceneDescription>(std::move(v_)); }
  const SceneError& error() const { return std::get<SceneError>(v_); }

 private:
  std::variant<SceneDescription, SceneError> v_;
};

// Parses and validates `body` (the whole request body, UTF-8 JSON).
SceneParseResult ParseScene(std::string_view body);

// RFC 6901 escaping of one reference token: "~" -> "~0", "/" -> "~1".
std::string EscapeJsonPointerToken(std::string_view token);

}  // namespace renderq
