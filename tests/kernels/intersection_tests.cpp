// Ray–primitive tests: hit, miss, edge and inside cases for each primitive.
#include <boost/test/unit_test.hpp>

#include "kernels/geometry.h"

namespace renderq::kernels {
namespace {

Ray R(Vec3 o, Vec3 d) { return Ray{o, d}; }

Quad MakeQuad(Vec3 corner, Vec3 u, Vec3 v) {
  Quad q{};
  q.corner = corner;
  q.u = u;
  q.v = v;
  const Vec3 n = Cross(u, v);
  q.normal = Normalize(n);
  q.w = n / Dot(n, n);
  q.plane_d = Dot(q.normal, corner);
  return q;
}

Triangle MakeTriangle(Vec3 a, Vec3 b, Vec3 c) { return Triangle{a, b - a, c - a, 0}; }

BOOST_AUTO_TEST_SUITE(KernelsIntersection)

BOOST_AUTO_TEST_CASE(sphere_cases) {
  const Sphere s{{0.0f, 0.0f, 0.0f}, 1.0f, 0};
  struct Case {
    const char* name;
    Ray ray;
    float expected_t;  // < 0: a miss
  };
  const Case cases[] = {
      {"head-on hits the near side", R({0, 0, 5}, {0, 0, -1}), 4.0f},
      {"from inside hits the far side", R({0, 0, 0}, {0, 0, -1}), 1.0f},
      {"pointing away misses", R({0, 0, 5}, {0, 0, 1}), -1.0f},
      {"passing beside misses", R({2, 0, 5}, {0, 0, -1}), -1.0f},
      {"grazing the silhouette hits", R({1, 0, 5}, {0, 0, -1}), 5.0f},
      {"unnormalised direction scales t", R({0, 0, 5}, {0, 0, -2}), 2.0f},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      const float t = IntersectSphere(s, c.ray, 1e-4f, kInfinity);
      if (c.expected_t < 0.0f) {
        BOOST_TEST(t < 0.0f);
      } else {
        BOOST_TEST(t == c.expected_t, boost::test_tools::tolerance(1e-3f));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(quad_cases) {
  const Quad q = MakeQuad({0, 0, 0}, {2, 0, 0}, {0, 1, 0});
  struct Case {
    const char* name;
    Ray ray;
    bool hit;
  };
  const Case cases[] = {
      {"centre from the front", R({1, 0.5f, 3}, {0, 0, -1}), true},
      {"centre from the back (two-sided)", R({1, 0.5f, -3}, {0, 0, 1}), true},
      {"on the edge counts as inside", R({2, 0.5f, 3}, {0, 0, -1}), true},
      {"on the corner counts as inside", R({0, 0, 3}, {0, 0, -1}), true},
      {"just outside the edge misses", R({2.001f, 0.5f, 3}, {0, 0, -1}), false},
      {"parallel to the plane misses", R({1, 0.5f, 3}, {1, 0, 0}), false},
      {"behind the origin misses", R({1, 0.5f, 3}, {0, 0, 1}), false},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      const float t = IntersectQuad(q, c.ray, 1e-4f, kInfinity);
      BOOST_TEST((t >= 0.0f) == c.hit);
      if (c.hit) BOOST_TEST(t == 3.0f, boost::test_tools::tolerance(1e-4f));
    }
  }
}

BOOST_AUTO_TEST_CASE(triangle_cases) {
  const Triangle tri = MakeTriangle({0, 0, 0}, {1, 0, 0}, {0, 1, 0});
  struct Case {
    const char* name;
    Ray ray;
    bool hit;
  };
  const Case cases[] = {
      {"interior from the front", R({0.25f, 0.25f, 2}, {0, 0, -1}), true},
      {"interior from the back (two-sided)", R({0.25f, 0.25f, -2}, {0, 0, 1}), true},
      {"on the hypotenuse", R({0.5f, 0.5f, 2}, {0, 0, -1}), true},
      {"on a vertex", R({1, 0, 2}, {0, 0, -1}), true},
      {"outside beyond the hypotenuse", R({0.6f, 0.6f, 2}, {0, 0, -1}), false},
      {"outside left of the leg", R({-0.01f, 0.5f, 2}, {0, 0, -1}), false},
      {"parallel in the plane", R({-1, 0.25f, 0}, {1, 0, 0}), false},
      {"beyond t_max", R({0.25f, 0.25f, 20}, {0, 0, -1}), false},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      const float t = IntersectTriangle(tri, c.ray, 1e-4f, 10.0f);
      BOOST_TEST((t >= 0.0f) == c.hit);
    }
  }
}

BOOST_AUTO_TEST_CASE(shared_edge_is_watertight) {
  // Two triangles of a square; rays along their shared diagonal must hit one.
  const Triangle a = MakeTriangle({0, 0, 0}, {1, 0, 0}, {1, 1, 0});
  const Triangle b = MakeTriangle({0, 0, 0}, {1, 1, 0}, {0, 1, 0});
  for (int i = 0; i <= 100; ++i) {
    const float f = static_cast<float>(i) / 100.0f;
    const Ray r = R({f, f, 1}, {0, 0, -1});
    const bool hit = IntersectTriangle(a, r, 0.0f, kInfinity) >= 0.0f ||
                     IntersectTriangle(b, r, 0.0f, kInfinity) >= 0.0f;
    BOOST_TEST(hit, "ray at " << f << " slipped through the diagonal");
  }
}

BOOST_AUTO_TEST_CASE(box_entry_distance) {
  BvhNode node{};
  for (int a = 0; a < 3; ++a) {
    node.bmin[a] = -1.0f;
    node.bmax[a] = 1.0f;
  }
  auto entry = [&](Ray r) {
    const Vec3 inv = {1.0f / r.dir.x, 1.0f / r.dir.y, 1.0f / r.dir.z};
    return BoxEntry(node, r.origin, inv, 0.0f, kInfinity);
  };
  BOOST_TEST(entry(R({0, 0, 5}, {0, 0, -1})) == 4.0f);
  BOOST_TEST(entry(R({0, 0, 0}, {1, 0, 0})) == 0.0f);  // from inside: enters at t_min
  BOOST_TEST(entry(R({0, 2, 5}, {0, 0, -1})) < 0.0f);  // parallel, outside the slab
  BOOST_TEST(entry(R({0, 0, 5}, {0, 0, 1})) < 0.0f);   // behind
  BOOST_TEST(entry(R({-5, -5, -5}, Normalize({1, 1, 1}))) > 0.0f);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq::kernels
