// TracePixelSample: the one path-tracing entry both backends call, plus the
// camera and the sky it starts and ends with. Materials are in materials.h,
// light sampling in lights.h.
//
// The estimator (SceneView::estimator) is a path tracer with next-event
// estimation and multiple importance sampling, after pbrt-v4's PathIntegrator:
// at every hit on a material that UsesLightSampling, one light sample (a light
// chosen by power, a point on it, a shadow ray) is added with the power
// heuristic weight against BSDF sampling, and an emitter that the next BSDF-
// sampled ray hits is weighted against light sampling, so no light path is
// counted twice. Emission seen from the camera or through a specular bounce
// (smooth glass, mirror metal) counts in full; the sky is found by BSDF
// sampling alone, as before. With kEstimatorBsdf the loop is the plain random
// walk (lights only found by chance), which draws exactly the random numbers
// the renderer drew before light sampling existed.
#pragma once

#include "kernels/geometry.h"
#include "kernels/host_device.h"
#include "kernels/lights.h"
#include "kernels/materials.h"
#include "kernels/sampling.h"
#include "kernels/scene_data.h"

namespace renderq::kernels {

// Bounces before Russian roulette may end a path.
inline constexpr int kRouletteStartDepth = 3;

// A shadow ray stops this fraction short of the light point, so the light's
// own surface (or a surface just behind it, such as a ceiling above a lamp)
// is never mistaken for an occluder.
inline constexpr float kShadowRayEnd = 1.0f - 1e-4f;

inline RENDERQ_HOST_DEVICE Vec3 SkyRadiance(const SceneView& s, Vec3 unit_dir) {
  return Lerp(s.sky_horizon, s.sky_zenith, MaxF(unit_dir.y, 0.0f));
}

inline RENDERQ_HOST_DEVICE Ray CameraRay(const Camera& c, float s, float t, Rng& rng) {
  Vec3 origin = c.origin;
  if (c.lens_radius > 0.0f) {
    float dx, dy;
    RandomInUnitDisk(rng, &dx, &dy);
    origin = origin + c.lens_u * (dx * c.lens_radius) + c.lens_v * (dy * c.lens_radius);
  }
  const Vec3 target = c.upper_left + c.horizontal * s + c.vertical * t;
  return Ray{origin, Normalize(target - origin)};
}

// The radiance one light sample at `hit` adds, before the path throughput:
// the light's emission times BSDF times cosine over the light density, with
// the power heuristic weight. Counts the shadow ray in `rays`.
RENDERQ_INLINE RENDERQ_HOST_DEVICE Vec3 DirectLight(const SceneView& s, const Material& m,
                                                    const SurfaceHit& hit, Vec3 in_dir, Rng& rng,
                                                    uint32_t& rays) {
  const float u_pick = NextFloat(rng);
  const float u1 = NextFloat(rng);
  const float u2 = NextFloat(rng);
  const LightSample ls = SampleLight(s, hit.point, u_pick, u1, u2);
  if (!(ls.pdf > 0.0f)) return {0.0f, 0.0f, 0.0f};
  const float scatter_pdf = ScatterPdf(m, in_dir, hit.normal, ls.wi);
  if (!(scatter_pdf > 0.0f)) return {0.0f, 0.0f, 0.0f};
  ++rays;
  const Ray shadow{OffsetOrigin(hit.point, hit.normal, ls.wi), ls.wi};
  if (Occluded(s, shadow, 0.0f, ls.dist * kShadowRayEnd, ls.prim)) return {0.0f, 0.0f, 0.0f};
  const float weight = PowerHeuristic(ls.pdf, scatter_pdf);
  return m.albedo * ls.emission * (scatter_pdf * weight / ls.pdf);
}

// The radiance carried by sample `sample` of pixel (px, py), rows from the
// top. A pure function of its arguments: this is what makes renders
// deterministic. Non-finite results are returned as black. `rays` is
// increased by the number of rays traced (camera, bounce and shadow rays).
inline RENDERQ_HOST_DEVICE Vec3 TracePixelSample(const SceneView& s, int px, int py,
                                                 uint32_t sample, uint32_t& rays) {
  Rng rng = MakeRng(
      s.seed,
      static_cast<uint32_t>(py) * static_cast<uint32_t>(s.width) + static_cast<uint32_t>(px),
      sample);
  const float u = (static_cast<float>(px) + NextFloat(rng)) / static_cast<float>(s.width);
  const float v = (static_cast<float>(py) + NextFloat(rng)) / static_cast<float>(s.height);
  Ray ray = CameraRay(s.camera, u, v, rng);
  const bool light_sampling = s.estimator == kEstimatorNextEventMis && s.light_count > 0;
  Vec3 radiance = {0.0f, 0.0f, 0.0f};
  Vec3 throughput = {1.0f, 1.0f, 1.0f};
  // Whether an emitter hit by `ray` counts in full: true for the camera ray,
  // after a specular bounce and without light sampling; otherwise the last
  // vertex took a light sample, and the emitter is weighted against it using
  // the density the ray was sampled with and the point it left from.
  bool full_emission = true;
  float scatter_pdf = 0.0f;
  Vec3 from = ray.origin;
  for (int depth = 0; depth < s.max_depth; ++depth) {
    SurfaceHit hit;
    ++rays;
    if (!IntersectScene(s, ray, 0.0f, kInfinity, &hit)) {
      radiance += throughput * SkyRadiance(s, ray.dir);
      break;
    }
    const Material& m = s.materials[hit.material];
    if (m.kind == kMaterialEmissive) {
      float weight = 1.0f;
      if (!full_emission) {
        weight = PowerHeuristic(scatter_pdf, LightPdf(s, hit.prim, from, ray.dir, hit.t));
      }
      radiance += throughput * m.emission * weight;
      break;
    }
    const bool sample_light = light_sampling && UsesLightSampling(m);
    // A light sample stands for the next vertex, which must be within max_depth.
    if (sample_light && depth + 1 < s.max_depth) {
      radiance += throughput * DirectLight(s, m, hit, ray.dir, rng, rays);
    }
    const Vec3 in_dir = ray.dir;
    Vec3 attenuation;
    if (!Scatter(m, ray, hit, rng, &ray, &attenuation)) break;
    full_emission = !sample_light;
    if (sample_light) {
      scatter_pdf = ScatterPdf(m, in_dir, hit.normal, ray.dir);
      from = hit.point;
    }
    throughput *= attenuation;
    if (depth + 1 >= kRouletteStartDepth) {
      // Survival in proportion to the throughput; paths at full strength always go on.
      const float p = MinF(MaxComponent(throughput), 1.0f);
      if (NextFloat(rng) >= p) break;
      throughput = throughput / p;
    }
  }
  if (!IsFinite(radiance)) return {0.0f, 0.0f, 0.0f};
  return radiance;
}

}  // namespace renderq::kernels
