// PSNR between two 8-bit images, the golden-image metric.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace renderq::testing {

// Peak signal-to-noise ratio in dB over all channels; infinity when equal.
inline double Psnr(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  if (a.size() != b.size() || a.empty()) return 0.0;
  double se = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
    se += d * d;
  }
  if (se == 0.0) return std::numeric_limits<double>::infinity();
  const double mse = se / static_cast<double>(a.size());
  return 10.0 * std::log10(255.0 * 255.0 / mse);
}

}  // namespace renderq::testing
