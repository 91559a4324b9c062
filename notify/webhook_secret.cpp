#include "notify/webhook_secret.h"

#include <openssl/rand.h>

#include "notify/base64.h"

namespace renderq::notify {

Result<std::string> NewSecretKey() {
  std::string key(kSecretBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    return Status::Unavailable("the random number generator could not make a webhook secret");
  }
  return key;
}

std::string FormatSecret(std::string_view key) {
  return std::string(kSecretPrefix) + Base64Encode(key);
}

Result<std::string> ParseSecret(std::string_view text) {
  if (!text.starts_with(kSecretPrefix)) {
    return Status::InvalidArgument("a webhook secret starts with \"whsec_\"");
  }
  auto key = Base64Decode(text.substr(kSecretPrefix.size()));
  if (!key) return Status::InvalidArgument("a webhook secret is whsec_ and base64");
  if (key->size() < kMinSecretBytes) {
    return Status::InvalidArgument("a webhook secret holds at least 24 bytes");
  }
  return std::move(*key);
}

}  // namespace renderq::notify
