// The backend factories behind Renderer::Create (kernels/renderer.h). Internal
// to kernels/: callers use Renderer::Create.
#pragma once

#include <memory>

#include "core/model/scene.h"
#include "core/model/status.h"
#include "kernels/renderer.h"
#include "kernels/scene_data.h"

namespace renderq::kernels {

Result<std::unique_ptr<Renderer>> CreateCpuRenderer(const SceneDescription& scene,
                                                    const RendererOptions& options);
// Defined in cuda_renderer.cu, or as kUnavailable in cuda_unavailable.cpp.
Result<std::unique_ptr<Renderer>> CreateCudaRenderer(const SceneDescription& scene,
                                                     const RendererOptions& options);

// The kernels' estimator flag for a renderer option.
inline EstimatorKind ToEstimatorKind(Estimator e) {
  return e == Estimator::kBsdfSampling ? kEstimatorBsdf : kEstimatorNextEventMis;
}

}  // namespace renderq::kernels
