// TracePixelSample: the one path-tracing entry both backends call, plus the
// camera, sky and material sampling it is made of.
#pragma once

#include "kernels/geometry.h"
#include "kernels/host_device.h"
#include "kernels/scene_data.h"

namespace renderq::kernels {

// Bounces before Russian roulette may end a path.
inline constexpr int kRouletteStartDepth = 3;

inline RENDERQ_HOST_DEVICE Vec3 SkyRadiance(const SceneView& s, Vec3 unit_dir) {
  return Lerp(s.sky_horizon, s.sky_zenith, MaxF(unit_dir.y, 0.0f));
}

inline RENDERQ_HOST_DEVICE Vec3 RandomUnitVector(Rng& rng) {
  const float z = 1.0f - 2.0f * NextFloat(rng);
  const float r = sqrtf(MaxF(0.0f, 1.0f - z * z));
  const float phi = 2.0f * kPi * NextFloat(rng);
  return {r * cosf(phi), r * sinf(phi), z};
}

inline RENDERQ_HOST_DEVICE Vec3 RandomInUnitSphere(Rng& rng) {
  return RandomUnitVector(rng) * cbrtf(NextFloat(rng));
}

inline RENDERQ_HOST_DEVICE void RandomInUnitDisk(Rng& rng, float* dx, float* dy) {
  const float r = sqrtf(NextFloat(rng));
  const float phi = 2.0f * kPi * NextFloat(rng);
  *dx = r * cosf(phi);
  *dy = r * sinf(phi);
}

inline RENDERQ_HOST_DEVICE Vec3 Reflect(Vec3 v, Vec3 n) { return v - n * (2.0f * Dot(v, n)); }

// Schlick's approximation of the Fresnel reflectance.
inline RENDERQ_HOST_DEVICE float Schlick(float cosine, float eta_ratio) {
  float r0 = (1.0f - eta_ratio) / (1.0f + eta_ratio);
  r0 = r0 * r0;
  const float m = 1.0f - cosine;
  return r0 + (1.0f - r0) * m * m * m * m * m;
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

// Moves a new ray's origin off the surface on the side it leaves through, by
// an amount that grows with the coordinates' magnitude (float spacing).
inline RENDERQ_HOST_DEVICE Vec3 OffsetOrigin(Vec3 p, Vec3 n, Vec3 dir) {
  const float scale = MaxF(1.0f, MaxF(fabsf(p.x), MaxF(fabsf(p.y), fabsf(p.z))));
  const float eps = 1e-4f * scale;
  return Dot(dir, n) > 0.0f ? p + n * eps : p - n * eps;
}

// Samples the next direction at a hit. Returns false when the path is absorbed.
inline RENDERQ_HOST_DEVICE bool Scatter(const Material& m, const Ray& in, const SurfaceHit& h,
                                        Rng& rng, Ray* out, Vec3* attenuation) {
  Vec3 dir;
  switch (m.kind) {
    case kMaterialLambertian: {
      // normal + uniform unit vector is cosine distributed: the cosine/pdf cancel.
      dir = h.normal + RandomUnitVector(rng);
      const float len2 = Dot(dir, dir);
      dir = len2 < 1e-12f ? h.normal : dir / sqrtf(len2);
      *attenuation = m.albedo;
      break;
    }
    case kMaterialMetal: {
      dir = Reflect(in.dir, h.normal);
      if (m.roughness > 0.0f) dir = Normalize(dir + RandomInUnitSphere(rng) * m.roughness);
      if (Dot(dir, h.normal) <= 0.0f) return false;  // scattered below the surface
      *attenuation = m.albedo;
      break;
    }
    case kMaterialDielectric: {
      const float eta = h.front_face ? 1.0f / m.ior : m.ior;
      const float cos_theta = MinF(-Dot(in.dir, h.normal), 1.0f);
      const float sin2 = MaxF(0.0f, 1.0f - cos_theta * cos_theta);
      const bool total_internal = eta * eta * sin2 > 1.0f;
      if (total_internal || Schlick(cos_theta, eta) > NextFloat(rng)) {
        dir = Reflect(in.dir, h.normal);
      } else {
        const Vec3 perp = (in.dir + h.normal * cos_theta) * eta;
        const Vec3 para = h.normal * -sqrtf(fabsf(1.0f - Dot(perp, perp)));
        dir = Normalize(perp + para);
      }
      *attenuation = {1.0f, 1.0f, 1.0f};
      break;
    }
    default: return false;  // emissive surfaces do not scatter
  }
  out->origin = OffsetOrigin(h.point, h.normal, dir);
  out->dir = dir;
  return true;
}

// The radiance carried by sample `sample` of pixel (px, py), rows from the
// top. A pure function of its arguments: this is what makes renders
// deterministic. Non-finite results are returned as black.
inline RENDERQ_HOST_DEVICE Vec3 TracePixelSample(const SceneView& s, int px, int py,
                                                 uint32_t sample) {
  Rng rng = MakeRng(
      s.seed,
      static_cast<uint32_t>(py) * static_cast<uint32_t>(s.width) + static_cast<uint32_t>(px),
      sample);
  const float u = (static_cast<float>(px) + NextFloat(rng)) / static_cast<float>(s.width);
  const float v = (static_cast<float>(py) + NextFloat(rng)) / static_cast<float>(s.height);
  Ray ray = CameraRay(s.camera, u, v, rng);
  Vec3 radiance = {0.0f, 0.0f, 0.0f};
  Vec3 throughput = {1.0f, 1.0f, 1.0f};
  for (int depth = 0; depth < s.max_depth; ++depth) {
    SurfaceHit hit;
    if (!IntersectScene(s, ray, 0.0f, kInfinity, &hit)) {
      radiance += throughput * SkyRadiance(s, ray.dir);
      break;
    }
    const Material& m = s.materials[hit.material];
    if (m.kind == kMaterialEmissive) {
      radiance += throughput * m.emission;
      break;
    }
    Vec3 attenuation;
    if (!Scatter(m, ray, hit, rng, &ray, &attenuation)) break;
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
