// Lights for next-event estimation: every emissive primitive (sphere, quad,
// mesh triangle) with non-zero power is an entry of the scene's light table
// (built on the host, kernels/flat_scene.cpp). A light sample picks an entry in
// proportion to its power, then a point on it:
//   sphere seen from outside: uniformly in the cone of directions it covers
//     (its visible cap), not by area, so the density does not blow up near the
//     silhouette; from inside: uniformly by area;
//   quad, triangle: uniformly by area (both sides emit).
// LightPdf gives the same density for a direction found by BSDF sampling, so
// that multiple importance sampling can weigh the two strategies.
//
// Densities are per unit solid angle at the shading point and include the
// probability of picking the light. Both functions use the same predicates
// (inside or outside a sphere, grazing angles), so a direction has the same
// density whichever strategy produced it.
#pragma once

#include "kernels/geometry.h"
#include "kernels/host_device.h"
#include "kernels/sampling.h"
#include "kernels/scene_data.h"

namespace renderq::kernels {

// Below this cosine between a flat light's normal and the direction to it, the
// light is treated as invisible to light sampling (its area-to-solid-angle
// factor would explode); BSDF sampling covers those directions on its own.
inline constexpr float kMinLightCosine = 1e-6f;

// A shading point this close to a sphere (relative to r^2) counts as inside it.
inline constexpr float kSphereInsideMargin = 1.0001f;

inline RENDERQ_HOST_DEVICE uint32_t PrimMaterial(const SceneView& s, uint32_t ref) {
  const uint32_t i = PrimRefIndex(ref);
  switch (PrimRefKind(ref)) {
    case kPrimSphere: return s.spheres[i].material;
    case kPrimQuad: return s.quads[i].material;
    default: return s.triangles[i].material;
  }
}

// The power a light is chosen by: mean emitted radiance times emitting area
// (two sides for quads and triangles); 0 for anything that is not an emitter.
RENDERQ_INLINE RENDERQ_HOST_DEVICE float LightPower(const SceneView& s, uint32_t ref) {
  const Material& m = s.materials[PrimMaterial(s, ref)];
  if (m.kind != kMaterialEmissive) return 0.0f;
  const float radiance = (m.emission.x + m.emission.y + m.emission.z) * (1.0f / 3.0f);
  const uint32_t i = PrimRefIndex(ref);
  float area;
  switch (PrimRefKind(ref)) {
    case kPrimSphere: {
      const float r = s.spheres[i].radius;
      area = 4.0f * kPi * r * r;
      break;
    }
    case kPrimQuad: area = 2.0f * Length(Cross(s.quads[i].u, s.quads[i].v)); break;
    default: area = Length(Cross(s.triangles[i].e1, s.triangles[i].e2)); break;
  }
  return radiance * area;
}

// The area light sampling spreads its points over: one side of a quad or
// triangle, a sphere's whole surface.
inline RENDERQ_HOST_DEVICE float LightArea(const SceneView& s, uint32_t ref) {
  const uint32_t i = PrimRefIndex(ref);
  switch (PrimRefKind(ref)) {
    case kPrimSphere: {
      const float r = s.spheres[i].radius;
      return 4.0f * kPi * r * r;
    }
    case kPrimQuad: return Length(Cross(s.quads[i].u, s.quads[i].v));
    default: return 0.5f * Length(Cross(s.triangles[i].e1, s.triangles[i].e2));
  }
}

// The probability that SampleLight picks the light `ref`.
inline RENDERQ_HOST_DEVICE float LightPickProbability(const SceneView& s, uint32_t ref) {
  return LightPower(s, ref) * s.inv_light_power;
}

// The table entry whose cdf interval holds u: a binary search of at most
// ceil(log2(light_count)) steps.
inline RENDERQ_HOST_DEVICE uint32_t PickLight(const SceneView& s, float u) {
  uint32_t lo = 0, hi = s.light_count - 1;
  while (lo < hi) {
    const uint32_t mid = (lo + hi) / 2u;
    if (u < s.lights[mid].cdf) {
      hi = mid;
    } else {
      lo = mid + 1u;
    }
  }
  return lo;
}

// Solid-angle density of a uniform area sample seen at distance `dist` under
// cosine `cos_light` (absolute) on a light of area `area`.
inline RENDERQ_HOST_DEVICE float AreaToSolidAngle(float dist, float cos_light, float area) {
  return cos_light > kMinLightCosine && area > 0.0f ? dist * dist / (cos_light * area) : 0.0f;
}

// 1 - cos(theta_max) of the cone a sphere of radius^2 `r2` at squared
// distance `d2` covers, computed without cancellation for small cones.
inline RENDERQ_HOST_DEVICE float SphereConeOneMinusCos(float r2, float d2) {
  const float sin2 = r2 / d2;
  return sin2 / (1.0f + sqrtf(MaxF(0.0f, 1.0f - sin2)));
}

struct LightSample {
  Vec3 wi;     // unit, from the shading point towards the light point
  float dist;  // to the light point along wi
  Vec3 emission;
  float pdf;      // solid angle, pick probability included; 0: no usable sample
  uint32_t prim;  // the light's tagged reference (shadow rays skip it)
};

// A light sample seen from point p, from three uniform numbers.
RENDERQ_INLINE RENDERQ_HOST_DEVICE LightSample SampleLight(const SceneView& s, Vec3 p, float u_pick,
                                                           float u1, float u2) {
  const Light& light = s.lights[PickLight(s, u_pick)];
  LightSample ls;
  ls.prim = light.prim;
  ls.emission = s.materials[PrimMaterial(s, ls.prim)].emission;
  ls.pdf = 0.0f;
  ls.dist = 0.0f;
  ls.wi = {0.0f, 0.0f, 1.0f};
  const float pick = light.pick;
  if (!(pick > 0.0f)) return ls;
  const uint32_t i = PrimRefIndex(ls.prim);
  switch (PrimRefKind(ls.prim)) {
    case kPrimSphere: {
      const Sphere& sp = s.spheres[i];
      const Vec3 to_center = sp.center - p;
      const float d2 = Dot(to_center, to_center);
      const float r2 = sp.radius * sp.radius;
      if (d2 <= r2 * kSphereInsideMargin) {
        // Inside (or on) the sphere: all of it is visible; sample by area.
        const float z = 1.0f - 2.0f * u1;
        const float rho = sqrtf(MaxF(0.0f, 1.0f - z * z));
        const float phi = 2.0f * kPi * u2;
        const Vec3 n = {rho * cosf(phi), rho * sinf(phi), z};
        const Vec3 to_point = sp.center + n * sp.radius - p;
        ls.dist = Length(to_point);
        if (!(ls.dist > 0.0f)) return ls;
        ls.wi = to_point / ls.dist;
        ls.pdf = AreaToSolidAngle(ls.dist, fabsf(Dot(n, ls.wi)), light.area);
        break;
      }
      // Outside: uniform over the cone towards the centre.
      const float d = sqrtf(d2);
      const Vec3 w = to_center / d;
      const float one_minus_cos_max = SphereConeOneMinusCos(r2, d2);
      const float one_minus_cos = u1 * one_minus_cos_max;
      const float cos_t = 1.0f - one_minus_cos;
      const float sin2_t = MaxF(0.0f, one_minus_cos * (2.0f - one_minus_cos));
      const float sin_t = sqrtf(sin2_t);
      const float phi = 2.0f * kPi * u2;
      Vec3 t, b;
      OrthonormalBasis(w, &t, &b);
      ls.wi = Normalize(t * (sin_t * cosf(phi)) + b * (sin_t * sinf(phi)) + w * cos_t);
      // The near intersection along wi: d cos - sqrt(r^2 - d^2 sin^2).
      ls.dist = MaxF(0.0f, d * cos_t - sqrtf(MaxF(0.0f, r2 - d2 * sin2_t)));
      ls.pdf = 1.0f / (2.0f * kPi * one_minus_cos_max);
      break;
    }
    case kPrimQuad: {
      const Quad& q = s.quads[i];
      const Vec3 to_point = q.corner + q.u * u1 + q.v * u2 - p;
      ls.dist = Length(to_point);
      if (!(ls.dist > 0.0f)) return ls;
      ls.wi = to_point / ls.dist;
      ls.pdf = AreaToSolidAngle(ls.dist, fabsf(Dot(q.normal, ls.wi)), light.area);
      break;
    }
    default: {
      const Triangle& tri = s.triangles[i];
      const float su = sqrtf(u1);
      const Vec3 to_point = tri.v0 + tri.e1 * (su * (1.0f - u2)) + tri.e2 * (su * u2) - p;
      ls.dist = Length(to_point);
      if (!(ls.dist > 0.0f)) return ls;
      ls.wi = to_point / ls.dist;
      // |e1 x e2| = 2 area, so |(e1 x e2) . wi| / (2 area) is the cosine.
      const float cos_light = fabsf(Dot(Cross(tri.e1, tri.e2), ls.wi)) * 0.5f / light.area;
      ls.pdf = AreaToSolidAngle(ls.dist, cos_light, light.area);
      break;
    }
  }
  ls.pdf *= pick;
  return ls;
}

// The density with which SampleLight, called at point p, would produce the
// unit direction wi that reaches light `ref` first at distance dist.
inline RENDERQ_HOST_DEVICE float LightPdf(const SceneView& s, uint32_t ref, Vec3 p, Vec3 wi,
                                          float dist) {
  const float pick = LightPickProbability(s, ref);
  if (!(pick > 0.0f)) return 0.0f;
  const uint32_t i = PrimRefIndex(ref);
  switch (PrimRefKind(ref)) {
    case kPrimSphere: {
      const Sphere& sp = s.spheres[i];
      const Vec3 to_center = sp.center - p;
      const float d2 = Dot(to_center, to_center);
      const float r2 = sp.radius * sp.radius;
      if (d2 <= r2 * kSphereInsideMargin) {
        const Vec3 n = (p + wi * dist - sp.center) / sp.radius;
        return pick * AreaToSolidAngle(dist, fabsf(Dot(n, wi)), 4.0f * kPi * r2);
      }
      return pick / (2.0f * kPi * SphereConeOneMinusCos(r2, d2));
    }
    case kPrimQuad: {
      const Quad& q = s.quads[i];
      return pick * AreaToSolidAngle(dist, fabsf(Dot(q.normal, wi)), Length(Cross(q.u, q.v)));
    }
    default: {
      const Triangle& tri = s.triangles[i];
      const Vec3 n = Cross(tri.e1, tri.e2);
      const float len = Length(n);
      return len > 0.0f ? pick * AreaToSolidAngle(dist, fabsf(Dot(n, wi)) / len, 0.5f * len) : 0.0f;
    }
  }
}

}  // namespace renderq::kernels
