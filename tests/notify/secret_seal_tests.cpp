// Sealed webhook secrets: they open with the dispatcher's key, for their own
// webhook only, and not at all once altered.
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "notify/secret_seal.h"

namespace renderq::notify {
namespace {

BOOST_AUTO_TEST_SUITE(SecretSealTests)

BOOST_AUTO_TEST_CASE(OpensForItsOwnContextOnly) {
  const auto key = OpeningKey::Generate();
  BOOST_REQUIRE(key.ok());
  const std::string secret(32, '\x07');
  const auto sealed = key->sealing_key().Seal(secret, "webhook-1");
  BOOST_REQUIRE(sealed.ok());
  BOOST_TEST(sealed->find(secret) == std::string::npos);
  BOOST_TEST(key->Open(*sealed, "webhook-1").value() == secret);
  BOOST_TEST(!key->Open(*sealed, "webhook-2").ok());
}

BOOST_AUTO_TEST_CASE(SealingTwiceGivesTwoDifferentBoxes) {
  const auto key = OpeningKey::Generate();
  const auto a = key->sealing_key().Seal("same secret", "w");
  const auto b = key->sealing_key().Seal("same secret", "w");
  BOOST_TEST(*a != *b);
  BOOST_TEST(key->Open(*a, "w").value() == key->Open(*b, "w").value());
}

BOOST_AUTO_TEST_CASE(AnyAlteredByteIsRefused) {
  const auto key = OpeningKey::Generate();
  const auto sealed = key->sealing_key().Seal("0123456789abcdef0123456789abcdef", "w");
  for (std::size_t i = 0; i < sealed->size(); ++i) {
    std::string altered = *sealed;
    altered[i] = static_cast<char>(altered[i] ^ 0x01);
    BOOST_TEST_CONTEXT("byte " << i) { BOOST_TEST(!key->Open(altered, "w").ok()); }
  }
  BOOST_TEST(!key->Open(sealed->substr(0, sealed->size() - 1), "w").ok());
  BOOST_TEST(!key->Open("", "w").ok());
}

BOOST_AUTO_TEST_CASE(AnotherKeyCannotOpen) {
  const auto mine = OpeningKey::Generate();
  const auto other = OpeningKey::Generate();
  const auto sealed = mine->sealing_key().Seal("secret", "w");
  const auto refused = other->Open(*sealed, "w");
  BOOST_TEST(!refused.ok());
  BOOST_TEST(refused.status().message().find("another key") != std::string::npos);
}

// The responder holds only the public half: what it seals, the private half opens.
BOOST_AUTO_TEST_CASE(ThePublicHalfAloneSeals) {
  const auto key = OpeningKey::Generate();
  const auto public_pem = key->PublicPem();
  BOOST_REQUIRE(public_pem.ok());
  BOOST_TEST(public_pem->find("BEGIN PUBLIC KEY") != std::string::npos);
  const auto sealing = SealingKey::FromPublicPem(*public_pem);
  BOOST_REQUIRE(sealing.ok());
  const auto sealed = sealing->Seal("secret", "w");
  const auto private_pem = key->PrivatePem();
  const auto reloaded = OpeningKey::FromPrivatePem(*private_pem);
  BOOST_REQUIRE(reloaded.ok());
  BOOST_TEST(reloaded->Open(*sealed, "w").value() == "secret");
  BOOST_TEST(!SealingKey::FromPublicPem(*private_pem).ok());
  BOOST_TEST(!OpeningKey::FromPrivatePem(*public_pem).ok());
}

// The key files an operator makes with the openssl command line load as they are.
BOOST_AUTO_TEST_CASE(LoadsKeysMadeByTheOpensslCommand) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("renderq-seal-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string priv = (dir / "seal.key").string(), pub = (dir / "seal.pub").string();
  const std::string cmd = "openssl genpkey -algorithm X25519 -out " + priv +
                          " 2>/dev/null && openssl pkey -in " + priv + " -pubout -out " + pub +
                          " 2>/dev/null";
  BOOST_REQUIRE(std::system(cmd.c_str()) == 0);
  const auto opening = OpeningKey::FromPrivatePemFile(priv);
  const auto sealing = SealingKey::FromPublicPemFile(pub);
  BOOST_REQUIRE(opening.ok());
  BOOST_REQUIRE(sealing.ok());
  BOOST_TEST(sealing->key_id() == opening->sealing_key().key_id());
  BOOST_TEST(opening->Open(sealing->Seal("x", "w").value(), "w").value() == "x");
  BOOST_TEST(!OpeningKey::FromPrivatePemFile((dir / "missing").string()).ok());
  // An RSA key is a key, but not one that seals.
  const std::string rsa = (dir / "rsa.key").string();
  BOOST_REQUIRE(std::system(("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out " +
                             rsa + " 2>/dev/null")
                                .c_str()) == 0);
  const auto refused = OpeningKey::FromPrivatePemFile(rsa);
  BOOST_TEST(!refused.ok());
  BOOST_TEST(refused.status().message().find("X25519") != std::string::npos);
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq::notify
