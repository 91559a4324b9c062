// The host/device vocabulary shared by the CPU and CUDA backends: the
// RENDERQ_HOST_DEVICE annotation, vector math and the counter-based RNG.
//
// Everything here is `inline RENDERQ_HOST_DEVICE`, single precision (float
// literals), free of virtual calls and of the standard library, so that nvcc
// and the host compiler turn the same source into the same arithmetic.
#pragma once

#include <math.h>  // sqrtf & co. in the global namespace, usable in device code
#include <stdint.h>

#if defined(__CUDACC__)
#define RENDERQ_HOST_DEVICE __host__ __device__
#else
#define RENDERQ_HOST_DEVICE
#endif

// For the few small functions on the traversal's inner loop that the host
// compiler would otherwise keep out of line once two callers use them
// (closest-hit and shadow traversal); nvcc inlines device code anyway.
#if defined(__CUDACC__)
#define RENDERQ_INLINE __forceinline__
#elif defined(__GNUC__)
#define RENDERQ_INLINE inline __attribute__((always_inline))
#else
#define RENDERQ_INLINE inline
#endif

namespace renderq::kernels {

inline constexpr float kPi = 3.14159265358979323846f;
inline constexpr float kInfinity = 3.0e38f;

struct Vec3 {
  float x, y, z;
};

inline RENDERQ_HOST_DEVICE Vec3 MakeVec3(float x, float y, float z) { return Vec3{x, y, z}; }
inline RENDERQ_HOST_DEVICE Vec3 operator+(Vec3 a, Vec3 b) {
  return {a.x + b.x, a.y + b.y, a.z + b.z};
}
inline RENDERQ_HOST_DEVICE Vec3 operator-(Vec3 a, Vec3 b) {
  return {a.x - b.x, a.y - b.y, a.z - b.z};
}
inline RENDERQ_HOST_DEVICE Vec3 operator-(Vec3 a) { return {-a.x, -a.y, -a.z}; }
inline RENDERQ_HOST_DEVICE Vec3 operator*(Vec3 a, Vec3 b) {
  return {a.x * b.x, a.y * b.y, a.z * b.z};
}
inline RENDERQ_HOST_DEVICE Vec3 operator*(Vec3 a, float s) { return {a.x * s, a.y * s, a.z * s}; }
inline RENDERQ_HOST_DEVICE Vec3 operator*(float s, Vec3 a) { return a * s; }
inline RENDERQ_HOST_DEVICE Vec3 operator/(Vec3 a, float s) { return a * (1.0f / s); }
inline RENDERQ_HOST_DEVICE Vec3& operator+=(Vec3& a, Vec3 b) {
  a = a + b;
  return a;
}
inline RENDERQ_HOST_DEVICE Vec3& operator*=(Vec3& a, Vec3 b) {
  a = a * b;
  return a;
}
inline RENDERQ_HOST_DEVICE float Dot(Vec3 a, Vec3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
inline RENDERQ_HOST_DEVICE Vec3 Cross(Vec3 a, Vec3 b) {
  return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}
inline RENDERQ_HOST_DEVICE float Length(Vec3 a) { return sqrtf(Dot(a, a)); }
inline RENDERQ_HOST_DEVICE Vec3 Normalize(Vec3 a) { return a / Length(a); }
inline RENDERQ_HOST_DEVICE float MinF(float a, float b) { return a < b ? a : b; }
inline RENDERQ_HOST_DEVICE float MaxF(float a, float b) { return a > b ? a : b; }
inline RENDERQ_HOST_DEVICE float Clamp01(float a) { return MinF(MaxF(a, 0.0f), 1.0f); }
inline RENDERQ_HOST_DEVICE float MaxComponent(Vec3 a) { return MaxF(a.x, MaxF(a.y, a.z)); }
inline RENDERQ_HOST_DEVICE Vec3 Lerp(Vec3 a, Vec3 b, float t) { return a * (1.0f - t) + b * t; }
inline RENDERQ_HOST_DEVICE float Component(Vec3 a, int axis) {
  return axis == 0 ? a.x : (axis == 1 ? a.y : a.z);
}
inline RENDERQ_HOST_DEVICE bool IsFinite(Vec3 a) {
  // Written without isfinite() so it holds under -ffast-math-like device flags too.
  const float m = 3.4e38f;
  return a.x > -m && a.x < m && a.y > -m && a.y < m && a.z > -m && a.z < m;
}

struct Ray {
  Vec3 origin;
  Vec3 dir;  // not necessarily unit length for intersection; the tracer keeps it unit
};

inline RENDERQ_HOST_DEVICE Vec3 At(const Ray& r, float t) { return r.origin + r.dir * t; }

// ---------------------------------------------------------------------------
// RNG: PCG32 (O'Neill) seeded by a hash of (seed, pixel, sample). Counter-based
// in the sense that matters here: any sample's random stream is computable on
// its own, so sample s of pixel p is the same number sequence whichever thread,
// tile, pass or backend draws it.

// A 32-bit integer hash with good avalanche (Jarzynski & Olano, "Hash
// Functions for GPU Rendering", PCG-based).
inline RENDERQ_HOST_DEVICE uint32_t PcgHash(uint32_t v) {
  uint32_t state = v * 747796405u + 2891336453u;
  uint32_t word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

struct Rng {
  uint64_t state;
  uint64_t inc;
};

inline RENDERQ_HOST_DEVICE uint32_t NextUint(Rng& rng) {
  uint64_t old = rng.state;
  rng.state = old * 6364136223846793005ull + rng.inc;
  uint32_t xorshifted = static_cast<uint32_t>(((old >> 18u) ^ old) >> 27u);
  uint32_t rot = static_cast<uint32_t>(old >> 59u);
  return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
}

inline RENDERQ_HOST_DEVICE Rng MakeRng(uint32_t seed, uint32_t pixel, uint32_t sample) {
  uint32_t a = PcgHash(seed ^ 0x9e3779b9u);
  uint32_t b = PcgHash(a ^ pixel);
  uint32_t c = PcgHash(b ^ (sample * 0x85ebca6bu));
  Rng rng;
  rng.state = 0u;
  // Distinct streams per (seed, pixel); the sample index picks the start state.
  rng.inc = ((static_cast<uint64_t>(b) << 32u) | a) << 1u | 1u;
  NextUint(rng);
  rng.state += (static_cast<uint64_t>(c) << 32u) | PcgHash(c ^ sample);
  NextUint(rng);
  return rng;
}

// Uniform in [0, 1): the top 24 bits, so the result is exactly representable.
inline RENDERQ_HOST_DEVICE float NextFloat(Rng& rng) {
  return static_cast<float>(NextUint(rng) >> 8u) * (1.0f / 16777216.0f);
}

}  // namespace renderq::kernels
