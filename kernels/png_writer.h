// 8-bit RGB PNG files through libpng, tagged sRGB. Writes go to a temp file
// that is fsynced and renamed, so a reader never sees a partial PNG.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/model/status.h"

namespace renderq {

// rgb: width × height × 3 bytes, rows top to bottom, already sRGB-encoded.
// kInvalidArgument for a size mismatch, kUnavailable for I/O errors.
Status WritePngRgb8(const std::string& path, int width, int height,
                    std::span<const std::uint8_t> rgb);

// The same PNG as bytes in memory (for previews served from a database or a socket).
Result<std::vector<std::uint8_t>> EncodePngRgb8(int width, int height,
                                                std::span<const std::uint8_t> rgb);

struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> rgb;  // width × height × 3
};

// Reads any 8-bit PNG libpng understands, converted to RGB (tests, tools).
Result<RgbImage> ReadPngRgb8(const std::string& path);

}  // namespace renderq
