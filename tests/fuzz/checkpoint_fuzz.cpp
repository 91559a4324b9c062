// libFuzzer target: Renderer::ImportState, the reader of the checkpoints a
// worker resumes from. A damaged or hostile checkpoint must be refused with a
// Status, never crash the worker; one it accepts must leave a renderer the
// worker can go on with (render a pass, make an image, export again).
//
// A checkpoint carries a magic, the scene's size and fingerprint and a
// checksum, which random bytes almost never get right; so the first input byte
// picks how the rest is used:
//   mode & 3 == 0: the rest is the checkpoint as it is
//   mode & 3 == 1: the rest, with its trailing checksum recomputed
//   mode & 3 == 2: a valid checkpoint of the target's scene with the rest
//                  written over it at the offset in the rest's first two bytes
//                  (what a torn or corrupted write leaves), checksum recomputed
//   mode & 3 == 3: the same, checksum left as it is
// and mode & 4 truncates or extends the result by the rest's third byte.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "core/model/scene_json.h"
#include "kernels/renderer.h"

namespace {

void Require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "checkpoint_fuzz: violated: %s\n", what);
    std::abort();
  }
}

// A tiny scene, so a pass after an import costs microseconds.
constexpr std::string_view kScene = R"({
  "width": 4, "height": 3, "samples": 8, "max_depth": 2, "seed": 3,
  "camera": {"position": [0, 0, 3], "look_at": [0, 0, 0]},
  "materials": [{"name": "lamp", "type": "emissive", "emission": [2, 2, 2]},
                {"name": "red", "type": "lambertian", "albedo": [0.8, 0.1, 0.1]}],
  "objects": [{"type": "sphere", "center": [0, 0, 0], "radius": 1, "material": "red"},
              {"type": "sphere", "center": [0, 3, 0], "radius": 1, "material": "lamp"}]
})";

// The checkpoint's trailing checksum: FNV-1a (64-bit) of every byte before it,
// as the state format (kernels/renderer.cpp) defines it.
std::uint64_t Fnv1a(const std::uint8_t* p, std::size_t n) {
  std::uint64_t h = 14695981039346656037ull;
  for (std::size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

void FixChecksum(std::vector<std::uint8_t>& bytes) {
  if (bytes.size() < 8) return;
  const std::uint64_t sum = Fnv1a(bytes.data(), bytes.size() - 8);
  std::memcpy(bytes.data() + bytes.size() - 8, &sum, 8);
}

struct Target {
  renderq::SceneDescription scene;
  std::vector<std::uint8_t> valid_state;  // after one sample
};

const Target& TheTarget() {
  static const Target* target = [] {
    auto parsed = renderq::ParseScene(kScene);
    Require(parsed.ok(), "the target's scene parses");
    auto* t = new Target{parsed.scene(), {}};
    auto renderer = renderq::Renderer::Create(t->scene, {renderq::RenderBackend::kCpu, 0, 1});
    Require(renderer.ok(), "a CPU renderer");
    Require((*renderer)->RenderPass(1, nullptr).ok(), "a first pass");
    t->valid_state = (*renderer)->ExportState().value();
    return t;
  }();
  return *target;
}

std::vector<std::uint8_t> Checkpoint(const std::uint8_t* data, std::size_t size) {
  const std::uint8_t mode = data[0];
  std::span<const std::uint8_t> rest(data + 1, size - 1);
  std::vector<std::uint8_t> bytes;
  if ((mode & 3) < 2) {
    bytes.assign(rest.begin(), rest.end());
    if ((mode & 3) == 1) FixChecksum(bytes);
  } else {
    bytes = TheTarget().valid_state;
    if (rest.size() >= 2) {
      const std::size_t at = (rest[0] | (std::size_t{rest[1]} << 8)) % bytes.size();
      const std::size_t n = std::min(rest.size() - 2, bytes.size() - at);
      std::memcpy(bytes.data() + at, rest.data() + 2, n);
    }
    if ((mode & 3) == 2) FixChecksum(bytes);
  }
  if ((mode & 4) && rest.size() >= 3) {
    const int delta = static_cast<int>(rest[2]) - 128;
    bytes.resize(
        static_cast<std::size_t>(std::max<long>(0, static_cast<long>(bytes.size()) + delta)));
  }
  return bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const Target& target = TheTarget();
  const std::vector<std::uint8_t> bytes = Checkpoint(data, size);

  auto created = renderq::Renderer::Create(target.scene, {renderq::RenderBackend::kCpu, 0, 1});
  Require(created.ok(), "a CPU renderer");
  renderq::Renderer& renderer = **created;
  const renderq::Status imported = renderer.ImportState(bytes);
  if (!imported.ok()) {
    Require(imported.code() == renderq::StatusCode::kInvalidArgument,
            "a refused checkpoint is InvalidArgument");
    return 0;
  }

  // Accepted: it must be a state this scene's renderer could have written.
  Require(renderer.samples_done() >= 0 && renderer.samples_done() <= target.scene.samples,
          "samples_done within a scene's sample range");
  const std::vector<float> sums = renderer.Accumulation().value();
  for (float v : sums) Require(std::isfinite(v) && v >= 0.0f, "sums finite and non-negative");
  Require(renderer.ImageRgb8().ok(), "an image from the imported state");
  if (renderer.samples_done() < target.scene.samples) {  // as the worker renders: up to samples
    Require(renderer.RenderPass(1, nullptr).ok(), "a pass after the import");
  }
  const std::vector<std::uint8_t> again = renderer.ExportState().value();
  auto second = renderq::Renderer::Create(target.scene, {renderq::RenderBackend::kCpu, 0, 1});
  Require(second.ok() && (*second)->ImportState(again).ok(), "its own export imports again");
  return 0;
}
