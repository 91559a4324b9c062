#include "kernels/color.h"

#include <algorithm>
#include <cmath>

namespace renderq::kernels {

std::uint8_t LinearToSrgb8(float linear) {
  // NaN compares false everywhere and ends up as 0.
  const float c = linear > 0.0f ? std::min(linear, 1.0f) : 0.0f;
  const float s = c <= 0.0031308f ? 12.92f * c : 1.055f * std::pow(c, 1.0f / 2.4f) - 0.055f;
  return static_cast<std::uint8_t>(std::lround(std::clamp(s, 0.0f, 1.0f) * 255.0f));
}

std::vector<std::uint8_t> SumsToSrgb8(std::span<const float> sums, int samples) {
  std::vector<std::uint8_t> out(sums.size(), 0);
  if (samples <= 0) return out;
  const float inv = 1.0f / static_cast<float>(samples);
  for (size_t i = 0; i < sums.size(); ++i) out[i] = LinearToSrgb8(sums[i] * inv);
  return out;
}

}  // namespace renderq::kernels
