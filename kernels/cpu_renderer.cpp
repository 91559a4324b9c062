// The CPU backend: TracePixelSample over tiles on a pool of std::threads.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <system_error>
#include <thread>
#include <vector>

#include "kernels/backends.h"
#include "kernels/flat_scene.h"
#include "kernels/trace.h"

namespace renderq::kernels {
namespace {

constexpr int kTileSize = 16;

class CpuRenderer final : public Renderer {
 public:
  CpuRenderer(const SceneDescription& desc, FlatScene scene, int threads, Estimator estimator)
      : Renderer(desc, scene.Fingerprint(), StateOrigin{RenderBackend::kCpu, 0, estimator}),
        scene_(std::move(scene)),
        sums_(static_cast<size_t>(desc.width) * desc.height * 3, 0.0f),
        threads_(threads),
        estimator_(ToEstimatorKind(estimator)) {}

  std::string device_name() const override { return "cpu"; }

  Status RenderPass(int samples, const std::atomic<bool>* cancel) override {
    if (samples < 1) return Status::InvalidArgument("a pass needs at least one sample");
    const auto start = std::chrono::steady_clock::now();
    // A cancelled pass is rolled back so the buffer always holds whole passes.
    std::vector<float> before;
    if (cancel != nullptr) before = sums_;
    const int tiles_x = (width() + kTileSize - 1) / kTileSize;
    const int tiles_y = (height() + kTileSize - 1) / kTileSize;
    const int tile_count = tiles_x * tiles_y;
    std::atomic<int> next_tile{0};
    std::atomic<bool> stopped{false};
    std::atomic<std::uint64_t> rays{0};
    SceneView view = scene_.View();
    view.estimator = estimator_;
    const auto first = static_cast<uint32_t>(samples_done());
    auto work = [&] {
      for (;;) {
        const int tile = next_tile.fetch_add(1, std::memory_order_relaxed);
        if (tile >= tile_count) return;
        const int x0 = (tile % tiles_x) * kTileSize;
        const int y0 = (tile / tiles_x) * kTileSize;
        std::uint64_t tile_rays = 0;
        const bool whole = RenderTile(view, x0, y0, first, samples, cancel, &tile_rays);
        rays.fetch_add(tile_rays, std::memory_order_relaxed);
        if (!whole) {
          stopped.store(true, std::memory_order_relaxed);
          return;
        }
      }
    };
    const int n = std::max(1, std::min(threads_, tile_count));
    std::vector<std::thread> pool;
    pool.reserve(static_cast<size_t>(n - 1));
    try {
      for (int i = 1; i < n; ++i) pool.emplace_back(work);
    } catch (const std::system_error&) {
      // Out of threads: the ones started and this one share the tiles.
    }
    work();
    for (auto& t : pool) t.join();
    if (stopped.load() || (cancel != nullptr && cancel->load())) {
      if (cancel != nullptr) sums_ = std::move(before);
      return Status::Cancelled("render pass cancelled");
    }
    set_samples_done(samples_done() + samples);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    AddPassStats(samples, seconds);
    AddDeviceStats(rays.load(), seconds, 1);
    return Status::Ok();
  }

  Result<std::vector<float>> Accumulation() override { return sums_; }

 protected:
  Status SetAccumulation(std::span<const float> sums) override {
    sums_.assign(sums.begin(), sums.end());
    return Status::Ok();
  }

 private:
  // Adds samples [first, first + count) to every pixel of the tile, each pixel's
  // samples in order. Returns false when cancelled (the tile is then partial).
  // Adds the tile's rays to *rays (whole or not).
  bool RenderTile(const SceneView& view, int x0, int y0, uint32_t first, int count,
                  const std::atomic<bool>* cancel, std::uint64_t* rays) {
    const int x1 = std::min(x0 + kTileSize, width());
    const int y1 = std::min(y0 + kTileSize, height());
    for (int y = y0; y < y1; ++y) {
      for (int x = x0; x < x1; ++x) {
        if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) return false;
        float* sum = &sums_[(static_cast<size_t>(y) * width() + x) * 3];
        uint32_t pixel_rays = 0;
        for (int s = 0; s < count; ++s) {
          const Vec3 l = TracePixelSample(view, x, y, first + static_cast<uint32_t>(s), pixel_rays);
          sum[0] += l.x;
          sum[1] += l.y;
          sum[2] += l.z;
        }
        *rays += pixel_rays;
      }
    }
    return true;
  }

  FlatScene scene_;
  std::vector<float> sums_;
  int threads_;
  EstimatorKind estimator_;
};

}  // namespace

Result<std::unique_ptr<Renderer>> CreateCpuRenderer(const SceneDescription& scene,
                                                    const RendererOptions& options) {
  int threads = options.cpu_threads;
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::unique_ptr<Renderer> r =
      std::make_unique<CpuRenderer>(scene, BuildFlatScene(scene), threads, options.estimator);
  return r;
}

}  // namespace renderq::kernels
