#include "notify/secret_seal.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <fstream>
#include <sstream>

namespace renderq::notify {

void internal::PkeyDeleter::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

namespace {

constexpr unsigned char kVersion = 0x01;
constexpr std::size_t kKeyIdBytes = 8;
constexpr std::size_t kRawKeyBytes = 32;
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;
constexpr std::size_t kHeaderBytes = 1 + kKeyIdBytes + kRawKeyBytes + kNonceBytes;
constexpr std::string_view kHkdfInfo = "renderq webhook secret v1";

struct CtxDeleter {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
  void operator()(BIO* b) const { BIO_free(b); }
};

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* Bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

std::shared_ptr<EVP_PKEY> Share(EVP_PKEY* key) {
  return std::shared_ptr<EVP_PKEY>(key, internal::PkeyDeleter());
}

Result<std::string> RawPublic(EVP_PKEY* key) {
  std::string raw(kRawKeyBytes, '\0');
  std::size_t size = raw.size();
  if (EVP_PKEY_get_raw_public_key(key, Bytes(raw), &size) != 1 || size != kRawKeyBytes) {
    return Status::InvalidArgument("not an X25519 key");
  }
  return raw;
}

std::string KeyId(std::string_view raw_public) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(Bytes(raw_public), raw_public.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), kKeyIdBytes);
}

// X25519(own, peer), then HKDF-SHA256 with both public keys as salt.
Result<std::string> DeriveKey(EVP_PKEY* own, EVP_PKEY* peer, std::string_view ephemeral_raw,
                              std::string_view recipient_raw) {
  std::unique_ptr<EVP_PKEY_CTX, CtxDeleter> dh(EVP_PKEY_CTX_new(own, nullptr));
  std::string shared(kRawKeyBytes, '\0');
  std::size_t shared_size = shared.size();
  if (!dh || EVP_PKEY_derive_init(dh.get()) != 1 || EVP_PKEY_derive_set_peer(dh.get(), peer) != 1 ||
      EVP_PKEY_derive(dh.get(), Bytes(shared), &shared_size) != 1 || shared_size != kRawKeyBytes) {
    return Status::Internal("X25519 key agreement failed");
  }
  const std::string salt = std::string(ephemeral_raw) + std::string(recipient_raw);
  std::unique_ptr<EVP_PKEY_CTX, CtxDeleter> kdf(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
  std::string key(32, '\0');
  std::size_t key_size = key.size();
  if (!kdf || EVP_PKEY_derive_init(kdf.get()) != 1 ||
      EVP_PKEY_CTX_set_hkdf_md(kdf.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_CTX_set1_hkdf_salt(kdf.get(), Bytes(salt), static_cast<int>(salt.size())) != 1 ||
      EVP_PKEY_CTX_set1_hkdf_key(kdf.get(), Bytes(shared), static_cast<int>(shared.size())) != 1 ||
      EVP_PKEY_CTX_add1_hkdf_info(kdf.get(), Bytes(kHkdfInfo),
                                  static_cast<int>(kHkdfInfo.size())) != 1 ||
      EVP_PKEY_derive(kdf.get(), Bytes(key), &key_size) != 1) {
    return Status::Internal("HKDF failed");
  }
  OPENSSL_cleanse(shared.data(), shared.size());
  return key;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("cannot read key file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<std::string> WritePem(EVP_PKEY* key, bool is_private) {
  std::unique_ptr<BIO, CtxDeleter> bio(BIO_new(BIO_s_mem()));
  const int ok =
      is_private ? PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
                 : PEM_write_bio_PUBKEY(bio.get(), key);
  if (!bio || ok != 1) return Status::Internal("cannot write the key as PEM");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

}  // namespace

Result<SealingKey> SealingKey::FromPublicPem(std::string_view pem) {
  std::unique_ptr<BIO, CtxDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* key = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (key == nullptr) return Status::InvalidArgument("not a PEM public key");
  SealingKey out;
  out.public_key_ = Share(key);
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_X25519) {
    return Status::InvalidArgument("the webhook seal key must be an X25519 key");
  }
  ASSIGN_OR_RETURN(out.public_raw_, RawPublic(key));
  out.key_id_ = KeyId(out.public_raw_);
  return out;
}

Result<SealingKey> SealingKey::FromPublicPemFile(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string pem, ReadFile(path));
  auto key = FromPublicPem(pem);
  if (!key.ok()) return Status::InvalidArgument(path + ": " + key.status().message());
  return key;
}

Result<std::string> SealingKey::Seal(std::string_view plaintext, std::string_view context) const {
  EVP_PKEY* ephemeral_raw_ptr = EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519");
  if (ephemeral_raw_ptr == nullptr) return Status::Unavailable("cannot make an X25519 key");
  const std::shared_ptr<EVP_PKEY> ephemeral = Share(ephemeral_raw_ptr);
  ASSIGN_OR_RETURN(const std::string ephemeral_public, RawPublic(ephemeral.get()));
  ASSIGN_OR_RETURN(std::string key,
                   DeriveKey(ephemeral.get(), public_key_.get(), ephemeral_public, public_raw_));
  std::string out;
  out.reserve(kHeaderBytes + plaintext.size() + kTagBytes);
  out.push_back(static_cast<char>(kVersion));
  out += key_id_;
  out += ephemeral_public;
  std::string nonce(kNonceBytes, '\0');
  if (RAND_bytes(Bytes(nonce), static_cast<int>(nonce.size())) != 1) {
    return Status::Unavailable("the random number generator failed");
  }
  out += nonce;

  std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter> ctx(EVP_CIPHER_CTX_new());
  std::string cipher(plaintext.size() + kTagBytes, '\0');
  int len = 0, final_len = 0;
  const bool ok =
      ctx &&
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key), Bytes(nonce)) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(context),
                        static_cast<int>(context.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), Bytes(cipher), &len, Bytes(plaintext),
                        static_cast<int>(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx.get(), Bytes(cipher) + len, &final_len) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes),
                          Bytes(cipher) + plaintext.size()) == 1;
  OPENSSL_cleanse(key.data(), key.size());
  if (!ok) return Status::Internal("AES-256-GCM failed");
  out += cipher;
  return out;
}

Result<OpeningKey> OpeningKey::Generate() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519");
  if (key == nullptr) return Status::Unavailable("cannot make an X25519 key");
  OpeningKey out;
  out.private_key_ = Share(key);
  out.sealing_.public_key_ = out.private_key_;
  ASSIGN_OR_RETURN(out.sealing_.public_raw_, RawPublic(key));
  out.sealing_.key_id_ = KeyId(out.sealing_.public_raw_);
  return out;
}

Result<OpeningKey> OpeningKey::FromPrivatePem(std::string_view pem) {
  std::unique_ptr<BIO, CtxDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (key == nullptr) return Status::InvalidArgument("not a PEM private key");
  OpeningKey out;
  out.private_key_ = Share(key);
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_X25519) {
    return Status::InvalidArgument("the webhook seal key must be an X25519 key");
  }
  out.sealing_.public_key_ = out.private_key_;
  ASSIGN_OR_RETURN(out.sealing_.public_raw_, RawPublic(key));
  out.sealing_.key_id_ = KeyId(out.sealing_.public_raw_);
  return out;
}

Result<OpeningKey> OpeningKey::FromPrivatePemFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
  auto key = FromPrivatePem(pem);
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!key.ok()) return Status::InvalidArgument(path + ": " + key.status().message());
  return key;
}

Result<std::string> OpeningKey::Open(std::string_view sealed, std::string_view context) const {
  if (sealed.size() < kHeaderBytes + kTagBytes ||
      static_cast<unsigned char>(sealed[0]) != kVersion) {
    return Status::InvalidArgument("not a sealed webhook secret");
  }
  if (sealed.substr(1, kKeyIdBytes) != sealing_.key_id_) {
    return Status::InvalidArgument("the webhook secret was sealed to another key");
  }
  const std::string_view ephemeral_public = sealed.substr(1 + kKeyIdBytes, kRawKeyBytes);
  const std::string_view nonce = sealed.substr(1 + kKeyIdBytes + kRawKeyBytes, kNonceBytes);
  const std::string_view cipher =
      sealed.substr(kHeaderBytes, sealed.size() - kHeaderBytes - kTagBytes);
  std::string tag(sealed.substr(sealed.size() - kTagBytes));

  EVP_PKEY* peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, Bytes(ephemeral_public),
                                               ephemeral_public.size());
  if (peer == nullptr) return Status::InvalidArgument("not a sealed webhook secret");
  const std::shared_ptr<EVP_PKEY> peer_key = Share(peer);
  ASSIGN_OR_RETURN(std::string key,
                   DeriveKey(private_key_.get(), peer, ephemeral_public, sealing_.public_raw_));
  std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter> ctx(EVP_CIPHER_CTX_new());
  std::string plain(cipher.size(), '\0');
  int len = 0, final_len = 0;
  const bool ok =
      ctx &&
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key), Bytes(nonce)) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(context),
                        static_cast<int>(context.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), Bytes(plain), &len, Bytes(cipher),
                        static_cast<int>(cipher.size())) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes),
                          Bytes(tag)) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), Bytes(plain) + len, &final_len) == 1;
  OPENSSL_cleanse(key.data(), key.size());
  if (!ok) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return Status::InvalidArgument(
        "the sealed webhook secret does not open (altered, or another webhook's)");
  }
  return plain;
}

Result<std::string> OpeningKey::PrivatePem() const { return WritePem(private_key_.get(), true); }
Result<std::string> OpeningKey::PublicPem() const { return WritePem(private_key_.get(), false); }

}  // namespace renderq::notify
