// Where webhooks may point: the SSRF table of SPEC's "Notifications" and the
// ways round it (other spellings of loopback, names that resolve inward,
// IPv6 forms that carry an IPv4 address).
#include <boost/test/unit_test.hpp>

#include <map>

#include "notify/url_policy.h"

namespace renderq::notify {
namespace {

// A resolver with a fixed table: names resolve to what the test says.
class TableResolver final : public Resolver {
 public:
  explicit TableResolver(std::map<std::string, std::vector<std::string>> table)
      : table_(std::move(table)) {}
  Result<std::vector<IpAddress>> Resolve(const std::string& host) const override {
    const auto it = table_.find(host);
    if (it == table_.end()) return Status::NotFound("no such name: " + host);
    std::vector<IpAddress> out;
    for (const std::string& a : it->second) out.push_back(*IpAddress::Parse(a));
    return out;
  }

 private:
  std::map<std::string, std::vector<std::string>> table_;
};

const TableResolver kResolver({
    {"hooks.example.com", {"93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"}},
    {"loopback.example.com", {"127.0.0.1"}},
    {"localhost", {"127.0.0.1", "::1"}},
    {"split.example.com", {"93.184.215.14", "10.1.2.3"}},
    {"metadata.example.com", {"169.254.169.254"}},
});

BOOST_AUTO_TEST_SUITE(UrlPolicyTests)

BOOST_AUTO_TEST_CASE(RefusesTheSsrfTable) {
  const WebhookUrlPolicy policy({});
  struct Row {
    const char* url;
    const char* says;  // part of the refusal a user reads
  };
  const Row rows[] = {
      {"https://127.0.0.1/", "127.0.0.1 is a loopback address"},
      {"http://hooks.example.com/", "must be https"},
      {"https://10.0.0.1/", "10.0.0.1 is a private address"},
      {"https://[::1]/", "::1 is a loopback address"},
      {"https://169.254.169.254/", "169.254.169.254 is a link-local address"},
      {"https://loopback.example.com/",
       "loopback.example.com resolves to 127.0.0.1, a loopback address"},
      {"https://localhost:8443/hook", "localhost resolves to 127.0.0.1, a loopback address"},
      // One private address among public ones is enough: the connection could go there.
      {"https://split.example.com/", "resolves to 10.1.2.3, a private address"},
      {"https://metadata.example.com/latest", "169.254.169.254, a link-local"},
      // Other spellings of the same addresses.
      {"https://127.1/", "loopback"},
      {"https://2130706433/", "loopback"},
      {"https://0x7f000001/", "loopback"},
      {"https://[::ffff:127.0.0.1]/", "loopback"},
      {"https://[::ffff:a9fe:a9fe]/", "link-local"},
      {"https://[64:ff9b::7f00:1]/", "loopback"},
      {"https://[2002:a00:1::]/", "private"},
      {"https://0.0.0.0/", "unspecified"},
      {"https://[::]/", "unspecified"},
      {"https://100.64.0.1/", "carrier-grade NAT"},
      {"https://172.31.255.255/", "private"},
      {"https://192.168.1.1/", "private"},
      {"https://[fd12:3456::1]/", "unique local"},
      {"https://[fe80::1]/", "link-local"},
      {"https://224.0.0.1/", "multicast"},
      {"https://255.255.255.255/", "reserved"},
      // Not URLs we send to at all.
      {"ftp://hooks.example.com/", "must be https"},
      {"hooks.example.com/hook", "not an absolute"},
      {"https://user:pw@hooks.example.com/", "user name or password"},
      {"https://[fe80::1%25eth0]/", "zone"},
      {"https://hooks.example.com/a b", "space"},
      {"https://nowhere.example.com/", "does not resolve"},
      {"", "not an absolute"},
  };
  for (const Row& row : rows) {
    BOOST_TEST_CONTEXT(row.url) {
      const auto checked = policy.CheckRegistration(row.url, kResolver);
      BOOST_REQUIRE(!checked.ok());
      BOOST_TEST((checked.status().code() == StatusCode::kInvalidArgument));
      BOOST_TEST(checked.status().message().find(row.says) != std::string::npos,
                 checked.status().message());
    }
  }
}

BOOST_AUTO_TEST_CASE(AcceptsPublicHttpsUrls) {
  const WebhookUrlPolicy policy({});
  const auto ok = policy.CheckRegistration("https://hooks.example.com/renderq?x=1#frag", kResolver);
  BOOST_REQUIRE(ok.ok());
  BOOST_TEST(ok->host == "hooks.example.com");
  BOOST_TEST(ok->port == 443);
  BOOST_TEST(ok->url == "https://hooks.example.com/renderq?x=1");  // the fragment is never sent
  BOOST_TEST(policy.CheckRegistration("https://93.184.215.14:8443/", kResolver).ok());
  BOOST_TEST(
      policy.CheckRegistration("https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/", kResolver)
          .ok());
}

BOOST_AUTO_TEST_CASE(AnOperatorMayAllowRangesAndHttp) {
  UrlPolicyOptions options;
  options.allowed = {*IpRange::Parse("127.0.0.0/8"), *IpRange::Parse("10.20.0.0/16")};
  options.allow_http = true;
  const WebhookUrlPolicy policy(options);
  BOOST_TEST(policy.CheckRegistration("http://127.0.0.1:9000/hook", kResolver).ok());
  BOOST_TEST(policy.CheckRegistration("https://loopback.example.com/", kResolver).ok());
  BOOST_TEST(policy.CheckRegistration("https://10.20.30.40/", kResolver).ok());
  // Only what was allowed: ::1 is loopback, but not in 127.0.0.0/8.
  BOOST_TEST(!policy.CheckRegistration("https://[::1]/", kResolver).ok());
  BOOST_TEST(!policy.CheckRegistration("https://localhost/", kResolver).ok());
  BOOST_TEST(!policy.CheckRegistration("https://10.21.0.1/", kResolver).ok());
  BOOST_TEST(!policy.CheckRegistration("https://169.254.169.254/", kResolver).ok());
  // IPv4-mapped forms count as the IPv4 address they map.
  BOOST_TEST(!policy.RefusalFor(*IpAddress::Parse("::ffff:127.0.0.1")).has_value());
}

BOOST_AUTO_TEST_CASE(TheServersOwnAddressesAreRefused) {
  UrlPolicyOptions options;
  options.own = {*IpAddress::Parse("93.184.215.14")};
  const WebhookUrlPolicy policy(options);
  const auto refused = policy.CheckRegistration("https://hooks.example.com/", kResolver);
  BOOST_REQUIRE(!refused.ok());
  BOOST_TEST(refused.status().message().find("this server's own address") != std::string::npos);
  BOOST_TEST(policy.RefusalFor(*IpAddress::Parse("::ffff:93.184.215.14")).has_value());
}

BOOST_AUTO_TEST_CASE(CidrRangesParseAndContain) {
  struct Row {
    const char* range;
    const char* address;
    bool contains;
  };
  const Row rows[] = {
      {"10.0.0.0/8", "10.255.255.255", true},
      {"10.0.0.0/8", "11.0.0.0", false},
      {"10.1.2.3/8", "10.9.9.9", true},
      {"192.168.1.7", "192.168.1.7", true},
      {"192.168.1.7", "192.168.1.8", false},
      {"0.0.0.0/0", "8.8.8.8", true},
      {"0.0.0.0/0", "2001:4860::8888", false},
      {"fd00::/8", "fdff::1", true},
      {"fd00::/8", "fc00::1", false},
      {"127.0.0.0/8", "::ffff:127.0.0.9", true},
      {"::/0", "::1", true},
  };
  for (const Row& row : rows) {
    BOOST_TEST_CONTEXT(row.range << " " << row.address) {
      BOOST_TEST(IpRange::Parse(row.range)->Contains(*IpAddress::Parse(row.address)) ==
                 row.contains);
    }
  }
  for (const char* bad :
       {"", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/8x", "host/8", "10/8"}) {
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!IpRange::Parse(bad).has_value()); }
  }
  BOOST_TEST(IpRange::Parse("10.1.2.3/8")->ToString() == "10.0.0.0/8");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq::notify
