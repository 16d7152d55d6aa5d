#include "firewall/nft_script.h"

#include <gtest/gtest.h>

namespace mamori::firewall {
namespace {

Cidr cidr(std::string_view text) { return *Cidr::parse(text); }

TEST(NftScript, EmptyBatchIsNoText) { EXPECT_EQ(nft_script("mamori", Batch{}), ""); }

TEST(NftScript, AddressesAndNetworksGoToTheirSetsWithTimeoutsInMilliseconds) {
  Batch b;
  b.add = {{cidr("203.0.113.5"), std::chrono::seconds(3600)},
           {cidr("2001:db8::/64"), std::chrono::milliseconds(1500)},
           {cidr("198.51.100.0/24"), std::nullopt},
           {cidr("2001:db8::7"), std::nullopt}};
  EXPECT_EQ(nft_script("mamori", b),
            "add element inet mamori deny_v4 { 203.0.113.5 timeout 3600000ms }\n"
            "add element inet mamori deny_v6 { 2001:db8::7 }\n"
            "add element inet mamori deny_net_v4 { 198.51.100.0/24 }\n"
            "add element inet mamori deny_net_v6 { 2001:db8::/64 timeout 1500ms }\n");
}

TEST(NftScript, ElementsWithoutTimeLeftAreLeftOut) {
  Batch b;
  b.add = {{cidr("203.0.113.5"), Duration(0)}, {cidr("203.0.113.6"), Duration(-5)}};
  EXPECT_EQ(nft_script("mamori", b), "");
}

TEST(NftScript, RemovalAddsFirstSoThatAnExpiredElementDoesNotFailTheBatch) {
  Batch b;
  b.remove = {cidr("203.0.113.5")};
  EXPECT_EQ(nft_script("t", b),
            "add element inet t deny_v4 { 203.0.113.5 }\n"
            "delete element inet t deny_v4 { 203.0.113.5 }\n");
}

TEST(NftScript, RefreshDeletesThenAddsWithTheNewTimeout) {
  Batch b;
  b.refresh = {{cidr("2001:db8::1"), std::chrono::seconds(10)}};
  EXPECT_EQ(nft_script("t", b),
            "add element inet t deny_v6 { 2001:db8::1 }\n"
            "delete element inet t deny_v6 { 2001:db8::1 }\n"
            "add element inet t deny_v6 { 2001:db8::1 timeout 10000ms }\n");
}

TEST(NftScript, RestoreRecreatesTheTableThenAddsEverything) {
  Batch b;
  b.restore = true;
  b.add = {{cidr("192.0.2.1"), std::chrono::seconds(1)}};
  const std::string s = nft_script("mamori", b);
  EXPECT_EQ(s.rfind("add table inet mamori\ndelete table inet mamori\ntable inet mamori {\n", 0),
            0u)
      << s;
  EXPECT_NE(s.find("set deny_v4 { type ipv4_addr; flags timeout; }"), std::string::npos);
  EXPECT_NE(s.find("set deny_v6 { type ipv6_addr; flags timeout; }"), std::string::npos);
  EXPECT_NE(s.find("set deny_net_v4 { type ipv4_addr; flags interval, timeout; }"),
            std::string::npos);
  EXPECT_NE(s.find("set deny_net_v6 { type ipv6_addr; flags interval, timeout; }"),
            std::string::npos);
  EXPECT_NE(s.find("chain input { type filter hook input priority -10; policy accept; ip saddr "
                   "@deny_v4 drop; ip saddr @deny_net_v4 drop; ip6 saddr @deny_v6 drop; ip6 "
                   "saddr @deny_net_v6 drop; }"),
            std::string::npos);
  EXPECT_NE(s.find("chain forward { type filter hook forward"), std::string::npos);
  EXPECT_TRUE(s.ends_with("add element inet mamori deny_v4 { 192.0.2.1 timeout 1000ms }\n")) << s;
  // Nothing names another table.
  std::size_t tables = 0;
  for (std::size_t at = s.find("inet "); at != std::string::npos; at = s.find("inet ", at + 1)) {
    EXPECT_EQ(s.compare(at, 11, "inet mamori"), 0) << s.substr(at, 20);
    ++tables;
  }
  EXPECT_EQ(tables, 4u);
}

TEST(NftScript, LongBatchesSplitIntoStatements) {
  Batch b;
  for (int i = 1; i <= 5; ++i) b.add.push_back({cidr("10.0.0." + std::to_string(i)), std::nullopt});
  EXPECT_EQ(nft_script("t", b, 2),
            "add element inet t deny_v4 { 10.0.0.1, 10.0.0.2 }\n"
            "add element inet t deny_v4 { 10.0.0.3, 10.0.0.4 }\n"
            "add element inet t deny_v4 { 10.0.0.5 }\n");
}

TEST(NftScript, TableNamesAreNftIdentifiers) {
  EXPECT_TRUE(is_valid_table_name("mamori"));
  EXPECT_TRUE(is_valid_table_name("mamori_2"));
  EXPECT_FALSE(is_valid_table_name(""));
  EXPECT_FALSE(is_valid_table_name("2mamori"));
  EXPECT_FALSE(is_valid_table_name("mamori; flush ruleset"));
  EXPECT_FALSE(is_valid_table_name(std::string(65, 'a')));
}

}  // namespace
}  // namespace mamori::firewall
