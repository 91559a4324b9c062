// Linear radiance to 8-bit sRGB: the one tone mapping the image outputs use.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace renderq::kernels {

// The sRGB transfer function of a linear value, clamped to [0, 1] first, rounded.
std::uint8_t LinearToSrgb8(float linear);

// sums: pixel × 3 linear sums of `samples` samples each; 0 samples gives black.
std::vector<std::uint8_t> SumsToSrgb8(std::span<const float> sums, int samples);

}  // namespace renderq::kernels
