// The backend factories behind Renderer::Create (kernels/renderer.h). Internal
// to kernels/: callers use Renderer::Create.
#pragma once

#include <memory>

#include "core/scene.h"
#include "core/status.h"
#include "kernels/renderer.h"

namespace renderq::kernels {

Result<std::unique_ptr<Renderer>> CreateCpuRenderer(const SceneDescription& scene, int threads);
// Defined in cuda_renderer.cu, or as kUnavailable in cuda_unavailable.cpp.
Result<std::unique_ptr<Renderer>> CreateCudaRenderer(const SceneDescription& scene, int device);

}  // namespace renderq::kernels
