// renderq-bench-gpu [--examples DIR] [--device N] [--threads N] [--check]
//
// The CUDA backend against the CPU backend, one scene at a time: every
// example at its own size and samples, a small scene (the Cornell box at
// 64x48, 1024 spp: too few pixels to fill a GPU without several samples per
// pixel in flight) and a large one (the spheres at 1920x1080, 32 spp). For
// each: PSNR of the GPU image against the CPU image (8-bit sRGB; both are
// noisy renders of the same image, so it measures agreement within noise),
// the relative difference of their mean radiance, GPU and CPU samples/s and
// rays/s, and the GPU time spent in kernels against the rest (launch, waits,
// copies). First the render kernel's registers, local memory and occupancy.
// Prints a Markdown report on stdout (bench/gpu/run keeps it).
//
// Exit codes: 0 done, 1 a render failed, 2 no CUDA device (or no CUDA backend
// in this build), 3 bad usage. --check only does the device check.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/model/scene_json.h"
#include "kernels/kernel_info.h"
#include "kernels/renderer.h"

namespace {

using renderq::RenderBackend;
using renderq::SceneDescription;

struct Args {
  std::string examples = std::string(RENDERQ_SOURCE_DIR) + "/examples";
  int device = 0;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  bool check_only = false;
};

bool Load(const std::string& path, SceneDescription* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream body;
  body << in.rdbuf();
  renderq::SceneParseResult parsed = renderq::ParseScene(body.str());
  if (!parsed.ok()) return false;
  *out = std::move(parsed).scene();
  return true;
}

double Psnr(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  double se = 0;
  for (size_t i = 0; i < a.size(); ++i) se += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  if (se == 0) return INFINITY;
  return 10 * std::log10(255.0 * 255.0 / (se / static_cast<double>(a.size())));
}

double Mean(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

struct Measured {
  bool ok = false;
  std::string error;
  double create_seconds = 0;  // BVH build and upload
  renderq::RenderStats stats;
  double samples_per_second = 0;
  std::vector<std::uint8_t> image;
  double mean = 0;
};

Measured Render(const SceneDescription& s, RenderBackend backend, const Args& args) {
  Measured m;
  renderq::RendererOptions o;
  o.backend = backend;
  o.cuda_device = args.device;
  o.cpu_threads = args.threads;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = renderq::Renderer::Create(s, o);
  m.create_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!r.ok()) {
    m.error = r.status().ToString();
    return m;
  }
  if (renderq::Status st = (*r)->RenderPass(s.samples, nullptr); !st.ok()) {
    m.error = st.ToString();
    return m;
  }
  auto image = (*r)->ImageRgb8();
  auto sums = (*r)->Accumulation();
  if (!image.ok() || !sums.ok()) {
    m.error = !image.ok() ? image.status().ToString() : sums.status().ToString();
    return m;
  }
  m.ok = true;
  m.stats = (*r)->stats();
  m.samples_per_second = (*r)->samples_per_second();
  m.image = std::move(image).value();
  m.mean = Mean(*sums) / s.samples;
  return m;
}

double PerSecond(double count, double seconds) { return seconds > 0 ? count / seconds : 0; }

int Run(const Args& args) {
  const std::vector<renderq::CudaDeviceInfo> devices = renderq::ProbeCudaDevices();
  const auto found = std::find_if(devices.begin(), devices.end(),
                                  [&](const auto& d) { return d.ordinal == args.device; });
  if (!renderq::CudaBackendCompiled() || found == devices.end()) {
    std::fprintf(stderr, "renderq-bench-gpu: no CUDA device %d (%s)\n", args.device,
                 !renderq::CudaBackendCompiled()
                     ? "this build has no CUDA backend"
                     : (std::to_string(devices.size()) + " devices found").c_str());
    return 2;
  }
  const renderq::CudaDeviceInfo& dev = *found;
  if (args.check_only) {
    std::printf("cuda:%d %s, compute %d.%d\n", dev.ordinal, dev.name.c_str(), dev.compute_major,
                dev.compute_minor);
    return 0;
  }
  std::printf(
      "## GPU vs CPU\n\nDevice: cuda:%d %s, compute capability %d.%d, %.0f GiB. CPU: %d "
      "threads.\n\n",
      dev.ordinal, dev.name.c_str(), dev.compute_major, dev.compute_minor,
      static_cast<double>(dev.total_memory) / (1 << 30), args.threads);
  auto info = renderq::DescribeCudaKernel(args.device);
  if (info.ok()) {
    const int resident = info->blocks_per_sm * info->threads_per_block;
    std::printf(
        "Render kernel: %d registers, %d B local memory per thread, %d B shared per block; "
        "%d blocks of %d threads per SM = %d of %d threads (%.0f %% occupancy), %d SMs.\n\n",
        info->registers, info->local_bytes, info->shared_bytes, info->blocks_per_sm,
        info->threads_per_block, resident, info->max_threads_per_sm,
        100.0 * resident / std::max(1, info->max_threads_per_sm), info->sm_count);
  } else {
    std::printf("Render kernel: %s\n\n", info.status().ToString().c_str());
  }

  struct Item {
    std::string name;
    SceneDescription scene;
  };
  std::vector<Item> items;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(args.examples)) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    Item it{f.stem().string(), {}};
    if (!Load(f.string(), &it.scene)) {
      std::fprintf(stderr, "renderq-bench-gpu: cannot load %s\n", f.c_str());
      return 1;
    }
    items.push_back(std::move(it));
  }
  for (const Item& it : std::vector<Item>(items)) {
    if (it.name == "cornell_box") {
      Item small{"small: cornell_box 64x48", it.scene};
      small.scene.width = 64;
      small.scene.height = 48;
      small.scene.samples = 1024;
      items.push_back(small);
    }
    if (it.name == "spheres") {
      Item large{"large: spheres 1920x1080", it.scene};
      large.scene.width = 1920;
      large.scene.height = 1080;
      large.scene.samples = 32;
      items.push_back(large);
    }
  }

  // Warm-up: context, module load and first launch are not the scenes' cost.
  {
    SceneDescription warm = items.front().scene;
    warm.width = 32;
    warm.height = 32;
    warm.samples = 4;
    (void)Render(warm, RenderBackend::kCuda, args);
  }

  std::printf(
      "| scene | size, spp, depth | PSNR GPU vs CPU | mean GPU/CPU - 1 | GPU samples/s | GPU "
      "rays/s "
      "| kernels / wall (overhead) | launches | CPU samples/s | GPU/CPU |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n");
  int failures = 0;
  for (const Item& it : items) {
    const SceneDescription& s = it.scene;
    const Measured gpu = Render(s, RenderBackend::kCuda, args);
    const Measured cpu = Render(s, RenderBackend::kCpu, args);
    if (!gpu.ok || !cpu.ok) {
      std::printf("| %s | %dx%d, %d, %d | failed: %s | | | | | | | |\n", it.name.c_str(), s.width,
                  s.height, s.samples, s.max_depth, (gpu.ok ? cpu.error : gpu.error).c_str());
      ++failures;
      continue;
    }
    const double wall = gpu.stats.render_seconds, kernels = gpu.stats.device_seconds;
    std::printf(
        "| %s | %dx%d, %d, %d | %.1f dB | %+.2f %% | %.3g | %.3g | %.3f / %.3f s (%.1f %%) | %llu "
        "| %.3g | %.1fx |\n",
        it.name.c_str(), s.width, s.height, s.samples, s.max_depth, Psnr(gpu.image, cpu.image),
        100 * (gpu.mean / cpu.mean - 1), gpu.samples_per_second,
        PerSecond(static_cast<double>(gpu.stats.rays), wall), kernels, wall,
        wall > 0 ? 100 * (wall - kernels) / wall : 0.0,
        static_cast<unsigned long long>(gpu.stats.launches), cpu.samples_per_second,
        gpu.samples_per_second / std::max(cpu.samples_per_second, 1e-9));
    std::fflush(stdout);
  }
  std::printf(
      "\nPSNR compares two noisy renders of one image (different rounding gives different "
      "paths), so it rises with spp; the mean difference should stay within a few tenths of a "
      "percent. Overhead = wall time in RenderPass minus kernel time (events).\n");
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--check") {
      args.check_only = true;
    } else if (a == "--examples" && i + 1 < argc) {
      args.examples = argv[++i];
    } else if (a == "--device" && i + 1 < argc) {
      args.device = std::atoi(argv[++i]);
    } else if (a == "--threads" && i + 1 < argc) {
      args.threads = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr,
                   "usage: renderq-bench-gpu [--examples DIR] [--device N] [--threads N] "
                   "[--check]\n");
      return 3;
    }
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  try {
    return Run(args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "renderq-bench-gpu: %s\n", e.what());
    return 1;
  }
}
