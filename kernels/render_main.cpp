// renderq-render scene.json out.png [--backend cpu|cuda] [--device N] [--samples N]
//                [--threads N] [--estimator nee|bsdf] [--size WxH]
// Renders a SPEC scene file to a PNG and prints the device and throughput.
// --estimator bsdf renders with BSDF sampling alone (the random walk before
// light sampling), for comparisons; --size overrides the image size.
// Exit codes: 0 done, 1 render or I/O failure, 2 bad usage or invalid scene.
#include <atomic>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>

#include "core/model/scene_json.h"
#include "kernels/png_writer.h"
#include "kernels/renderer.h"

namespace {

constexpr const char* kUsage =
    "usage: renderq-render scene.json out.png [--backend cpu|cuda] [--device N]\n"
    "                      [--samples N] [--threads N] [--estimator nee|bsdf] [--size WxH]\n";

struct Args {
  std::string scene_path;
  std::string out_path;
  renderq::RendererOptions options;
  int samples = 0;  // 0: the scene's own
  int width = 0;    // 0: the scene's own size
  int height = 0;
};

bool ParseInt(std::string_view s, int* out) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool ParseArgs(int argc, char** argv, Args* args) {
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--backend" && has_value) {
      const std::string_view v = argv[++i];
      if (v == "cpu") {
        args->options.backend = renderq::RenderBackend::kCpu;
      } else if (v == "cuda") {
        args->options.backend = renderq::RenderBackend::kCuda;
      } else {
        return false;
      }
    } else if (a == "--device" && has_value) {
      if (!ParseInt(argv[++i], &args->options.cuda_device)) return false;
    } else if (a == "--samples" && has_value) {
      if (!ParseInt(argv[++i], &args->samples) || args->samples < 1) return false;
    } else if (a == "--estimator" && has_value) {
      const std::string_view v = argv[++i];
      if (v == "nee") {
        args->options.estimator = renderq::Estimator::kNextEventMis;
      } else if (v == "bsdf") {
        args->options.estimator = renderq::Estimator::kBsdfSampling;
      } else {
        return false;
      }
    } else if (a == "--size" && has_value) {
      const std::string_view v = argv[++i];
      const size_t x = v.find('x');
      if (x == std::string_view::npos || !ParseInt(v.substr(0, x), &args->width) ||
          !ParseInt(v.substr(x + 1), &args->height) || args->width < 1 || args->height < 1 ||
          args->width > 4096 || args->height > 4096)
        return false;
    } else if (a == "--threads" && has_value) {
      if (!ParseInt(argv[++i], &args->options.cpu_threads) || args->options.cpu_threads < 0)
        return false;
    } else if (!a.empty() && a[0] != '-' && positional < 2) {
      (positional++ == 0 ? args->scene_path : args->out_path) = a;
    } else {
      return false;
    }
  }
  return positional == 2;
}

int Run(const Args& args) {
  std::ifstream in(args.scene_path, std::ios::binary);
  if (!in) {
    std::cerr << "renderq-render: cannot open " << args.scene_path << "\n";
    return 1;
  }
  std::stringstream body;
  body << in.rdbuf();
  const renderq::SceneParseResult parsed = renderq::ParseScene(body.str());
  if (!parsed.ok()) {
    std::cerr << "renderq-render: " << args.scene_path << ": " << parsed.error().message << "\n";
    for (const auto& f : parsed.error().findings)
      std::cerr << "  " << f.pointer << ": " << f.detail << "\n";
    return 2;
  }
  renderq::SceneDescription scene = parsed.scene();
  if (args.samples > 0) scene.samples = args.samples;
  if (args.width > 0) {
    scene.width = args.width;
    scene.height = args.height;
  }
  auto renderer = renderq::Renderer::Create(scene, args.options);
  if (!renderer.ok()) {
    std::cerr << "renderq-render: " << renderer.status().ToString() << "\n";
    return 1;
  }
  renderq::Renderer& r = **renderer;
  const renderq::Status pass = r.RenderPass(scene.samples, nullptr);
  if (!pass.ok()) {
    std::cerr << "renderq-render: " << pass.ToString() << "\n";
    return 1;
  }
  auto image = r.ImageRgb8();
  if (!image.ok()) {
    std::cerr << "renderq-render: " << image.status().ToString() << "\n";
    return 1;
  }
  const renderq::Status written =
      renderq::WritePngRgb8(args.out_path, r.width(), r.height(), *image);
  if (!written.ok()) {
    std::cerr << "renderq-render: " << written.ToString() << "\n";
    return 1;
  }
  const renderq::RenderStats& stats = r.stats();
  std::printf(
      "%s: %dx%d, %d samples on %s (%s) in %.3f s, %.0f samples/s, %.0f rays/s\n",
      args.out_path.c_str(), r.width(), r.height(), r.samples_done(), r.device_name().c_str(),
      renderq::EstimatorName(r.origin().estimator), r.render_seconds(), r.samples_per_second(),
      stats.render_seconds > 0 ? static_cast<double>(stats.rays) / stats.render_seconds : 0.0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, &args)) {
    std::cerr << kUsage;
    return 2;
  }
  try {
    return Run(args);
  } catch (const std::exception& e) {
    std::cerr << "renderq-render: " << e.what() << "\n";
    return 1;
  }
}
