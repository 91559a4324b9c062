#include "kernels/bvh.h"

#include <algorithm>
#include <array>

#include "kernels/geometry.h"

namespace renderq::kernels {

void Aabb::Grow(Vec3 p) {
  const float c[3] = {p.x, p.y, p.z};
  for (int a = 0; a < 3; ++a) {
    bmin[a] = std::min(bmin[a], c[a]);
    bmax[a] = std::max(bmax[a], c[a]);
  }
}

void Aabb::Grow(const Aabb& b) {
  for (int a = 0; a < 3; ++a) {
    bmin[a] = std::min(bmin[a], b.bmin[a]);
    bmax[a] = std::max(bmax[a], b.bmax[a]);
  }
}

float Aabb::SurfaceArea() const {
  const float dx = bmax[0] - bmin[0], dy = bmax[1] - bmin[1], dz = bmax[2] - bmin[2];
  if (dx < 0.0f || dy < 0.0f || dz < 0.0f) return 0.0f;
  return 2.0f * (dx * dy + dy * dz + dz * dx);
}

namespace {

constexpr int kBins = 16;
constexpr uint32_t kMaxLeafSize = 4;      // always a leaf at or below this
constexpr uint32_t kMaxSahLeafSize = 16;  // SAH may choose a leaf up to this size
constexpr float kTraversalCost = 1.0f;    // relative to one primitive test
// Past this depth splits are by count (median), which bounds the total depth;
// lower for inputs so large that 32 SAH levels plus the median levels could
// exceed kMaxBvhDepth (see SahDepthLimit).
constexpr int kSahDepthLimit = 32;
static_assert(kMaxBvhDepth <= kBvhStackSize, "a full-depth traversal must fit the stack");

int CeilLog2(size_t n) {
  int k = 0;
  while ((size_t{1} << k) < n) ++k;
  return k;
}

// Median splits at most halve (rounding up) the count per level, so from
// depth L a subtree of n primitives ends within ceil(log2 n) more levels:
// L + ceil(log2 n) + 1 levels in all stays within kMaxBvhDepth.
int SahDepthLimit(size_t n) {
  return std::clamp(kMaxBvhDepth - 1 - CeilLog2(n), 0, kSahDepthLimit);
}

class Builder {
 public:
  explicit Builder(std::span<const Aabb> bounds)
      : bounds_(bounds), sah_depth_limit_(SahDepthLimit(bounds.size())) {
    centroids_.resize(bounds.size());
    for (size_t i = 0; i < bounds.size(); ++i) {
      for (int a = 0; a < 3; ++a) {
        centroids_[i][a] = 0.5f * (bounds[i].bmin[a] + bounds[i].bmax[a]);
      }
    }
    bvh_.order.resize(bounds.size());
    for (size_t i = 0; i < bounds.size(); ++i) bvh_.order[i] = static_cast<uint32_t>(i);
    bvh_.nodes.reserve(2 * bounds.size() / kMaxLeafSize + 1);
  }

  Bvh Build() {
    if (!bounds_.empty()) BuildNode(0, static_cast<uint32_t>(bounds_.size()), 0);
    return std::move(bvh_);
  }

 private:
  struct Split {
    int axis = -1;
    float position = 0.0f;
    float cost = 0.0f;
  };

  // Emits the node for order[begin, end) and, recursively, its subtree.
  void BuildNode(uint32_t begin, uint32_t end, int depth) {
    const uint32_t node_index = static_cast<uint32_t>(bvh_.nodes.size());
    bvh_.nodes.emplace_back();
    Aabb box, centroid_box;
    for (uint32_t k = begin; k < end; ++k) {
      box.Grow(bounds_[bvh_.order[k]]);
      const auto& c = centroids_[bvh_.order[k]];
      centroid_box.Grow(Vec3{c[0], c[1], c[2]});
    }
    SetBox(node_index, box);
    const uint32_t count = end - begin;
    if (count <= kMaxLeafSize) return MakeLeaf(node_index, begin, count);

    uint32_t mid = begin;
    int axis = LongestAxis(centroid_box);
    if (depth < sah_depth_limit_) {
      const Split split = FindSahSplit(begin, end, centroid_box);
      const float area = box.SurfaceArea();
      const float split_cost =
          kTraversalCost + (area > 0.0f ? split.cost / area : static_cast<float>(count));
      const bool worth_splitting = split.axis >= 0 && split_cost < static_cast<float>(count);
      if (!worth_splitting && count <= kMaxSahLeafSize) return MakeLeaf(node_index, begin, count);
      if (split.axis >= 0) {
        axis = split.axis;
        mid = static_cast<uint32_t>(
            std::partition(bvh_.order.begin() + begin, bvh_.order.begin() + end,
                           [&](uint32_t i) { return centroids_[i][axis] < split.position; }) -
            bvh_.order.begin());
      }
    }
    if (mid == begin || mid == end) {
      // Median split by centroid along the longest axis: always makes progress.
      mid = begin + count / 2;
      std::nth_element(
          bvh_.order.begin() + begin, bvh_.order.begin() + mid, bvh_.order.begin() + end,
          [&](uint32_t a, uint32_t b) { return centroids_[a][axis] < centroids_[b][axis]; });
    }
    bvh_.nodes[node_index].axis = static_cast<uint8_t>(axis);
    BuildNode(begin, mid, depth + 1);
    bvh_.nodes[node_index].offset = static_cast<uint32_t>(bvh_.nodes.size());
    BuildNode(mid, end, depth + 1);
  }

  Split FindSahSplit(uint32_t begin, uint32_t end, const Aabb& centroid_box) const {
    Split best;
    best.cost = kInfinity;
    for (int axis = 0; axis < 3; ++axis) {
      const float lo = centroid_box.bmin[axis];
      const float extent = centroid_box.bmax[axis] - lo;
      if (!(extent > 0.0f)) continue;
      const float scale = static_cast<float>(kBins) / extent;
      std::array<Aabb, kBins> bin_box{};
      std::array<uint32_t, kBins> bin_count{};
      for (uint32_t k = begin; k < end; ++k) {
        const uint32_t i = bvh_.order[k];
        const int b = std::min(kBins - 1, static_cast<int>((centroids_[i][axis] - lo) * scale));
        bin_box[b].Grow(bounds_[i]);
        ++bin_count[b];
      }
      // Sweep from the right to get the cost of every right part, then from the left.
      std::array<float, kBins> right_cost{};
      Aabb acc;
      uint32_t n = 0;
      for (int b = kBins - 1; b > 0; --b) {
        acc.Grow(bin_box[b]);
        n += bin_count[b];
        right_cost[b] = static_cast<float>(n) * acc.SurfaceArea();
      }
      acc = Aabb();
      n = 0;
      for (int b = 0; b < kBins - 1; ++b) {
        acc.Grow(bin_box[b]);
        n += bin_count[b];
        if (n == 0 || n == end - begin) continue;
        const float cost = static_cast<float>(n) * acc.SurfaceArea() + right_cost[b + 1];
        if (cost < best.cost) {
          best.cost = cost;
          best.axis = axis;
          best.position = lo + static_cast<float>(b + 1) / scale;
        }
      }
    }
    return best;
  }

  static int LongestAxis(const Aabb& b) {
    const float d[3] = {b.bmax[0] - b.bmin[0], b.bmax[1] - b.bmin[1], b.bmax[2] - b.bmin[2]};
    return d[0] >= d[1] && d[0] >= d[2] ? 0 : (d[1] >= d[2] ? 1 : 2);
  }

  void SetBox(uint32_t node_index, const Aabb& box) {
    BvhNode& n = bvh_.nodes[node_index];
    for (int a = 0; a < 3; ++a) {
      n.bmin[a] = box.bmin[a];
      n.bmax[a] = box.bmax[a];
    }
    n.offset = 0;
    n.count = 0;
    n.axis = 0;
    n.pad = 0;
  }

  void MakeLeaf(uint32_t node_index, uint32_t begin, uint32_t count) {
    bvh_.nodes[node_index].offset = begin;
    bvh_.nodes[node_index].count = static_cast<uint16_t>(count);
  }

  std::span<const Aabb> bounds_;
  const int sah_depth_limit_;
  std::vector<std::array<float, 3>> centroids_;
  Bvh bvh_;
};

}  // namespace

Bvh BuildBvh(std::span<const Aabb> prim_bounds) { return Builder(prim_bounds).Build(); }

}  // namespace renderq::kernels
