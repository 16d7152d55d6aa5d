#include "server/firewall_sync.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "testing/config_parsing.h"

namespace mamori::server {
namespace {

using namespace std::chrono_literals;

Cidr cidr(std::string_view text) { return *Cidr::parse(text); }
const TimePoint kNow = TimePoint(Duration(1'800'000'000'000));

TEST(DeniedSet, SameNetworkTwiceKeepsTheLaterEnd) {
  DeniedSet s = denied_set({{cidr("203.0.113.5"), kNow + 1h},
                            {cidr("203.0.113.5"), kNow + 2h},
                            {cidr("203.0.113.5"), kNow + 30min}});
  ASSERT_EQ(s.elements.size(), 1u);
  EXPECT_EQ(s.elements.at(cidr("203.0.113.5")), kNow + 2h);
  DeniedSet forever = denied_set({{cidr("203.0.113.5"), kNow + 1h}, {cidr("203.0.113.5"), {}}});
  EXPECT_EQ(forever.elements.at(cidr("203.0.113.5")), std::nullopt);
}

TEST(DeniedSet, AnAddressInsideADeniedNetworkIsLeftOut) {
  DeniedSet s = denied_set({{cidr("203.0.113.5"), kNow + 1h},
                            {cidr("203.0.113.0/24"), kNow + 1h},
                            {cidr("10.0.0.0/8"), std::nullopt},
                            {cidr("10.1.2.0/24"), kNow + 1h},
                            {cidr("198.51.100.7"), kNow + 1h}});
  EXPECT_EQ(s.elements.size(), 3u);
  EXPECT_TRUE(s.elements.contains(cidr("203.0.113.0/24")));
  EXPECT_TRUE(s.elements.contains(cidr("10.0.0.0/8")));
  EXPECT_TRUE(s.elements.contains(cidr("198.51.100.7")));
  EXPECT_EQ(s.recheck_at, std::nullopt);
}

TEST(DeniedSet, AnAddressOutlivingItsNetworkIsCheckedAgainWhenTheNetworkEnds) {
  DeniedSet s = denied_set({{cidr("203.0.113.5"), kNow + 2h}, {cidr("203.0.113.0/24"), kNow + 1h}});
  EXPECT_EQ(s.elements.size(), 1u);
  EXPECT_TRUE(s.elements.contains(cidr("203.0.113.0/24")));
  EXPECT_EQ(s.recheck_at, kNow + 1h);
  // Once it has ended, the address is in on its own.
  DeniedSet later = denied_set({{cidr("203.0.113.5"), kNow + 2h}});
  EXPECT_TRUE(later.elements.contains(cidr("203.0.113.5")));
}

TEST(DeniedSet, LoopbackIsNeverDropped) {
  DeniedSet s = denied_set({{cidr("127.0.0.1"), kNow + 1h},
                            {cidr("::1"), kNow + 1h},
                            {cidr("127.0.0.0/24"), kNow + 1h},
                            {cidr("0.0.0.0/0"), kNow + 1h}});
  EXPECT_TRUE(s.elements.empty());
}

TEST(DeniedSet, FamiliesDoNotContainEachOther) {
  DeniedSet s = denied_set({{cidr("::/8"), kNow + 1h}, {cidr("0.0.0.5"), kNow + 1h}});
  EXPECT_EQ(s.elements.size(), 2u);
}

DeniedMap map_of(std::vector<std::pair<std::string, std::optional<TimePoint>>> v) {
  DeniedMap m;
  for (auto& [c, u] : v) m.emplace(cidr(c), u);
  return m;
}

TEST(PlanBatch, RestoreAddsEverythingLiveWithTimeoutsFromNow) {
  firewall::Batch b = plan_batch(
      map_of({{"192.0.2.9", kNow + 1h}}),
      map_of(
          {{"203.0.113.5", kNow + 90s}, {"203.0.113.6", kNow - 1s}, {"10.0.0.0/8", std::nullopt}}),
      kNow, true);
  EXPECT_TRUE(b.restore);
  EXPECT_TRUE(b.remove.empty());
  EXPECT_TRUE(b.refresh.empty());
  ASSERT_EQ(b.add.size(), 2u);
  for (const firewall::Element& e : b.add) {
    if (e.network == cidr("203.0.113.5"))
      EXPECT_EQ(e.timeout, Duration(90s));
    else
      EXPECT_EQ(e.timeout, std::nullopt);
  }
}

TEST(PlanBatch, SendsOnlyWhatChanged) {
  const DeniedMap applied = map_of({{"203.0.113.1", kNow + 1h},         // kept
                                    {"203.0.113.2", kNow + 1h},         // extended
                                    {"203.0.113.3", kNow + 1h},         // lifted
                                    {"203.0.113.4", kNow - 1s},         // expired in the kernel
                                    {"2001:db8::/64", std::nullopt}});  // kept
  const DeniedMap wanted = map_of({{"203.0.113.1", kNow + 1h},
                                   {"203.0.113.2", kNow + 2h},
                                   {"203.0.113.7", kNow + 1h},
                                   {"2001:db8::/64", std::nullopt}});
  firewall::Batch b = plan_batch(applied, wanted, kNow, false);
  EXPECT_FALSE(b.restore);
  ASSERT_EQ(b.add.size(), 1u);
  EXPECT_EQ(b.add[0], (firewall::Element{cidr("203.0.113.7"), Duration(1h)}));
  ASSERT_EQ(b.refresh.size(), 1u);
  EXPECT_EQ(b.refresh[0], (firewall::Element{cidr("203.0.113.2"), Duration(2h)}));
  ASSERT_EQ(b.remove.size(), 1u);
  EXPECT_EQ(b.remove[0], cidr("203.0.113.3"));
  EXPECT_TRUE(plan_batch(wanted, wanted, kNow, false).empty());
}

TEST(PlanBatch, AnElementThatExpiredInTheKernelAndIsWantedAgainIsAdded) {
  firewall::Batch b = plan_batch(map_of({{"203.0.113.4", kNow - 1s}}),
                                 map_of({{"203.0.113.4", kNow + 1h}}), kNow, false);
  EXPECT_EQ(b.add.size(), 1u);
  EXPECT_TRUE(b.refresh.empty());
}

TEST(FirewallConfig, OffByDefaultAndReadFromItsSection) {
  const Config defaults = testing::parse_ok("");
  EXPECT_FALSE(defaults.firewall.nftables);
  EXPECT_EQ(defaults.firewall.table, "mamori");
  EXPECT_FALSE(defaults.firewall.account_ip_blocks);
  const Config c = testing::parse_ok(
      "[firewall]\nnftables = true\ntable = \"edge_1\"\naccount_ip_blocks = true\n"
      "batch_ms = 250\n");
  EXPECT_TRUE(c.firewall.nftables);
  EXPECT_EQ(c.firewall.table, "edge_1");
  EXPECT_TRUE(c.firewall.account_ip_blocks);
  EXPECT_EQ(c.firewall.batch_every, std::chrono::milliseconds(250));
}

TEST(FirewallConfig, BadValuesAreRefusedWithTheLine) {
  EXPECT_NE(testing::parse_error("[firewall]\ntable = \"x; flush ruleset\"\n")
                .find("test.toml:2: firewall.table"),
            std::string::npos);
  EXPECT_NE(testing::parse_error("[firewall]\nnftables = \"yes\"\n").find("firewall.nftables"),
            std::string::npos);
  EXPECT_NE(testing::parse_error("[firewall]\nbatch_ms = 0\n").find("firewall.batch_ms"),
            std::string::npos);
  EXPECT_NE(testing::parse_error("[firewall]\nsets = 2\n").find("firewall.sets"),
            std::string::npos);
}

}  // namespace
}  // namespace mamori::server
