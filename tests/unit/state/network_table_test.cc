#include "state/network_table.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace mamori::state {
namespace {

Cidr cidr(const std::string& text) { return *Cidr::parse(text); }
IpAddress ip(const std::string& text) { return *IpAddress::parse(text); }

// Values of the networks containing `addr`, most specific first.
std::vector<int> matches(const NetworkTable<int>& t, const IpAddress& addr) {
  std::vector<int> out;
  t.find(addr, [&](int v) {
    out.push_back(v);
    return false;
  });
  return out;
}

NetworkTable<int> table(std::vector<std::pair<Cidr, int>> networks) {
  return NetworkTable<int>(std::move(networks), [](int, int) { return false; });
}

TEST(NetworkTable, FindsNestedNetworksMostSpecificFirst) {
  auto t = table({{cidr("10.0.0.0/8"), 1},
                  {cidr("10.1.0.0/16"), 2},
                  {cidr("10.1.2.3"), 3},
                  {cidr("10.1.2.0/24"), 4},
                  {cidr("192.168.0.0/16"), 5},
                  {cidr("2001:db8::/32"), 6},
                  {cidr("2001:db8:1::/48"), 7}});
  EXPECT_EQ(matches(t, ip("10.1.2.3")), (std::vector<int>{3, 4, 2, 1}));
  EXPECT_EQ(matches(t, ip("10.1.2.4")), (std::vector<int>{4, 2, 1}));
  EXPECT_EQ(matches(t, ip("10.1.3.1")), (std::vector<int>{2, 1}));
  EXPECT_EQ(matches(t, ip("10.200.0.1")), (std::vector<int>{1}));
  EXPECT_EQ(matches(t, ip("11.0.0.0")), (std::vector<int>{}));
  EXPECT_EQ(matches(t, ip("9.255.255.255")), (std::vector<int>{}));
  EXPECT_EQ(matches(t, ip("192.168.255.255")), (std::vector<int>{5}));
  EXPECT_EQ(matches(t, ip("2001:db8:1::5")), (std::vector<int>{7, 6}));
  EXPECT_EQ(matches(t, ip("2001:db8:2::5")), (std::vector<int>{6}));
  // IPv4 networks never match IPv6 addresses and the reverse.
  EXPECT_EQ(matches(t, ip("::a01:203")), (std::vector<int>{}));
}

TEST(NetworkTable, StopsWhenTheCallerSaysSo) {
  auto t = table({{cidr("10.0.0.0/8"), 1}, {cidr("10.1.0.0/16"), 2}});
  std::vector<int> seen;
  EXPECT_TRUE(t.find(ip("10.1.0.1"), [&](int v) {
    seen.push_back(v);
    return v == 2;
  }));
  EXPECT_EQ(seen, (std::vector<int>{2}));
  EXPECT_FALSE(t.find(ip("11.0.0.1"), [](int) { return true; }));
}

TEST(NetworkTable, DefaultRoutesAndDuplicateNetworks) {
  NetworkTable<int> t({{cidr("0.0.0.0/0"), 1},
                       {cidr("::/0"), 2},
                       {cidr("10.0.0.0/8"), 3},
                       {cidr("10.0.0.0/8"), 4},
                       {cidr("10.0.0.0/8"), 5}},
                      [](int later, int) { return later == 4; });
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(matches(t, ip("10.9.9.9")), (std::vector<int>{4, 1}));
  EXPECT_EQ(matches(t, ip("255.255.255.255")), (std::vector<int>{1}));
  EXPECT_EQ(matches(t, ip("ffff::1")), (std::vector<int>{2}));
}

// Against a linear scan over thousands of random, often nested networks.
TEST(NetworkTable, AgreesWithALinearScan) {
  std::mt19937_64 rng(11);
  std::vector<std::pair<Cidr, int>> networks;
  for (int i = 0; i < 3000; ++i) {
    // Few distinct high bits, so that networks nest and addresses hit them.
    const std::uint32_t a = std::uint32_t(rng() % 4) << 24 | std::uint32_t(rng() & 0xffffff);
    if (i % 3 == 0) {
      std::array<std::uint8_t, 16> b{0x20, 0x01, 0x0d, 0xb8, std::uint8_t(rng() % 2)};
      for (int j = 5; j < 16; ++j) b[j] = std::uint8_t(rng());
      const int prefix = 33 + int(rng() % 96);
      networks.emplace_back(Cidr(IpAddress::from_bytes(b), prefix), i);
    } else {
      const int prefix = 6 + int(rng() % 27);
      networks.emplace_back(Cidr(IpAddress::from_v4(a), prefix), i);
    }
  }
  auto t = table(networks);
  for (int probe = 0; probe < 20000; ++probe) {
    IpAddress addr;
    if (probe % 3 == 0) {
      std::array<std::uint8_t, 16> b{0x20, 0x01, 0x0d, 0xb8, std::uint8_t(rng() % 2)};
      for (int j = 5; j < 16; ++j) b[j] = std::uint8_t(rng());
      addr = IpAddress::from_bytes(b);
    } else {
      addr = IpAddress::from_v4(std::uint32_t(rng() % 4) << 24 | std::uint32_t(rng() & 0xffffff));
    }
    // Expected: every containing network, longest prefix first, the first
    // given for equal networks.
    std::vector<std::pair<int, int>> found;  // (-prefix, value)
    for (const auto& [c, v] : networks) {
      if (!c.contains(addr)) continue;
      bool dup = false;
      for (auto& f : found) dup = dup || f.first == -c.prefix();
      if (!dup) found.emplace_back(-c.prefix(), v);
    }
    std::sort(found.begin(), found.end());
    std::vector<int> want;
    for (auto& f : found) want.push_back(f.second);
    ASSERT_EQ(matches(t, addr), want) << addr.to_string();
  }
}

}  // namespace
}  // namespace mamori::state
