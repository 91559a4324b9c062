// A deliberately plain path tracer used as the benchmark baseline: the same
// scene model and light transport as kernels/, but every ray is tested
// against every primitive (no acceleration structure), recursion per bounce,
// double precision, std::mt19937 per row. Not used by the service.
#pragma once

#include "core/scene.h"

namespace renderq::bench {

// Renders `samples` samples per pixel of `scene` on `threads` threads and
// returns the wall-clock seconds taken. The image is discarded, except for a
// checksum kept so the work cannot be optimised away (returned via *checksum).
double RenderReference(const SceneDescription& scene, int samples, int threads, double* checksum);

}  // namespace renderq::bench
