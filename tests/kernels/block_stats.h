// Means and standard errors of a render over 16x16-pixel blocks and over the
// whole image, from independent batches of samples, and their storage as
// JSON: what the unbiasedness tests compare (tests/kernels/unbiased_tests.cpp).
#pragma once

#include <array>
#include <string>
#include <vector>

#include "core/model/scene.h"
#include "kernels/renderer.h"

namespace renderq::testing {

struct MeanAndError {
  std::array<double, 3> mean{};  // linear RGB
  std::array<double, 3> se{};    // standard error of the mean, per channel
};

struct BlockStats {
  int width = 0;
  int height = 0;
  int block = 16;
  int samples = 0;  // per pixel, all batches together
  int batches = 0;
  std::string estimator;
  MeanAndError image;
  std::vector<MeanAndError> blocks;  // row-major, ceil(width / block) per row
};

// Renders `samples` samples per pixel as `batches` passes and returns, per
// block and for the whole image, the mean of the batch means and its standard
// error (batch standard deviation / sqrt(batches)). Batches use disjoint
// sample indices, so they are independent estimates. The first form renders
// on the CPU; both leave `blocks` empty when the renderer fails.
BlockStats RenderBlockStats(const SceneDescription& scene, Estimator estimator, int samples,
                            int batches, int block = 16);
BlockStats RenderBlockStats(const SceneDescription& scene, const RendererOptions& options,
                            int samples, int batches, int block = 16);

std::string BlockStatsToJson(const BlockStats& stats);
// false with *error set when the text is not such a document.
bool BlockStatsFromJson(const std::string& text, BlockStats* stats, std::string* error);

}  // namespace renderq::testing
