#include "bench/render/reference_tracer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

namespace renderq::bench {
namespace {

struct V {
  double x = 0, y = 0, z = 0;
};
V operator+(V a, V b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
V operator-(V a, V b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
V operator*(V a, double s) { return {a.x * s, a.y * s, a.z * s}; }
V operator*(V a, V b) { return {a.x * b.x, a.y * b.y, a.z * b.z}; }
double Dot(V a, V b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
V Cross(V a, V b) { return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x}; }
V Unit(V a) { return a * (1.0 / std::sqrt(Dot(a, a))); }
V FromF(const Float3& f) { return {f[0], f[1], f[2]}; }

struct Tri {
  V a, b, c;
  std::uint32_t material;
};

struct Hit {
  double t = 1e30;
  V n;
  std::uint32_t material = 0;
};

class Reference {
 public:
  explicit Reference(const SceneDescription& s) : s_(s) {
    for (const auto& q : s.quads) {
      const V c = FromF(q.corner), u = FromF(q.u), v = FromF(q.v);
      tris_.push_back({c, c + u, c + u + v, q.material});
      tris_.push_back({c, c + u + v, c + v, q.material});
    }
    for (const auto& m : s.meshes) {
      for (const auto& t : m.triangles) {
        tris_.push_back({FromF(m.vertices[t[0]]), FromF(m.vertices[t[1]]), FromF(m.vertices[t[2]]),
                         m.material});
      }
    }
    const V from = FromF(s.camera.position), at = FromF(s.camera.look_at);
    const double h = std::tan(s.camera.vfov_degrees * M_PI / 360.0);
    const double w = h * s.width / s.height;
    const V back = Unit(from - at);
    right_ = Unit(Cross(FromF(s.camera.up), back));
    up_ = Cross(back, right_);
    origin_ = from;
    const double f = s.camera.focus_distance;
    corner_ = from - back * f - right_ * (w * f) + up_ * (h * f);
    across_ = right_ * (2 * w * f);
    down_ = up_ * (-2 * h * f);
  }

  V Sample(int x, int y, std::mt19937& rng) const {
    std::uniform_real_distribution<double> u01(0.0, 1.0);
    V o = origin_;
    if (s_.camera.aperture > 0) {
      const double r = std::sqrt(u01(rng)) * s_.camera.aperture / 2, phi = 2 * M_PI * u01(rng);
      o = o + right_ * (r * std::cos(phi)) + up_ * (r * std::sin(phi));
    }
    const V target =
        corner_ + across_ * ((x + u01(rng)) / s_.width) + down_ * ((y + u01(rng)) / s_.height);
    return Trace(o, Unit(target - o), 0, rng);
  }

 private:
  V Trace(V o, V d, int depth, std::mt19937& rng) const {
    if (depth >= s_.max_depth) return {};
    Hit h;
    if (!Intersect(o, d, &h)) {
      const V hz = FromF(s_.sky.horizon), zz = FromF(s_.sky.zenith);
      const double t = std::max(d.y, 0.0);
      return hz * (1 - t) + zz * t;
    }
    const MaterialDesc& m = s_.materials[h.material];
    if (m.type == MaterialType::kEmissive) return FromF(m.emission);
    std::uniform_real_distribution<double> u01(0.0, 1.0);
    const bool front = Dot(d, h.n) < 0;
    const V n = front ? h.n : h.n * -1.0;
    const V p = o + d * h.t;
    V dir, att{1, 1, 1};
    if (m.type == MaterialType::kLambertian) {
      dir = Unit(n + RandomUnit(rng));
      att = FromF(m.albedo);
    } else if (m.type == MaterialType::kMetal) {
      dir = Unit(d - n * (2 * Dot(d, n)) + RandomUnit(rng) * (m.roughness * std::cbrt(u01(rng))));
      if (Dot(dir, n) <= 0) return {};
      att = FromF(m.albedo);
    } else {
      const double eta = front ? 1 / m.ior : m.ior;
      const double cos = std::min(-Dot(d, n), 1.0), sin2 = 1 - cos * cos;
      double r0 = (1 - eta) / (1 + eta);
      r0 *= r0;
      if (eta * eta * sin2 > 1 || r0 + (1 - r0) * std::pow(1 - cos, 5) > u01(rng)) {
        dir = d - n * (2 * Dot(d, n));
      } else {
        const V perp = (d + n * cos) * eta;
        dir = Unit(perp - n * std::sqrt(std::fabs(1 - Dot(perp, perp))));
      }
    }
    const V origin = p + (Dot(dir, n) > 0 ? n : n * -1.0) * 1e-4;
    return att * Trace(origin, dir, depth + 1, rng);
  }

  static V RandomUnit(std::mt19937& rng) {
    std::uniform_real_distribution<double> u01(0.0, 1.0);
    const double z = 1 - 2 * u01(rng), r = std::sqrt(std::max(0.0, 1 - z * z)),
                 phi = 2 * M_PI * u01(rng);
    return {r * std::cos(phi), r * std::sin(phi), z};
  }

  bool Intersect(V o, V d, Hit* h) const {
    bool found = false;
    for (const auto& s : s_.spheres) {
      const V oc = o - FromF(s.center);
      const double b = Dot(oc, d), c = Dot(oc, oc) - double(s.radius) * s.radius, disc = b * b - c;
      if (disc < 0) continue;
      for (double t : {-b - std::sqrt(disc), -b + std::sqrt(disc)}) {
        if (t > 1e-6 && t < h->t) {
          h->t = t;
          h->n = (o + d * t - FromF(s.center)) * (1.0 / s.radius);
          h->material = s.material;
          found = true;
          break;
        }
      }
    }
    for (const auto& tri : tris_) {
      const V e1 = tri.b - tri.a, e2 = tri.c - tri.a, pv = Cross(d, e2);
      const double det = Dot(e1, pv);
      if (det == 0) continue;
      const V tv = o - tri.a;
      const double u = Dot(tv, pv) / det;
      if (u < 0 || u > 1) continue;
      const V qv = Cross(tv, e1);
      const double v = Dot(d, qv) / det, t = Dot(e2, qv) / det;
      if (v < 0 || u + v > 1 || t <= 1e-6 || t >= h->t) continue;
      h->t = t;
      h->n = Unit(Cross(e1, e2));
      h->material = tri.material;
      found = true;
    }
    return found;
  }

  const SceneDescription& s_;
  std::vector<Tri> tris_;
  V origin_, corner_, across_, down_, right_, up_;
};

}  // namespace

double RenderReferencePass(const SceneDescription& scene, int samples, int threads, int pass,
                           std::vector<double>* rgb_sums) {
  const Reference ref(scene);
  std::atomic<int> next_row{0};
  const auto width = static_cast<size_t>(scene.width);
  rgb_sums->resize(width * static_cast<size_t>(scene.height) * 3, 0.0);
  const auto start = std::chrono::steady_clock::now();
  auto work = [&] {
    for (int y; (y = next_row.fetch_add(1)) < scene.height;) {
      std::seed_seq seq{scene.seed, static_cast<unsigned>(y), static_cast<unsigned>(pass)};
      std::mt19937 rng(seq);
      for (int x = 0; x < scene.width; ++x) {
        double* px = &(*rgb_sums)[(static_cast<size_t>(y) * width + static_cast<size_t>(x)) * 3];
        for (int s = 0; s < samples; ++s) {
          const V l = ref.Sample(x, y, rng);
          px[0] += l.x;
          px[1] += l.y;
          px[2] += l.z;
        }
      }
    }
  };
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double RenderReference(const SceneDescription& scene, int samples, int threads, double* checksum) {
  std::vector<double> sums;
  const double seconds = RenderReferencePass(scene, samples, threads, /*pass=*/0, &sums);
  *checksum = 0;
  for (double v : sums) *checksum += v;
  return seconds;
}

}  // namespace renderq::bench
