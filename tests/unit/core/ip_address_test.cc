#include "core/ip_address.h"

#include <arpa/inet.h>

#include <gtest/gtest.h>

#include <string>
#include <unordered_set>

namespace mamori {
namespace {

IpAddress ip(std::string_view text) {
  auto r = IpAddress::parse(text);
  if (!r) {
    ADD_FAILURE() << "cannot parse '" << text << "': " << r.error().message;
    return IpAddress();
  }
  return *r;
}

Cidr cidr(std::string_view text) {
  auto r = Cidr::parse(text);
  if (!r) {
    ADD_FAILURE() << "cannot parse '" << text << "': " << r.error().message;
    return Cidr();
  }
  return *r;
}

// ---- IpAddress ----

TEST(IpAddress, ParsesAndFormatsV4) {
  const IpAddress a = ip("192.0.2.1");
  EXPECT_TRUE(a.is_v4());
  EXPECT_EQ(a.max_prefix(), 32);
  EXPECT_EQ(a.v4(), 0xC0000201u);
  EXPECT_EQ(a.to_string(), "192.0.2.1");
  EXPECT_EQ(ip("0.0.0.0").to_string(), "0.0.0.0");
  EXPECT_EQ(ip("255.255.255.255").to_string(), "255.255.255.255");
}

TEST(IpAddress, FormatsEveryV4AddressAsInetNtopDoes) {
  EXPECT_EQ(ip("10.20.30.40").to_string(), "10.20.30.40");
  std::uint32_t x = 0x12345678u;
  for (int i = 0; i < 20000; ++i) {
    x = x * 1664525u + 1013904223u;  // a spread of values, every octet width
    const std::uint32_t v = i < 256 ? std::uint32_t(i) * 0x01010101u : x;
    const std::uint32_t be = htonl(v);
    char want[INET_ADDRSTRLEN];
    ASSERT_NE(inet_ntop(AF_INET, &be, want, sizeof want), nullptr);
    ASSERT_EQ(IpAddress::from_v4(v).to_string(), want);
  }
}

TEST(IpAddress, FromV4MatchesParsedV4) {
  EXPECT_EQ(IpAddress::from_v4(0xCB007105u), ip("203.0.113.5"));
  EXPECT_EQ(IpAddress::from_v4(0xCB007105u).to_string(), "203.0.113.5");
}

TEST(IpAddress, ParsesV6AndFormatsRfc5952) {
  const IpAddress a = ip("2001:0DB8:0000:0000:0000:0000:0000:0001");
  EXPECT_FALSE(a.is_v4());
  EXPECT_EQ(a.max_prefix(), 128);
  EXPECT_EQ(a.to_string(), "2001:db8::1");
  EXPECT_EQ(ip("::").to_string(), "::");
  EXPECT_EQ(ip("::1").to_string(), "::1");
  EXPECT_EQ(ip("2001:db8:0:0:1:0:0:1").to_string(), "2001:db8::1:0:0:1");
  EXPECT_EQ(ip("fe80::abcd:0:0:1").to_string(), "fe80::abcd:0:0:1");
}

TEST(IpAddress, Ipv4MappedV6EqualsV4) {
  const IpAddress mapped = ip("::ffff:192.0.2.1");
  const IpAddress mapped_hex = ip("::FFFF:c000:0201");
  const IpAddress plain = ip("192.0.2.1");
  EXPECT_TRUE(mapped.is_v4());
  EXPECT_EQ(mapped, plain);
  EXPECT_EQ(mapped_hex, plain);
  EXPECT_EQ(mapped.to_string(), "192.0.2.1");
  EXPECT_EQ(mapped.hash(), plain.hash());
  std::unordered_set<IpAddress> set{plain};
  EXPECT_TRUE(set.contains(mapped));
}

TEST(IpAddress, V4AndOtherV6AreDistinct) {
  // ::192.0.2.1 (deprecated IPv4-compatible form) is not the IPv4 address.
  EXPECT_FALSE(ip("::c000:201") == ip("192.0.2.1"));
  EXPECT_FALSE(ip("::c000:201").is_v4());
  EXPECT_FALSE(ip("2001:db8::1") == ip("2001:db8::2"));
}

TEST(IpAddress, FromBytesDetectsMappedV4) {
  std::array<std::uint8_t, 16> b{};
  b[10] = 0xff;
  b[11] = 0xff;
  b[12] = 10;
  b[15] = 7;
  EXPECT_EQ(IpAddress::from_bytes(b), ip("10.0.0.7"));
  EXPECT_TRUE(IpAddress::from_bytes(b).is_v4());
  b[10] = 0;
  EXPECT_FALSE(IpAddress::from_bytes(b).is_v4());
}

TEST(IpAddress, RejectsInvalidInputWithInvalidIp) {
  for (std::string_view bad : {"",
                               " ",
                               "1.2.3",
                               "1.2.3.4.5",
                               "256.1.1.1",
                               "1.2.3.-1",
                               "a.b.c.d",
                               "1.2.3.4 ",
                               " 1.2.3.4",
                               "1.2.3.4/32",
                               "::g",
                               "1:2:3:4:5:6:7:8:9",
                               "1::2::3",
                               "[::1]",
                               "fe80::1%eth0",
                               "2001:db8::1/64",
                               "localhost",
                               ":::",
                               "12345::",
                               "1.2.3.4:80",
                               "0000000000000000000000000000000000000000000000000000"}) {
    auto r = IpAddress::parse(bad);
    EXPECT_FALSE(r.ok()) << "'" << bad << "' parsed";
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, "invalid_ip") << bad;
    }
  }
}

TEST(IpAddress, RejectsEmbeddedNul) {
  const std::string s("1.2.3.4\0junk", 12);
  auto r = IpAddress::parse(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_ip");
}

TEST(IpAddress, MaskedClearsHostBitsV4) {
  EXPECT_EQ(ip("192.0.2.77").masked(24), ip("192.0.2.0"));
  EXPECT_EQ(ip("192.0.2.77").masked(25), ip("192.0.2.0"));
  EXPECT_EQ(ip("192.0.2.200").masked(25), ip("192.0.2.128"));
  EXPECT_EQ(ip("192.0.2.77").masked(32), ip("192.0.2.77"));
  EXPECT_EQ(ip("192.0.2.77").masked(0), ip("0.0.0.0"));
  EXPECT_EQ(ip("10.255.255.255").masked(9), ip("10.128.0.0"));
  EXPECT_TRUE(ip("192.0.2.77").masked(0).is_v4());
}

TEST(IpAddress, MaskedClearsHostBitsV6) {
  EXPECT_EQ(ip("2001:db8:1:2:3:4:5:6").masked(64), ip("2001:db8:1:2::"));
  EXPECT_EQ(ip("2001:db8:1:2:3:4:5:6").masked(48), ip("2001:db8:1::"));
  EXPECT_EQ(ip("2001:db8:1:2:3:4:5:6").masked(33), ip("2001:db8::"));
  EXPECT_EQ(ip("2001:db8:ffff::").masked(36), ip("2001:db8:f000::"));
  EXPECT_EQ(ip("2001:db8::1").masked(128), ip("2001:db8::1"));
  EXPECT_EQ(ip("2001:db8::1").masked(0), ip("::"));
}

TEST(IpAddress, AggregateNetworkIsSlash24ForV4) {
  const IpAddress a = ip("198.51.100.123");
  EXPECT_EQ(a.aggregate_prefix(), 24);
  EXPECT_EQ(a.aggregate_network(), ip("198.51.100.0"));
  EXPECT_EQ(a.aggregate_network(), ip("198.51.100.1").aggregate_network());
  EXPECT_FALSE(a.aggregate_network() == ip("198.51.101.1").aggregate_network());
}

TEST(IpAddress, AggregateNetworkIsSlash64ForV6) {
  const IpAddress a = ip("2001:db8:aa:bb:1:2:3:4");
  EXPECT_EQ(a.aggregate_prefix(), 64);
  EXPECT_EQ(a.aggregate_network(), ip("2001:db8:aa:bb::"));
  EXPECT_EQ(a.aggregate_network(), ip("2001:db8:aa:bb:ffff::1").aggregate_network());
  EXPECT_FALSE(a.aggregate_network() == ip("2001:db8:aa:bc::1").aggregate_network());
}

// ---- Cidr ----

TEST(Cidr, ParsesV4Network) {
  const Cidr c = cidr("10.0.0.0/8");
  EXPECT_EQ(c.prefix(), 8);
  EXPECT_EQ(c.network(), ip("10.0.0.0"));
  EXPECT_EQ(c.to_string(), "10.0.0.0/8");
  EXPECT_FALSE(c.is_single_address());
  EXPECT_EQ(cidr("0.0.0.0/0").prefix(), 0);
  EXPECT_EQ(cidr("192.0.2.1/32").prefix(), 32);
}

TEST(Cidr, ParsesV6Network) {
  const Cidr c = cidr("2001:DB8::/32");
  EXPECT_EQ(c.prefix(), 32);
  EXPECT_EQ(c.to_string(), "2001:db8::/32");
  EXPECT_EQ(cidr("::/0").prefix(), 0);
  EXPECT_EQ(cidr("2001:db8::1/128").prefix(), 128);
}

TEST(Cidr, BareAddressIsFullLengthPrefix) {
  const Cidr v4 = cidr("192.0.2.9");
  EXPECT_EQ(v4.prefix(), 32);
  EXPECT_TRUE(v4.is_single_address());
  const Cidr v6 = cidr("2001:db8::9");
  EXPECT_EQ(v6.prefix(), 128);
  EXPECT_TRUE(v6.is_single_address());
}

TEST(Cidr, HostBitsSetIsInvalidCidr) {
  for (std::string_view bad : {"10.0.0.1/8", "192.0.2.1/24", "192.0.2.128/24", "2001:db8::1/32",
                               "2001:db8:0:0:1::/64", "1.0.0.0/0"}) {
    auto r = Cidr::parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, "invalid_cidr") << bad;
    }
  }
}

TEST(Cidr, HostBitsErrorSuggestsTheNetwork) {
  auto r = Cidr::parse("192.0.2.77/24");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("192.0.2.0/24"), std::string::npos) << r.error().message;
}

TEST(Cidr, PrefixOutOfRangeIsInvalidCidr) {
  for (std::string_view bad :
       {"10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/1000", "10.0.0.0/8/8",
        "2001:db8::/129", "::/200", "2001:db8::/", "10.0.0.0/ 8"}) {
    auto r = Cidr::parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, "invalid_cidr") << bad;
    }
  }
}

TEST(Cidr, BadAddressIsInvalidCidr) {
  for (std::string_view bad : {"", "/24", "300.0.0.0/8", "example.com/24", "2001:db8::g/64"}) {
    auto r = Cidr::parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, "invalid_cidr") << bad;
    }
  }
}

TEST(Cidr, PrefixRangeEdgesAreAccepted) {
  EXPECT_TRUE(Cidr::parse("128.0.0.0/1").ok());
  EXPECT_TRUE(Cidr::parse("255.255.255.255/32").ok());
  EXPECT_TRUE(Cidr::parse("8000::/1").ok());
  EXPECT_TRUE(Cidr::parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128").ok());
}

TEST(Cidr, ContainsV4) {
  const Cidr c = cidr("192.0.2.0/24");
  EXPECT_TRUE(c.contains(ip("192.0.2.0")));
  EXPECT_TRUE(c.contains(ip("192.0.2.255")));
  EXPECT_TRUE(c.contains(ip("::ffff:192.0.2.7")));
  EXPECT_FALSE(c.contains(ip("192.0.3.0")));
  EXPECT_FALSE(c.contains(ip("192.0.1.255")));
  const Cidr odd = cidr("10.0.0.0/9");
  EXPECT_TRUE(odd.contains(ip("10.127.255.255")));
  EXPECT_FALSE(odd.contains(ip("10.128.0.0")));
}

TEST(Cidr, ContainsV6) {
  const Cidr c = cidr("2001:db8:aa::/48");
  EXPECT_TRUE(c.contains(ip("2001:db8:aa::1")));
  EXPECT_TRUE(c.contains(ip("2001:db8:aa:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(c.contains(ip("2001:db8:ab::1")));
}

TEST(Cidr, ContainsNeverCrossesFamilies) {
  EXPECT_TRUE(cidr("0.0.0.0/0").contains(ip("203.0.113.1")));
  EXPECT_FALSE(cidr("0.0.0.0/0").contains(ip("2001:db8::1")));
  EXPECT_TRUE(cidr("::/0").contains(ip("2001:db8::1")));
  EXPECT_FALSE(cidr("::/0").contains(ip("203.0.113.1")));
}

TEST(Cidr, SingleAddressContainsOnlyItself) {
  const Cidr c = cidr("203.0.113.5");
  EXPECT_TRUE(c.contains(ip("203.0.113.5")));
  EXPECT_FALSE(c.contains(ip("203.0.113.6")));
}

TEST(Cidr, ConstructorMasksTheNetwork) {
  const Cidr c(ip("198.51.100.77"), 24);
  EXPECT_EQ(c.network(), ip("198.51.100.0"));
  EXPECT_EQ(c.to_string(), "198.51.100.0/24");
  EXPECT_EQ(c, cidr("198.51.100.0/24"));
}

}  // namespace
}  // namespace mamori
