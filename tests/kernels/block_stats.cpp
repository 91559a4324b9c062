#include "tests/kernels/block_stats.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace renderq::testing {
namespace {

// Mean and standard error over batch values (per channel).
MeanAndError Summarise(const std::vector<std::array<double, 3>>& batch_means) {
  MeanAndError out;
  const double n = static_cast<double>(batch_means.size());
  for (int c = 0; c < 3; ++c) {
    double sum = 0;
    for (const auto& b : batch_means) sum += b[c];
    const double mean = sum / n;
    double ss = 0;
    for (const auto& b : batch_means) ss += (b[c] - mean) * (b[c] - mean);
    out.mean[c] = mean;
    out.se[c] = n > 1 ? std::sqrt(ss / (n - 1) / n) : 0.0;
  }
  return out;
}

nlohmann::json ToJson(const MeanAndError& m) { return {{"mean", m.mean}, {"se", m.se}}; }

MeanAndError FromJson(const nlohmann::json& j) {
  MeanAndError m;
  m.mean = j.at("mean").get<std::array<double, 3>>();
  m.se = j.at("se").get<std::array<double, 3>>();
  return m;
}

}  // namespace

BlockStats RenderBlockStats(const SceneDescription& scene, Estimator estimator, int samples,
                            int batches, int block) {
  RendererOptions options;
  options.estimator = estimator;
  return RenderBlockStats(scene, options, samples, batches, block);
}

BlockStats RenderBlockStats(const SceneDescription& scene, const RendererOptions& options,
                            int samples, int batches, int block) {
  BlockStats out;
  out.width = scene.width;
  out.height = scene.height;
  out.block = block;
  out.samples = samples;
  out.batches = batches;
  out.estimator = EstimatorName(options.estimator);
  auto renderer = Renderer::Create(scene, options);
  if (!renderer.ok()) return out;
  const int bx = (scene.width + block - 1) / block, by = (scene.height + block - 1) / block;
  const int per_batch = samples / batches;
  std::vector<std::vector<std::array<double, 3>>> block_batches(
      static_cast<size_t>(bx) * by, std::vector<std::array<double, 3>>(batches));
  std::vector<std::array<double, 3>> image_batches(batches);
  std::vector<float> before(static_cast<size_t>(scene.width) * scene.height * 3, 0.0f);
  for (int b = 0; b < batches; ++b) {
    if (!(*renderer)->RenderPass(per_batch, nullptr).ok()) return out;
    auto sums = (*renderer)->Accumulation();
    if (!sums.ok()) return out;
    std::vector<double> block_pixels(block_batches.size(), 0.0);
    for (int y = 0; y < scene.height; ++y) {
      for (int x = 0; x < scene.width; ++x) {
        const size_t k = (static_cast<size_t>(y) * scene.width + x) * 3;
        const size_t blk = static_cast<size_t>(y / block) * bx + x / block;
        block_pixels[blk] += 1;
        for (int c = 0; c < 3; ++c) {
          const double v = (static_cast<double>((*sums)[k + c]) - before[k + c]) / per_batch;
          block_batches[blk][b][c] += v;
          image_batches[b][c] += v;
        }
      }
    }
    for (size_t blk = 0; blk < block_batches.size(); ++blk) {
      for (int c = 0; c < 3; ++c) block_batches[blk][b][c] /= block_pixels[blk];
    }
    for (int c = 0; c < 3; ++c)
      image_batches[b][c] /= static_cast<double>(scene.width) * scene.height;
    before = std::move(sums).value();
  }
  out.image = Summarise(image_batches);
  for (const auto& bb : block_batches) out.blocks.push_back(Summarise(bb));
  return out;
}

std::string BlockStatsToJson(const BlockStats& s) {
  nlohmann::json blocks = nlohmann::json::array();
  for (const auto& b : s.blocks) blocks.push_back(ToJson(b));
  const nlohmann::json j = {{"width", s.width},         {"height", s.height},
                            {"block", s.block},         {"samples", s.samples},
                            {"batches", s.batches},     {"estimator", s.estimator},
                            {"image", ToJson(s.image)}, {"blocks", blocks}};
  return j.dump(1) + "\n";
}

bool BlockStatsFromJson(const std::string& text, BlockStats* s, std::string* error) {
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    s->width = j.at("width").get<int>();
    s->height = j.at("height").get<int>();
    s->block = j.at("block").get<int>();
    s->samples = j.at("samples").get<int>();
    s->batches = j.at("batches").get<int>();
    s->estimator = j.at("estimator").get<std::string>();
    s->image = FromJson(j.at("image"));
    s->blocks.clear();
    for (const auto& b : j.at("blocks")) s->blocks.push_back(FromJson(b));
    return true;
  } catch (const std::exception& e) {
    *error = e.what();
    return false;
  }
}

}  // namespace renderq::testing
