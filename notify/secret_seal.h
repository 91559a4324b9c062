// Webhook secrets at rest: sealed to the dispatcher's public key.
//
// A webhook secret cannot be stored as a hash like an API token: the
// dispatcher needs the secret itself to compute each signature. So the
// database holds it sealed (an "ECIES" box: X25519 with a fresh ephemeral
// key per secret, HKDF-SHA256, AES-256-GCM), and the private key lives in a
// file outside the database (a systemd credential when installed). The
// responder, which creates webhooks and faces the internet, holds only the
// public key: it can seal a new secret but open none. A database dump, a
// backup or a replica holds no secret in clear.
//
// Sealed layout (bytes): version 0x01 | key id (8: SHA-256 prefix of the
// public key) | ephemeral public key (32) | nonce (12) | ciphertext | tag (16).
// `context` (the webhook's id) is authenticated as associated data, so a
// sealed secret copied onto another webhook's row does not open there.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/model/status.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace renderq::notify {

namespace internal {
struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const;
};
}  // namespace internal

// Seals secrets. Immutable once built; safe to share between threads.
class SealingKey {
 public:
  // From a PEM "PUBLIC KEY" (X25519) text or file.
  static Result<SealingKey> FromPublicPem(std::string_view pem);
  static Result<SealingKey> FromPublicPemFile(const std::string& path);

  Result<std::string> Seal(std::string_view plaintext, std::string_view context) const;
  // 8 bytes naming the key pair: which private key opens a sealed secret.
  const std::string& key_id() const { return key_id_; }

 private:
  friend class OpeningKey;
  std::shared_ptr<EVP_PKEY> public_key_;
  std::string public_raw_;  // 32 bytes
  std::string key_id_;
};

// Opens sealed secrets. Immutable once built; safe to share between threads.
class OpeningKey {
 public:
  // A fresh key pair (renderq-notify --generate-seal-key).
  static Result<OpeningKey> Generate();
  // From a PEM "PRIVATE KEY" (X25519, PKCS#8) text or file, as written by
  // `openssl genpkey -algorithm X25519` or PrivatePem().
  static Result<OpeningKey> FromPrivatePem(std::string_view pem);
  static Result<OpeningKey> FromPrivatePemFile(const std::string& path);

  // kInvalidArgument when `sealed` was sealed to another key, for another
  // context, or altered.
  Result<std::string> Open(std::string_view sealed, std::string_view context) const;

  const SealingKey& sealing_key() const { return sealing_; }
  Result<std::string> PrivatePem() const;
  Result<std::string> PublicPem() const;

 private:
  std::shared_ptr<EVP_PKEY> private_key_;
  SealingKey sealing_;
};

}  // namespace renderq::notify
