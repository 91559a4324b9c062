#include "kernels/png_writer.h"

#include <fcntl.h>
#include <png.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace renderq {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using UniqueFile = std::unique_ptr<std::FILE, FileCloser>;

// libpng reports errors through longjmp; this handler turns them into a
// recorded message and the jump back into the function that called libpng.
void PngError(png_structp png, png_const_charp msg) {
  auto* out = static_cast<std::string*>(png_get_error_ptr(png));
  if (out != nullptr) *out = msg;
  png_longjmp(png, 1);
}
void PngWarning(png_structp, png_const_charp) {}

void AppendToVector(png_structp png, png_bytep data, png_size_t size) {
  auto* out = static_cast<std::vector<std::uint8_t>*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + size);
}
void NoFlush(png_structp) {}

// Encodes into `out`. Kept free of C++ objects with destructors between
// setjmp and the libpng calls, as longjmp requires.
bool Encode(int width, int height, const std::uint8_t* rgb, std::vector<std::uint8_t>* out,
            std::string* error) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, error, PngError, PngWarning);
  if (png == nullptr) return false;
  png_infop info = png_create_info_struct(png);
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_set_write_fn(png, out, AppendToVector, NoFlush);
  png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8,
               PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_set_sRGB_gAMA_and_cHRM(png, info, PNG_sRGB_INTENT_PERCEPTUAL);
  png_write_info(png, info);
  const size_t stride = static_cast<size_t>(width) * 3;
  for (int y = 0; y < height; ++y) {
    png_write_row(png, const_cast<png_bytep>(rgb + stride * static_cast<size_t>(y)));
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

bool Decode(std::FILE* f, RgbImage* image, std::string* error) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, error, PngError, PngWarning);
  if (png == nullptr) return false;
  png_infop info = png_create_info_struct(png);
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_init_io(png, f);
  png_read_info(png, info);
  png_set_strip_16(png);
  png_set_strip_alpha(png);
  png_set_palette_to_rgb(png);
  png_set_expand_gray_1_2_4_to_8(png);
  png_set_gray_to_rgb(png);
  png_read_update_info(png, info);
  image->width = static_cast<int>(png_get_image_width(png, info));
  image->height = static_cast<int>(png_get_image_height(png, info));
  if (png_get_rowbytes(png, info) != static_cast<size_t>(image->width) * 3) {
    *error = "unsupported PNG layout";
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  image->rgb.resize(static_cast<size_t>(image->width) * image->height * 3);
  for (int y = 0; y < image->height; ++y) {
    png_read_row(png, image->rgb.data() + static_cast<size_t>(y) * image->width * 3, nullptr);
  }
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

Status CheckSize(int width, int height, std::span<const std::uint8_t> rgb) {
  if (width < 1 || height < 1 || rgb.size() != static_cast<size_t>(width) * height * 3) {
    return Status::InvalidArgument("image buffer does not match " + std::to_string(width) + "x" +
                                   std::to_string(height) + " RGB");
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<std::uint8_t>> EncodePngRgb8(int width, int height,
                                                std::span<const std::uint8_t> rgb) {
  RETURN_IF_ERROR(CheckSize(width, height, rgb));
  std::vector<std::uint8_t> out;
  std::string error = "libpng failed";
  if (!Encode(width, height, rgb.data(), &out, &error))
    return Status::Internal("PNG encoding: " + error);
  return out;
}

Status WritePngRgb8(const std::string& path, int width, int height,
                    std::span<const std::uint8_t> rgb) {
  ASSIGN_OR_RETURN(std::vector<std::uint8_t> bytes, EncodePngRgb8(width, height, rgb));
  const std::string tmp = path + ".tmp";
  {
    UniqueFile f(std::fopen(tmp.c_str(), "wb"));
    if (!f) return Status::Unavailable("cannot create " + tmp + ": " + std::strerror(errno));
    if (std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size() ||
        std::fflush(f.get()) != 0 || ::fsync(::fileno(f.get())) != 0) {
      const std::string why = std::strerror(errno);
      std::remove(tmp.c_str());
      return Status::Unavailable("cannot write " + tmp + ": " + why);
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    return Status::Unavailable("cannot rename " + tmp + " to " + path + ": " + why);
  }
  return Status::Ok();
}

Result<RgbImage> ReadPngRgb8(const std::string& path) {
  UniqueFile f(std::fopen(path.c_str(), "rb"));
  if (!f) return Status::NotFound("cannot open " + path + ": " + std::strerror(errno));
  RgbImage image;
  std::string error = "libpng failed";
  if (!Decode(f.get(), &image, &error)) return Status::InvalidArgument(path + ": " + error);
  return image;
}

}  // namespace renderq
