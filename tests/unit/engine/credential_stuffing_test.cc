#include "engine/credential_stuffing.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <string>

#include "engine/engine.h"
#include "engine_harness.h"

namespace mamori::engine::testing {
namespace {

constexpr const char* kStuffer = "203.0.113.66";

std::string user(int i) { return "user" + std::to_string(i); }

std::set<std::string> users(int n) {
  std::set<std::string> out;
  for (int i = 0; i < n; ++i) out.insert(user(i));
  return out;
}

// Exactly one incident: the /24 198.51.100.0, listing accounts user0 to
// user(n - 1).
void expect_one_network_incident(EngineHarness& h, int n) {
  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0].sources, std::vector<std::string>{"198.51.100.0/24"});
  EXPECT_EQ(h.incident_account_names(incidents[0].id), users(n));
}

// One failure for each of `n` accounts from `from`, one per second from `start`.
Decision stuff(EngineHarness& h, const char* from, int n, TimePoint start = kT0) {
  Decision last;
  for (int i = 0; i < n; ++i) last = h.fail(user(i), from, start + seconds(i));
  return last;
}

// ---- per IP ----

TEST(CredentialStuffing, NineteenAccountsFromOneIpAreAllowed) {
  EngineHarness h;
  for (int i = 0; i < 19; ++i) EXPECT_ALLOWED(h.fail(user(i), kStuffer, kT0 + seconds(i)));
  EXPECT_TRUE(h.incidents().empty());
}

TEST(CredentialStuffing, TwentiethAccountFromOneIpDeniesTheIp) {
  EngineHarness h;
  const Decision d = stuff(h, kStuffer, 20);
  EXPECT_DECISION(d, Action::kDeny, Reason::kCredentialStuffing);
  EXPECT_EQ(d.risk(), kRiskCredentialStuffing);
  // Every later attempt from the IP, for any account, is denied.
  EXPECT_DECISION(h.attempt("someone-else", kStuffer, kT0 + minutes(5)), Action::kDeny,
                  Reason::kCredentialStuffing);
  // A neighbouring IP is not.
  EXPECT_ALLOWED(h.attempt("someone-else", "203.0.113.67", kT0 + minutes(5)));
}

TEST(CredentialStuffing, OpensIncidentListingTheAccounts) {
  EngineHarness h;
  stuff(h, kStuffer, 20);
  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  const store::Incident& inc = incidents[0];
  EXPECT_EQ(inc.kind, store::IncidentKind::kCredentialStuffing);
  EXPECT_EQ(inc.sources, std::vector<std::string>{kStuffer});
  EXPECT_EQ(inc.accounts_targeted, 20);
  EXPECT_EQ(inc.accounts_compromised, 0);
  EXPECT_EQ(h.incident_account_names(inc.id), users(20));
  // The block points at the incident.
  const auto blocks = h.stored_blocks(kT0 + seconds(19));
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].scope, "ip");
  EXPECT_EQ(blocks[0].key, kStuffer);
  EXPECT_EQ(blocks[0].incident_id, inc.id);
  EXPECT_EQ(blocks[0].until, kT0 + seconds(19) + hours(1));
}

TEST(CredentialStuffing, LaterAttemptsFromTheSourceTouchTheIncident) {
  EngineHarness h;
  stuff(h, kStuffer, 20);
  h.attempt("late-account", kStuffer, kT0 + minutes(2));
  h.fail("another-late", kStuffer, kT0 + minutes(3));
  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0].accounts_targeted, 22);
  const auto names = h.incident_account_names(incidents[0].id);
  EXPECT_TRUE(names.contains("late-account"));
  EXPECT_TRUE(names.contains("another-late"));
  EXPECT_EQ(names.size(), 22u);
}

TEST(CredentialStuffing, SuccessfulLoginFromTheSourceIsMarkedCompromised) {
  EngineHarness h;
  stuff(h, kStuffer, 20);
  // A leaked password that works: the login is refused, the account is
  // recorded as one the attacker got into and locked until its password is
  // reset (detections.credential_stuffing.require_password_reset).
  EXPECT_DECISION(h.succeed("victim", kStuffer, kT0 + minutes(2)), Action::kLock,
                  Reason::kCredentialStuffing);
  // An account already in the incident that the attacker now gets into.
  h.succeed(user(3), kStuffer, kT0 + minutes(3));
  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  const std::string id = incidents[0].id;
  auto victim = h.incident_account(id, "victim");
  ASSERT_TRUE(victim.has_value());
  EXPECT_TRUE(victim->login_succeeded);
  auto u3 = h.incident_account(id, user(3));
  ASSERT_TRUE(u3.has_value());
  EXPECT_TRUE(u3->login_succeeded);
  auto u4 = h.incident_account(id, user(4));
  ASSERT_TRUE(u4.has_value());
  EXPECT_FALSE(u4->login_succeeded);
  EXPECT_EQ(incidents[0].accounts_compromised, 2);
}

TEST(CredentialStuffing, FailuresOutsideTheWindowDoNotCount) {
  EngineHarness h;
  for (int i = 0; i < 19; ++i) EXPECT_ALLOWED(h.fail(user(i), kStuffer, kT0 + seconds(i)));
  // Ten minutes after the first ones, they no longer count.
  EXPECT_ALLOWED(h.fail(user(19), kStuffer, kT0 + seconds(18) + minutes(10)));
}

TEST(CredentialStuffing, SameAccountRepeatedCountsOnce) {
  EngineHarness h;
  for (int i = 0; i < 19; ++i) EXPECT_ALLOWED(h.fail(user(i), kStuffer, kT0 + seconds(i)));
  for (int i = 0; i < 5; ++i)
    EXPECT_ALLOWED(h.fail(user(0), kStuffer, kT0 + seconds(30 + i), "pw" + std::to_string(i)));
  EXPECT_DECISION(h.fail(user(19), kStuffer, kT0 + seconds(40)), Action::kDeny,
                  Reason::kCredentialStuffing);
}

// ---- per network ----

TEST(CredentialStuffing, HundredAccountsFromOneSlash24DenyTheNetwork) {
  EngineHarness h;
  for (int i = 0; i < 99; ++i) {
    const std::string from = "198.51.100." + std::to_string(i + 1);
    EXPECT_ALLOWED(h.fail(user(i), from, kT0 + seconds(i))) << "account " << i + 1;
  }
  EXPECT_DECISION(h.fail(user(99), "198.51.100.100", kT0 + seconds(99)), Action::kDeny,
                  Reason::kCredentialStuffing);
  // Any address of the /24 is denied, also one not seen before.
  EXPECT_DECISION(h.attempt("fresh", "198.51.100.200", kT0 + minutes(3)), Action::kDeny,
                  Reason::kCredentialStuffing);
  EXPECT_DECISION(h.attempt("fresh", "::ffff:198.51.100.201", kT0 + minutes(3)), Action::kDeny,
                  Reason::kCredentialStuffing);
  // An IP outside the network is unaffected.
  EXPECT_ALLOWED(h.attempt("fresh", "198.51.101.1", kT0 + minutes(3)));
  EXPECT_ALLOWED(h.attempt("fresh", "198.51.99.255", kT0 + minutes(3)));

  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0].kind, store::IncidentKind::kCredentialStuffing);
  EXPECT_EQ(incidents[0].sources, std::vector<std::string>{"198.51.100.0/24"});
  EXPECT_GE(incidents[0].accounts_targeted, 100);
  const auto names = h.incident_account_names(incidents[0].id);
  for (const std::string& u : users(100)) EXPECT_TRUE(names.contains(u)) << u;
  const auto blocks = h.stored_blocks(kT0 + minutes(3));
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].scope, "network");
  EXPECT_EQ(blocks[0].key, "198.51.100.0/24");
}

std::string v6_in_net(int i) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "2001:db8:aa:bb::%x", i + 1);
  return buf;
}

TEST(CredentialStuffing, HundredAccountsFromOneSlash64DenyTheNetwork) {
  EngineHarness h;
  for (int i = 0; i < 99; ++i)
    EXPECT_ALLOWED(h.fail(user(i), v6_in_net(i), kT0 + seconds(i))) << "account " << i + 1;
  EXPECT_DECISION(h.fail(user(99), v6_in_net(99), kT0 + seconds(99)), Action::kDeny,
                  Reason::kCredentialStuffing);
  EXPECT_DECISION(h.attempt("fresh", "2001:db8:aa:bb:ffff:ffff:ffff:fffe", kT0 + minutes(3)),
                  Action::kDeny, Reason::kCredentialStuffing);
  EXPECT_ALLOWED(h.attempt("fresh", "2001:db8:aa:bc::1", kT0 + minutes(3)));
  EXPECT_ALLOWED(h.attempt("fresh", "2001:db8:aa:ba:ffff::1", kT0 + minutes(3)));

  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0].sources, std::vector<std::string>{"2001:db8:aa:bb::/64"});
  EXPECT_GE(incidents[0].accounts_targeted, 100);
}

TEST(CredentialStuffing, SpreadOverTwoNetworksStaysBelowNetworkThreshold) {
  EngineHarness h;
  // 60 accounts from one /24 and 60 from the next: neither reaches 100.
  for (int i = 0; i < 60; ++i) {
    EXPECT_ALLOWED(h.fail(user(i), "198.51.100." + std::to_string(i + 1), kT0 + seconds(i)));
    EXPECT_ALLOWED(h.fail(user(100 + i), "198.51.101." + std::to_string(i + 1), kT0 + seconds(i)));
  }
  EXPECT_TRUE(h.incidents().empty());
}

// A network is counted from its first IP's window alone until a second IP
// of it fails; the second one carries the first one's accounts over.
EngineConfig network_only(std::uint32_t network_threshold) {
  EngineConfig cfg;
  cfg.credential_stuffing.threshold = 1000;  // no IP is denied on its own
  cfg.credential_stuffing.network_threshold = network_threshold;
  return cfg;
}

TEST(CredentialStuffing, ASecondIpOfTheNetworkCountsTheFirstOnesAccountsToo) {
  EngineHarness h(network_only(100));
  for (int i = 0; i < 60; ++i) EXPECT_ALLOWED(h.fail(user(i), "198.51.100.7", kT0 + seconds(i)));
  for (int i = 60; i < 99; ++i)
    EXPECT_ALLOWED(h.fail(user(i), "198.51.100.8", kT0 + seconds(i))) << "account " << i + 1;
  EXPECT_DECISION(h.fail(user(99), "198.51.100.9", kT0 + seconds(99)), Action::kDeny,
                  Reason::kCredentialStuffing);
  expect_one_network_incident(h, 100);
}

TEST(CredentialStuffing, OneIpAloneReachingTheNetworkThresholdDeniesTheNetwork) {
  EngineHarness h(network_only(50));
  stuff(h, "198.51.100.7", 49);
  EXPECT_DECISION(h.fail(user(49), "198.51.100.7", kT0 + seconds(49)), Action::kDeny,
                  Reason::kCredentialStuffing);
  expect_one_network_incident(h, 50);
  // The whole network is denied, not only the IP.
  EXPECT_DECISION(h.attempt("fresh", "198.51.100.200", kT0 + minutes(1)), Action::kDeny,
                  Reason::kCredentialStuffing);
}

TEST(CredentialStuffing, TheFirstIpsAccountsOutsideTheWindowAreNotCarriedOver) {
  EngineHarness h(network_only(100));
  stuff(h, "198.51.100.7", 60);
  // 11 minutes later: the first IP's failures are past the 10-minute window.
  for (int i = 60; i < 120; ++i)
    EXPECT_ALLOWED(h.fail(user(i), "198.51.100.8", kT0 + minutes(11) + seconds(i)));
  EXPECT_TRUE(h.incidents().empty());
}

// A network seen from one IP only keeps no copy of that IP's accounts: with
// long account names, the hot state stays well below what two copies cost.
TEST(CredentialStuffing, ANetworkSeenFromOneIpKeepsNoCopyOfItsAccounts) {
  state::MemoryBudget budget(std::size_t(1) << 30);
  CredentialStuffingConfig cfg;
  FailingIps ips(budget);
  FailingNetworks networks(budget);
  CredentialStuffing detector(ips, networks);
  constexpr std::size_t kIps = 20'000;
  std::vector<Finding> findings;
  Event e;
  e.type = EventType::kLoginResult;
  e.success = false;
  for (std::size_t i = 0; i < kIps; ++i) {
    e.account = "a-rather-long-account-name-" + std::to_string(100000 + i) + "@example.com";
    e.ip = IpAddress::from_v4(std::uint32_t(0x0a000000 + (i << 8)));  // one per /24
    e.time = kT0 + Duration(std::int64_t(i));
    detector.on_failure(cfg, e, findings);
  }
  EXPECT_TRUE(findings.empty());
  // Each account's record takes 12 + 12 + 45 bytes of heap: 69 with one copy,
  // 138 with two. The slots of both tables (48 and 24 bytes, at least 7/10
  // full) add at most 103 more; two copies would need at least 138 + 72 * 8/7.
  EXPECT_LT(budget.used(), kIps * 185);
}

TEST(CredentialStuffing, UsesConfiguredThresholds) {
  EngineConfig cfg;
  cfg.credential_stuffing.threshold = 3;
  cfg.credential_stuffing.network_threshold = 5;
  cfg.credential_stuffing.block = minutes(10);
  EngineHarness h(cfg);
  EXPECT_ALLOWED(h.fail("a", kStuffer, kT0));
  EXPECT_ALLOWED(h.fail("b", kStuffer, kT0 + seconds(1)));
  EXPECT_DECISION(h.fail("c", kStuffer, kT0 + seconds(2)), Action::kDeny,
                  Reason::kCredentialStuffing);
  EXPECT_ALLOWED(h.attempt("d", kStuffer, kT0 + seconds(2) + minutes(10)));
}

}  // namespace
}  // namespace mamori::engine::testing
