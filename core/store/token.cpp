#include "core/store/token.h"

#include <array>
#include <cstdint>

#include "core/model/uuid.h"

namespace renderq {

Result<std::string> NewToken() {
  std::array<std::uint8_t, 32> secret{};
  RETURN_IF_ERROR(RandomBytes(secret.data(), secret.size()));
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string token(kTokenPrefix);
  std::uint32_t bits = 0;
  int pending = 0;
  for (std::uint8_t byte : secret) {
    bits = (bits << 8) | byte;
    pending += 8;
    while (pending >= 6) {
      pending -= 6;
      token += kAlphabet[(bits >> pending) & 0x3f];
    }
  }
  if (pending > 0) token += kAlphabet[(bits << (6 - pending)) & 0x3f];
  return token;
}

}  // namespace renderq
