// Warps of uniform random numbers into directions and points, shared by the
// camera, the materials and the lights. Single precision, both backends.
#pragma once

#include "kernels/host_device.h"

namespace renderq::kernels {

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

// Two unit vectors that make (t, b, n) an orthonormal basis for a unit n,
// without a branch on the direction of n (Duff et al., JCGT 2017).
inline RENDERQ_HOST_DEVICE void OrthonormalBasis(Vec3 n, Vec3* t, Vec3* b) {
  const float sign = n.z >= 0.0f ? 1.0f : -1.0f;
  const float a = -1.0f / (sign + n.z);
  const float c = n.x * n.y * a;
  *t = {1.0f + sign * n.x * n.x * a, sign * c, -sign * n.x};
  *b = {c, sign + n.y * n.y * a, -n.y};
}

// Power heuristic (beta = 2) weight of the strategy with density `pdf_a`
// against one with `pdf_b`, written as a ratio so that huge densities (tiny
// lights, narrow lobes) cannot overflow into inf / inf.
inline RENDERQ_HOST_DEVICE float PowerHeuristic(float pdf_a, float pdf_b) {
  if (!(pdf_a > 0.0f)) return 0.0f;
  const float r = pdf_b / pdf_a;
  return 1.0f / (1.0f + r * r);
}

}  // namespace renderq::kernels
