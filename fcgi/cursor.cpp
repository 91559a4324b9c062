#include "fcgi/cursor.h"

#include <charconv>

namespace renderq {

namespace {

// A version tag inside the encoded text, so the format can change later.
constexpr std::string_view kCursorTag = "s1:";
constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::size_t kMaxCursorChars = 64;

int AlphabetIndex(char c) {
  const std::size_t i = kAlphabet.find(c);
  return i == std::string_view::npos ? -1 : static_cast<int>(i);
}

std::string Base64UrlEncode(std::string_view in) {
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (const char c : in) {
    buffer = (buffer << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 0x3f]);
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view in) {
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (const char c : in) {
    const int v = AlphabetIndex(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero padding of the last character, or the text was
  // not produced by the encoder.
  if (bits >= 6 || (buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

}  // namespace

std::string EncodeCursor(std::int64_t before_seq) {
  std::string text(kCursorTag);
  text += std::to_string(before_seq);
  return Base64UrlEncode(text);
}

std::optional<std::int64_t> DecodeCursor(std::string_view cursor) {
  if (cursor.empty() || cursor.size() > kMaxCursorChars) return std::nullopt;
  const auto text = Base64UrlDecode(cursor);
  if (!text || !text->starts_with(kCursorTag)) return std::nullopt;
  const std::string_view digits = std::string_view(*text).substr(kCursorTag.size());
  std::int64_t seq = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
  if (ec != std::errc() || end != digits.data() + digits.size() || seq <= 0) return std::nullopt;
  if (digits.front() == '0') return std::nullopt;  // one spelling per value
  return seq;
}

}  // namespace renderq
