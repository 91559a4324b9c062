#include "kernels/renderer.h"

#include <algorithm>
#include <cerrno>
#include <cfloat>
#include <cstring>
#include <fstream>
#include <iterator>

#include "core/atomic_file.h"
#include "kernels/backends.h"
#include "kernels/color.h"
#include "kernels/flat_scene.h"

namespace renderq {
namespace {

// State layout (little-endian, as every supported host is):
//   "RQSTATE1" | u32 version | u32 width | u32 height | u32 samples_done |
//   u64 scene fingerprint | f32 sums[width*height*3] | u64 FNV-1a of all before.
constexpr char kStateMagic[8] = {'R', 'Q', 'S', 'T', 'A', 'T', 'E', '1'};
constexpr std::uint32_t kStateVersion = 1;
constexpr size_t kStateHeaderSize = 8 + 4 * 4 + 8;

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

Status ErrnoStatus(const std::string& what, const std::string& path) {
  return Status::Unavailable(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

Result<std::unique_ptr<Renderer>> Renderer::Create(const SceneDescription& scene,
                                                   const RendererOptions& options) {
  if (scene.width < 1 || scene.height < 1 || scene.max_depth < 1) {
    return Status::InvalidArgument("scene has no pixels or max_depth < 1");
  }
  if (options.backend == RenderBackend::kCuda) {
    return kernels::CreateCudaRenderer(scene, options.cuda_device);
  }
  return kernels::CreateCpuRenderer(scene, options.cpu_threads);
}

Renderer::Renderer(const SceneDescription& scene, std::uint64_t fingerprint)
    : width_(scene.width),
      height_(scene.height),
      max_depth_(scene.max_depth),
      scene_samples_(std::max(scene.samples, 0)),
      fingerprint_(fingerprint) {}

double Renderer::samples_per_second() const {
  return render_seconds_ > 0.0 ? pixel_samples_ / render_seconds_ : 0.0;
}

void Renderer::AddPassStats(int samples, double seconds) {
  pixel_samples_ += static_cast<double>(width_) * height_ * samples;
  render_seconds_ += seconds;
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
  const size_t floats = static_cast<size_t>(width_) * height_ * 3;
  const size_t expected = kStateHeaderSize + floats * sizeof(float) + 8;
  if (bytes.size() != expected) {
    return Status::InvalidArgument("render state has " + std::to_string(bytes.size()) +
                                   " bytes, expected " + std::to_string(expected));
  }
  if (std::memcmp(bytes.data(), kStateMagic, sizeof kStateMagic) != 0 ||
      ReadAt<std::uint32_t>(bytes, 8) != kStateVersion) {
    return Status::InvalidArgument("not a render state (bad magic or version)");
  }
  if (ReadAt<std::uint64_t>(bytes, expected - 8) != Fnv1a(bytes.data(), expected - 8)) {
    return Status::InvalidArgument("render state checksum mismatch (torn or corrupted)");
  }
  if (ReadAt<std::uint32_t>(bytes, 12) != static_cast<std::uint32_t>(width_) ||
      ReadAt<std::uint32_t>(bytes, 16) != static_cast<std::uint32_t>(height_) ||
      ReadAt<std::uint64_t>(bytes, 24) != fingerprint_) {
    return Status::InvalidArgument("render state belongs to a different scene");
  }
  // The checksum only proves the bytes are the ones written; a state this
  // scene's render cannot have (more samples than it asks for, a sum no
  // sample adds up to) is refused too, so a hostile file cannot overflow the
  // sample count or put NaN into the image.
  const auto samples = ReadAt<std::uint32_t>(bytes, 20);
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

Status Renderer::SaveState(const std::string& path) {
  ASSIGN_OR_RETURN(std::vector<std::uint8_t> bytes, ExportState());
  return WriteFileAtomically(path, bytes, Durability::kDurable);
}

Status Renderer::LoadState(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoStatus("cannot open", path);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  if (in.bad()) return ErrnoStatus("cannot read", path);
  return ImportState(bytes);
}

}  // namespace renderq
