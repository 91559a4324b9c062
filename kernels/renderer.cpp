#include "kernels/renderer.h"

#include <algorithm>
#include <cfloat>
#include <cstring>

#include "kernels/backends.h"
#include "kernels/color.h"
#include "kernels/flat_scene.h"

namespace renderq {
namespace {

// State layout (little-endian, as every supported host is):
//   "RQSTATE1" | u32 version | u32 backend | u32 device_arch | u32 estimator |
//   u32 width | u32 height | u32 samples_done | u64 scene fingerprint |
//   f32 sums[width*height*3] | u64 FNV-1a of all before.
// Version 2 added the origin (backend, device_arch, estimator) and came with
// light sampling: a version 1 state holds samples of the old estimator and is
// refused like any state of another origin. Bump the version whenever the
// samples a given (scene, seed, pixel, sample) produces change.
constexpr char kStateMagic[8] = {'R', 'Q', 'S', 'T', 'A', 'T', 'E', '1'};
constexpr std::uint32_t kStateVersion = 2;
constexpr size_t kStateHeaderSize = 8 + 4 * 7 + 8;
constexpr size_t kOffsetVersion = 8;
constexpr size_t kOffsetBackend = 12;
constexpr size_t kOffsetDeviceArch = 16;
constexpr size_t kOffsetEstimator = 20;
constexpr size_t kOffsetWidth = 24;
constexpr size_t kOffsetHeight = 28;
constexpr size_t kOffsetSamples = 32;
constexpr size_t kOffsetFingerprint = 36;
static_assert(kOffsetFingerprint + 8 == kStateHeaderSize);

std::uint64_t Fnv1a(const std::uint8_t* p, size_t n) {
  std::uint64_t h = 14695981039346656037ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

template <typename T>
void Append(std::vector<std::uint8_t>* out, const T& v) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
  out->insert(out->end(), p, p + sizeof(T));
}

template <typename T>
T ReadAt(std::span<const std::uint8_t> bytes, size_t offset) {
  T v;
  std::memcpy(&v, bytes.data() + offset, sizeof(T));
  return v;
}

}  // namespace

const char* RenderBackendName(RenderBackend backend) {
  switch (backend) {
    case RenderBackend::kCpu: return "cpu";
    case RenderBackend::kCuda: return "cuda";
  }
  return "unknown backend";  // a state from a later version
}

const char* EstimatorName(Estimator estimator) {
  switch (estimator) {
    case Estimator::kNextEventMis: return "nee-mis";
    case Estimator::kBsdfSampling: return "bsdf";
  }
  return "unknown estimator";
}

std::string StateOriginName(const StateOrigin& origin) {
  std::string name = RenderBackendName(origin.backend);
  if (origin.backend == RenderBackend::kCuda) name += " sm_" + std::to_string(origin.device_arch);
  return name + ", " + EstimatorName(origin.estimator);
}

Result<std::unique_ptr<Renderer>> Renderer::Create(const SceneDescription& scene,
                                                   const RendererOptions& options) {
  if (scene.width < 1 || scene.height < 1 || scene.max_depth < 1) {
    return Status::InvalidArgument("scene has no pixels or max_depth < 1");
  }
  if (options.cuda_sample_lanes < 0 || options.cuda_sample_lanes > 128 ||
      (options.cuda_sample_lanes & (options.cuda_sample_lanes - 1)) != 0) {
    return Status::InvalidArgument("cuda_sample_lanes must be 0 or a power of two up to 128");
  }
  if (options.backend == RenderBackend::kCuda) return kernels::CreateCudaRenderer(scene, options);
  return kernels::CreateCpuRenderer(scene, options);
}

Renderer::Renderer(const SceneDescription& scene, std::uint64_t fingerprint,
                   const StateOrigin& origin)
    : width_(scene.width),
      height_(scene.height),
      max_depth_(scene.max_depth),
      scene_samples_(std::max(scene.samples, 0)),
      fingerprint_(fingerprint),
      origin_(origin) {}

Renderer::Renderer(const SceneDescription& scene, std::uint64_t fingerprint)
    : Renderer(scene, fingerprint, StateOrigin{}) {}

double Renderer::samples_per_second() const {
  return stats_.render_seconds > 0.0 ? stats_.pixel_samples / stats_.render_seconds : 0.0;
}

void Renderer::AddPassStats(int samples, double seconds) {
  stats_.pixel_samples += static_cast<double>(width_) * height_ * samples;
  stats_.render_seconds += seconds;
}

void Renderer::AddDeviceStats(std::uint64_t rays, double device_seconds, std::uint64_t launches) {
  stats_.rays += rays;
  stats_.device_seconds += device_seconds;
  stats_.launches += launches;
}

Result<std::vector<std::uint8_t>> Renderer::ImageRgb8() {
  ASSIGN_OR_RETURN(std::vector<float> sums, Accumulation());
  return kernels::SumsToSrgb8(sums, samples_done_);
}

Result<std::vector<std::uint8_t>> Renderer::ExportState() {
  ASSIGN_OR_RETURN(std::vector<float> sums, Accumulation());
  std::vector<std::uint8_t> out;
  out.reserve(kStateHeaderSize + sums.size() * sizeof(float) + 8);
  out.insert(out.end(), std::begin(kStateMagic), std::end(kStateMagic));
  Append(&out, kStateVersion);
  Append(&out, static_cast<std::uint32_t>(origin_.backend));
  Append(&out, origin_.device_arch);
  Append(&out, static_cast<std::uint32_t>(origin_.estimator));
  Append(&out, static_cast<std::uint32_t>(width_));
  Append(&out, static_cast<std::uint32_t>(height_));
  Append(&out, static_cast<std::uint32_t>(samples_done_));
  Append(&out, fingerprint_);
  const auto* p = reinterpret_cast<const std::uint8_t*>(sums.data());
  out.insert(out.end(), p, p + sums.size() * sizeof(float));
  Append(&out, Fnv1a(out.data(), out.size()));
  return out;
}

Status Renderer::ImportState(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kOffsetVersion + 4 ||
      std::memcmp(bytes.data(), kStateMagic, sizeof kStateMagic) != 0) {
    return Status::InvalidArgument("not a render state (bad magic)");
  }
  const auto version = ReadAt<std::uint32_t>(bytes, kOffsetVersion);
  if (version != kStateVersion) {
    return Status::InvalidArgument("render state version " + std::to_string(version) +
                                   " is not this renderer's (" + std::to_string(kStateVersion) +
                                   "): its samples came from another estimator");
  }
  const size_t floats = static_cast<size_t>(width_) * height_ * 3;
  const size_t expected = kStateHeaderSize + floats * sizeof(float) + 8;
  if (bytes.size() != expected) {
    return Status::InvalidArgument("render state has " + std::to_string(bytes.size()) +
                                   " bytes, expected " + std::to_string(expected));
  }
  if (ReadAt<std::uint64_t>(bytes, expected - 8) != Fnv1a(bytes.data(), expected - 8)) {
    return Status::InvalidArgument("render state checksum mismatch (torn or corrupted)");
  }
  StateOrigin written;
  written.backend = static_cast<RenderBackend>(ReadAt<std::uint32_t>(bytes, kOffsetBackend));
  written.device_arch = ReadAt<std::uint32_t>(bytes, kOffsetDeviceArch);
  written.estimator = static_cast<Estimator>(ReadAt<std::uint32_t>(bytes, kOffsetEstimator));
  if (!(written == origin_)) {
    return Status::InvalidArgument("render state was written by " + StateOriginName(written) +
                                   ", this renderer is " + StateOriginName(origin_) +
                                   ": a render continues byte-identically only where it began");
  }
  if (ReadAt<std::uint32_t>(bytes, kOffsetWidth) != static_cast<std::uint32_t>(width_) ||
      ReadAt<std::uint32_t>(bytes, kOffsetHeight) != static_cast<std::uint32_t>(height_) ||
      ReadAt<std::uint64_t>(bytes, kOffsetFingerprint) != fingerprint_) {
    return Status::InvalidArgument("render state belongs to a different scene");
  }
  // The checksum only proves the bytes are the ones written; a state this
  // scene's render cannot have (more samples than it asks for, a sum no
  // sample adds up to) is refused too, so a hostile file cannot overflow the
  // sample count or put NaN into the image.
  const auto samples = ReadAt<std::uint32_t>(bytes, kOffsetSamples);
  if (samples > static_cast<std::uint32_t>(scene_samples_)) {
    return Status::InvalidArgument("render state has " + std::to_string(samples) +
                                   " samples, the scene asks for " +
                                   std::to_string(scene_samples_));
  }
  std::vector<float> sums(floats);
  std::memcpy(sums.data(), bytes.data() + kStateHeaderSize, floats * sizeof(float));
  if (!std::all_of(sums.begin(), sums.end(), [](float v) { return v >= 0.0f && v <= FLT_MAX; })) {
    return Status::InvalidArgument("render state holds a negative or non-finite sum");
  }
  RETURN_IF_ERROR(SetAccumulation(sums));
  samples_done_ = static_cast<int>(samples);
  return Status::Ok();
}

}  // namespace renderq
