// Standard Webhooks signatures and secrets, against the specification's own
// example and a table of malformed secrets.
#include <boost/test/unit_test.hpp>

#include "notify/base64.h"
#include "notify/webhook_secret.h"
#include "notify/webhook_signature.h"

namespace renderq::notify {
namespace {

BOOST_AUTO_TEST_SUITE(WebhookSignatureTests)

// The example of the Standard Webhooks specification ("Signature scheme").
BOOST_AUTO_TEST_CASE(MatchesTheSpecificationsExample) {
  const auto key = ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  BOOST_REQUIRE(key.ok());
  BOOST_TEST(SignedContent("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})") ==
             R"(msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314})");
  BOOST_TEST(SignatureHeader(*key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                             R"({"test": 2432232314})") ==
             "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

BOOST_AUTO_TEST_CASE(EveryPartIsSigned) {
  const std::string key(32, 'k');
  const std::string base = SignatureHeader(key, "evt_1", 1700000000, "{}");
  BOOST_TEST(SignatureHeader(key, "evt_2", 1700000000, "{}") != base);
  BOOST_TEST(SignatureHeader(key, "evt_1", 1700000001, "{}") != base);
  BOOST_TEST(SignatureHeader(key, "evt_1", 1700000000, "{ }") != base);
  BOOST_TEST(SignatureHeader(std::string(32, 'K'), "evt_1", 1700000000, "{}") != base);
}

BOOST_AUTO_TEST_CASE(NewSecretsAre32RandomBytesShownAsWhsec) {
  const auto a = NewSecretKey();
  const auto b = NewSecretKey();
  BOOST_REQUIRE(a.ok());
  BOOST_REQUIRE(b.ok());
  BOOST_TEST(a->size() == 32u);
  BOOST_TEST(*a != *b);
  const std::string text = FormatSecret(*a);
  BOOST_TEST(text.starts_with("whsec_"));
  BOOST_TEST(text.size() == 6u + 44u);
  BOOST_TEST(ParseSecret(text).value() == *a);
}

BOOST_AUTO_TEST_CASE(MalformedSecretsAreRefused) {
  const char* rows[] = {
      "",
      "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",        // no prefix
      "whsec_",                                  // nothing
      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",   // not a multiple of 4
      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La*aSw",  // outside the alphabet
      "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",  // 22 bytes: under 24
      "whsec_QR==QQ==",                          // padding in the middle
  };
  for (const char* row : rows) {
    BOOST_TEST_CONTEXT(row) { BOOST_TEST(!ParseSecret(row).ok()); }
  }
}

BOOST_AUTO_TEST_CASE(Base64IsTheCanonicalPaddedAlphabet) {
  struct Row {
    const char* bytes;
    const char* text;
  };
  const Row rows[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"\xfb\xff", "+/8="}};
  for (const Row& row : rows) {
    BOOST_TEST(Base64Encode(row.bytes) == row.text);
    BOOST_TEST(Base64Decode(row.text).value() == row.bytes);
  }
  BOOST_TEST(!Base64Decode("Zh==").has_value());  // non-zero trailing bits
  BOOST_TEST(!Base64Decode("Zm8").has_value());
  BOOST_TEST(!Base64Decode("Zm 9").has_value());
  BOOST_TEST(!Base64Decode("-_8=").has_value());  // base64url is another alphabet
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq::notify
