#include "engine/network_failures.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "engine/credential_stuffing.h"
#include "engine/engine.h"
#include "engine_harness.h"

namespace mamori::engine::testing {
namespace {

// The `i`th address of the IPv6 network 2001:db8:77:1::/64.
IpAddress flood_address(std::uint64_t i) {
  std::array<std::uint8_t, 16> b{0x20, 0x01, 0x0d, 0xb8, 0x00, 0x77, 0x00, 0x01};
  for (int k = 0; k < 8; ++k) b[15 - k] = std::uint8_t((i + 1) >> (8 * k));
  return IpAddress::from_bytes(b);
}

// One failure for `account` from `from` at `t`.
Decision fail_from(EngineHarness& h, std::string_view account, const IpAddress& from, TimePoint t) {
  Event e = EngineHarness::event(EventType::kLoginResult, account, "192.0.2.1", t);
  e.ip = from;
  return h.process(e).decision;
}

// credential_stuffing and network_failures over their shared network
// entries, as the engine runs them, without the rest of the engine.
struct Detectors {
  explicit Detectors(NetworkFailuresConfig c = {}) : config(c) {}

  const NetworkFailuresConfig config;
  state::MemoryBudget budget{std::size_t(1) << 30};
  FailingIps ips{budget};
  FailingNetworks networks{budget};
  CredentialStuffing stuffing{ips, networks};
  NetworkFailures network_failures{networks};

  // The network_failures finding of one failure, if any.
  std::optional<Finding> fail(const std::string& account, const IpAddress& ip, TimePoint t) {
    Event e;
    e.type = EventType::kLoginResult;
    e.success = false;
    e.account = account;
    e.ip = ip;
    e.time = t;
    std::vector<Finding> out;
    stuffing.on_failure(CredentialStuffingConfig{}, e, out);
    out.clear();
    network_failures.on_failure(config, e, out);
    if (out.empty()) return std::nullopt;
    EXPECT_EQ(out.size(), 1u);
    return out[0];
  }
};

// A flood from many addresses of one /64, each failing once on one dummy
// account, passes every rule that counts by address or by account+address.
// Counted by network, it is delayed from the 2,000th failure and denied from
// the 10,000th (the network's first address is not counted: ip_failures
// judges it alone).
TEST(NetworkFailures, TheFloodFromOneSlash64IsDelayedThenDenied) {
  EngineHarness h;
  for (std::uint64_t i = 0; i < 12'000; ++i) {
    const Decision d = fail_from(h, "dummy", flood_address(i), kT0 + milliseconds(i));
    if (i < 2'000) {
      ASSERT_FALSE(d.has(Reason::kNetworkFailures)) << "failure " << i + 1 << ": " << describe(d);
    } else if (i < 10'000) {
      ASSERT_TRUE(d.has(Reason::kNetworkFailures)) << "failure " << i + 1 << ": " << describe(d);
      ASSERT_LT(d.action(), Action::kDeny) << "failure " << i + 1 << ": " << describe(d);
      ASSERT_EQ(d.delay_ms(), 2000u) << "failure " << i + 1;
    } else {
      ASSERT_TRUE(decided(d, Action::kDeny, Reason::kNetworkFailures)) << "failure " << i + 1;
    }
  }
  // Any address of the network, for any account, is denied now; the
  // neighbouring /64 is not.
  const TimePoint later = kT0 + minutes(1);
  Event e = EngineHarness::event(EventType::kLoginAttempt, "bob", "2001:db8:77:1::ffff", later);
  EXPECT_DECISION(h.process(e).decision, Action::kDeny, Reason::kNetworkFailures);
  EXPECT_EQ(h.process(e).decision.risk(), kRiskNetworkFailures);
  EXPECT_ALLOWED(h.attempt("bob", "2001:db8:77:2::1", later));
  EXPECT_ALLOWED(h.attempt("bob", "203.0.113.5", later));

  // Both blocks are stored for the whole network.
  bool delay = false, deny = false;
  for (const store::Block& b : h.stored_blocks(later)) {
    if (b.reason != Reason::kNetworkFailures) continue;
    EXPECT_EQ(b.key, "2001:db8:77:1::/64");
    delay = delay || (b.scope == "network_delay" && b.action == Action::kDelay);
    deny = deny || (b.scope == "network" && b.action == Action::kDeny);
  }
  EXPECT_TRUE(delay);
  EXPECT_TRUE(deny);
}

// An IPv4 /24 is counted the same way: many addresses, many accounts.
TEST(NetworkFailures, AnIpv4Slash24IsCountedAcrossItsAddressesAndAccounts) {
  NetworkFailuresConfig cfg;
  cfg.threshold = 300;
  cfg.deny_threshold = 600;
  Detectors d(cfg);
  int first_delay = -1, first_deny = -1;
  for (int i = 0; i < 700; ++i) {
    const IpAddress ip = IpAddress::from_v4(0xc6336400u + std::uint32_t(i % 250));  // 198.51.100.x
    auto f = d.fail("user" + std::to_string(i % 90), ip, kT0 + seconds(i));
    if (!f) continue;
    EXPECT_EQ(f->target, "198.51.100.0/24");
    if (f->action == Action::kDelay && first_delay < 0) first_delay = i;
    if (f->action == Action::kDeny && first_deny < 0) first_deny = i;
  }
  // The first address's first failure is not counted.
  EXPECT_EQ(first_delay, 300);
  EXPECT_EQ(first_deny, 600);
}

// While one address only has failed, the network keeps no count of its own:
// that address is ip_failures' to judge (it is denied at 200).
TEST(NetworkFailures, ANetworkIsCountedFromItsSecondFailingAddress) {
  NetworkFailuresConfig cfg;
  cfg.threshold = 10;
  cfg.deny_threshold = 20;
  Detectors d(cfg);
  const IpAddress only = *IpAddress::parse("198.51.100.7");
  for (int i = 0; i < 50; ++i)
    EXPECT_FALSE(d.fail("user" + std::to_string(i), only, kT0 + seconds(i)).has_value()) << i;
  const std::size_t before = d.budget.used();
  // The second address starts the count: nine more failures make nine.
  const IpAddress second = *IpAddress::parse("198.51.100.8");
  for (int i = 0; i < 9; ++i)
    EXPECT_FALSE(d.fail("other", second, kT0 + minutes(1) + seconds(i)).has_value()) << i;
  EXPECT_GT(d.budget.used(), before);  // the network's counter
  EXPECT_TRUE(d.fail("other", only, kT0 + minutes(2)).has_value());
}

// A carrier-grade NAT: 250 addresses of one /24 shared by many honest users.
// 1,999 failures in an hour from all of them are neither delayed nor
// denied, and an hour later the count has moved on.
TEST(NetworkFailures, TheHonestFailuresOfABigNatStayBelowTheThresholds) {
  Detectors d;
  for (int i = 0; i < 2'000; ++i) {
    const IpAddress ip = IpAddress::from_v4(0x64400000u + std::uint32_t(i % 250));  // 100.64.0.x
    EXPECT_FALSE(d.fail("user" + std::to_string(i), ip, kT0 + milliseconds(1'799 * i)).has_value())
        << "failure " << i + 1;
  }
  // Failures of the next hour count afresh.
  for (int i = 0; i < 1'999; ++i) {
    const IpAddress ip = IpAddress::from_v4(0x64400000u + std::uint32_t(i % 250));
    EXPECT_FALSE(
        d.fail("user" + std::to_string(i), ip, kT0 + hours(2) + milliseconds(i)).has_value())
        << "failure " << i + 1 << " of the next hour";
  }
  auto f = d.fail("someone", IpAddress::from_v4(0x64400001u), kT0 + hours(2) + seconds(10));
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->action, Action::kDelay);
  EXPECT_EQ(f->target, "100.64.0.0/24");
}

TEST(NetworkFailures, UsesConfiguredThresholdsDelayAndBlock) {
  EngineConfig cfg;
  cfg.network_failures.threshold = 5;
  cfg.network_failures.deny_threshold = 8;
  cfg.network_failures.delay_ms = 750;
  cfg.network_failures.block = minutes(10);
  EngineHarness h(cfg);
  Decision d;
  for (std::uint64_t i = 0; i < 6; ++i) d = fail_from(h, "dummy", flood_address(i), kT0);
  EXPECT_DECISION(d, Action::kDelay, Reason::kNetworkFailures);
  EXPECT_EQ(d.delay_ms(), 750u);
  // Attempts from the network are delayed while the block lasts.
  Event a = EngineHarness::event(EventType::kLoginAttempt, "bob", "2001:db8:77:1::abcd",
                                 kT0 + minutes(9));
  const Decision delayed = h.process(a).decision;
  EXPECT_DECISION(delayed, Action::kDelay, Reason::kNetworkFailures);
  EXPECT_EQ(delayed.delay_ms(), 750u);
  a.time = kT0 + minutes(10) + seconds(1);
  EXPECT_ALLOWED(h.process(a).decision);

  for (std::uint64_t i = 6; i < 9; ++i)
    d = fail_from(h, "dummy", flood_address(i), kT0 + minutes(11));
  EXPECT_DECISION(d, Action::kDeny, Reason::kNetworkFailures);
}

// The network's delay and deny survive a restart (they are blocks, read back
// from the store).
TEST(NetworkFailures, BlocksSurviveARestart) {
  EngineConfig cfg;
  cfg.network_failures.threshold = 5;
  cfg.network_failures.deny_threshold = 8;
  EngineHarness h(cfg);
  for (std::uint64_t i = 0; i < 6; ++i) fail_from(h, "dummy", flood_address(i), kT0);
  h.restart_process(kT0 + minutes(1));
  Event a = EngineHarness::event(EventType::kLoginAttempt, "bob", "2001:db8:77:1::abcd",
                                 kT0 + minutes(2));
  EXPECT_DECISION(h.process(a).decision, Action::kDelay, Reason::kNetworkFailures);
  // The count was warmed from the activity log: three more failures deny.
  for (std::uint64_t i = 6; i < 9; ++i) fail_from(h, "dummy", flood_address(i), kT0 + minutes(3));
  h.restart_process(kT0 + minutes(4));
  EXPECT_DECISION(h.process(a).decision, Action::kDeny, Reason::kNetworkFailures);
}

// When credential_stuffing denies the same network (with its incident), the
// two detectors do not take turns rewriting the network's block: it stays
// credential_stuffing's, pointing at the incident.
TEST(NetworkFailures, ANetworkDeniedForCredentialStuffingKeepsThatBlockAndIncident) {
  EngineConfig cfg;
  cfg.network_failures.threshold = 50;
  cfg.network_failures.deny_threshold = 60;
  EngineHarness h(cfg);
  for (int i = 0; i < 150; ++i) {
    const std::string from = "198.51.100." + std::to_string(1 + i % 200);
    h.fail("user" + std::to_string(i), from, kT0 + seconds(i));
  }
  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  int network_blocks = 0;
  for (const store::Block& b : h.stored_blocks(kT0 + minutes(3))) {
    if (b.scope != "network") continue;
    ++network_blocks;
    EXPECT_EQ(b.key, "198.51.100.0/24");
    EXPECT_EQ(b.reason, Reason::kCredentialStuffing);
    EXPECT_EQ(b.incident_id, incidents[0].id);
  }
  EXPECT_EQ(network_blocks, 1);
  EXPECT_DECISION(h.attempt("anyone", "198.51.100.250", kT0 + minutes(3)), Action::kDeny,
                  Reason::kCredentialStuffing);
}

}  // namespace
}  // namespace mamori::engine::testing
