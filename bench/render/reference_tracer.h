// A deliberately plain path tracer used as the benchmark baseline: the same
// scene model and light transport as kernels/, but every ray is tested
// against every primitive (no acceleration structure), recursion per bounce,
// double precision, std::mt19937 per row. Not used by the service.
#pragma once

#include "core/model/scene.h"

namespace renderq::bench {

#include <vector>

// Renders `samples` samples per pixel of `scene` on `threads` threads and
// returns the wall-clock seconds taken. The image is discarded, except for a
// checksum kept so the work cannot be optimised away (returned via *checksum).
double RenderReference(const SceneDescription& scene, int samples, int threads, double* checksum);

// The same, adding each pixel's radiance sums to *rgb_sums (width × height × 3,
// rows top to bottom). `pass` selects independent random streams, so passes
// 0, 1, 2, ... can be added up into one converging image.
double RenderReferencePass(const SceneDescription& scene, int samples, int threads, int pass,
                           std::vector<double>* rgb_sums);

}  // namespace renderq::bench
