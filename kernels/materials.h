// Materials: how a path continues at a hit (Scatter, BSDF sampling) and, for
// the materials that also take light samples, the density with which Scatter
// picks a given direction (ScatterPdf), which multiple importance sampling
// weighs against the light's.
//
// Every non-emissive material scatters with weight `albedo` (dielectrics 1):
// Scatter draws a direction from a density p and the path's throughput is
// multiplied by the albedo. The BSDF times the cosine is therefore
// albedo * p(direction), which is how a light sample evaluates it.
#pragma once

#include "kernels/geometry.h"
#include "kernels/host_device.h"
#include "kernels/sampling.h"
#include "kernels/scene_data.h"

namespace renderq::kernels {

// Below this roughness a metal is treated as a mirror: its lobe is too narrow
// for a light sample to land in it, so it stays on BSDF sampling alone.
inline constexpr float kMinLightSampledRoughness = 0.01f;

// Lambertian and rough metal take light samples; smooth dielectrics, mirror
// metal and emitters do not (a light sample has zero density under a delta
// lobe, and emitters end the path).
inline RENDERQ_HOST_DEVICE bool UsesLightSampling(const Material& m) {
  return m.kind == kMaterialLambertian ||
         (m.kind == kMaterialMetal && m.roughness >= kMinLightSampledRoughness);
}

inline RENDERQ_HOST_DEVICE Vec3 Reflect(Vec3 v, Vec3 n) { return v - n * (2.0f * Dot(v, n)); }

// Schlick's approximation of the Fresnel reflectance.
inline RENDERQ_HOST_DEVICE float Schlick(float cosine, float eta_ratio) {
  float r0 = (1.0f - eta_ratio) / (1.0f + eta_ratio);
  r0 = r0 * r0;
  const float m = 1.0f - cosine;
  return r0 + (1.0f - r0) * m * m * m * m * m;
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

// The density per unit solid angle with which Scatter picks the unit direction
// `wi` at a hit with (ray-facing, unit) `normal`, the ray arriving along the
// unit `in_dir`; 0 where it never goes. Only for UsesLightSampling materials.
//
// Lambertian: cos(theta) / pi over the hemisphere.
// Rough metal: the direction of R + r u, with R the mirror direction, r the
// roughness and u uniform in the unit ball. Along the ray t * wi (t > 0) the
// ball |x - R| <= r occupies t in [t_lo, t_hi], so the density is
// (3 / (4 pi r^3)) * integral of t^2 dt = (t_hi^3 - t_lo^3) / (4 pi r^3);
// directions below the surface are absorbed by Scatter and have density 0.
RENDERQ_INLINE RENDERQ_HOST_DEVICE float ScatterPdf(const Material& m, Vec3 in_dir, Vec3 normal,
                                                    Vec3 wi) {
  const float cos_n = Dot(wi, normal);
  if (cos_n <= 0.0f) return 0.0f;
  if (m.kind == kMaterialLambertian) return cos_n * (1.0f / kPi);
  const Vec3 mirror = Reflect(in_dir, normal);
  const float r = m.roughness;
  const float c = Dot(wi, mirror);
  const Vec3 x = Cross(wi, mirror);
  const float d = r * r - Dot(x, x);  // (half the chord)^2
  if (d < 0.0f) return 0.0f;
  const float half = sqrtf(d);
  const float t_hi = c + half;
  if (t_hi <= 0.0f) return 0.0f;
  float t_lo = c - half;
  float span = 2.0f * half;  // t_hi - t_lo without cancellation
  if (t_lo < 0.0f) {
    t_lo = 0.0f;
    span = t_hi;
  }
  const float cubes = span * (t_hi * t_hi + t_hi * t_lo + t_lo * t_lo);
  return cubes / (4.0f * kPi * r * r * r);
}

}  // namespace renderq::kernels
