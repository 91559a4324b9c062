#include "notify/webhook_signature.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "notify/base64.h"

namespace renderq::notify {

std::string SignedContent(std::string_view id, std::int64_t timestamp, std::string_view body) {
  std::string content;
  content.reserve(id.size() + body.size() + 24);
  content.append(id).append(".").append(std::to_string(timestamp)).append(".").append(body);
  return content;
}

std::string SignatureHeader(std::string_view key, std::string_view id, std::int64_t timestamp,
                            std::string_view body) {
  const std::string content = SignedContent(id, timestamp, body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &mac_size);
  return "v1," + Base64Encode(std::string_view(reinterpret_cast<const char*>(mac), mac_size));
}

}  // namespace renderq::notify
