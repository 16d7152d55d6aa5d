#include <gtest/gtest.h>

#include <string>

#include "engine/engine.h"
#include "engine_harness.h"

namespace mamori::engine::testing {
namespace {

// The i-th of many attacker addresses, spread over distinct /24s so that no
// source-side detector sees more than one failure.
std::string spread_ip(int i) {
  return "10." + std::to_string(i / 200) + "." + std::to_string(i % 200) + ".1";
}

// `n` failures for `account`, each from its own IP, one per second from kT0.
Decision distributed_failures(EngineHarness& h, const std::string& account, int n) {
  Decision last;
  for (int i = 0; i < n; ++i) last = h.fail(account, spread_ip(i), kT0 + seconds(i));
  return last;
}

TEST(AccountUnderAttack, FortyNineFailuresFromManyIpsAreAllowed) {
  EngineHarness h;
  for (int i = 0; i < 49; ++i)
    EXPECT_ALLOWED(h.fail("alice", spread_ip(i), kT0 + seconds(i))) << "failure " << i + 1;
  EXPECT_ALLOWED(h.attempt("alice", "192.0.2.1", kT0 + minutes(1)));
}

TEST(AccountUnderAttack, FiftiethFailureChallengesTheAccount) {
  EngineHarness h;
  const Decision d = distributed_failures(h, "alice", 50);
  EXPECT_DECISION(d, Action::kChallenge, Reason::kAccountUnderAttack);
  // Later logins to the account from anywhere must pass a second factor.
  EXPECT_DECISION(h.attempt("alice", "192.0.2.1", kT0 + minutes(5)), Action::kChallenge,
                  Reason::kAccountUnderAttack);
  EXPECT_DECISION(h.succeed("alice", "192.0.2.1", kT0 + minutes(5)), Action::kChallenge,
                  Reason::kAccountUnderAttack);
  // Other accounts are not affected.
  EXPECT_ALLOWED(h.attempt("bob", "192.0.2.1", kT0 + minutes(5)));
}

TEST(AccountUnderAttack, SuccessWithMfaIsAllowed) {
  EngineHarness h;
  distributed_failures(h, "alice", 50);
  EXPECT_ALLOWED(h.succeed("alice", "192.0.2.1", kT0 + minutes(5), /*mfa=*/true));
}

TEST(AccountUnderAttack, NeverLocksTheAccount) {
  EngineHarness h;
  for (int i = 0; i < 120; ++i) {
    const Decision d = h.fail("alice", spread_ip(i), kT0 + seconds(i));
    EXPECT_NE(d.action(), Action::kLock) << describe(d);
  }
  EXPECT_FALSE(h.engine().locks().find("alice").has_value());
  EXPECT_FALSE(h.stored_lock("alice").has_value());
}

TEST(AccountUnderAttack, ChallengeEndsAfterChallengeFor) {
  EngineHarness h;
  distributed_failures(h, "alice", 50);
  const TimePoint fiftieth = kT0 + seconds(49);
  EXPECT_DECISION(h.attempt("alice", "192.0.2.1", fiftieth + minutes(59)), Action::kChallenge,
                  Reason::kAccountUnderAttack);
  EXPECT_ALLOWED(h.attempt("alice", "192.0.2.1", fiftieth + hours(1)));
}

TEST(AccountUnderAttack, UsesConfiguredThreshold) {
  EngineConfig cfg;
  cfg.account_under_attack.threshold = 5;
  EngineHarness h(cfg);
  for (int i = 0; i < 4; ++i) EXPECT_ALLOWED(h.fail("alice", spread_ip(i), kT0 + seconds(i)));
  EXPECT_DECISION(h.fail("alice", spread_ip(4), kT0 + seconds(4)), Action::kChallenge,
                  Reason::kAccountUnderAttack);
}

// ---- ip_failures ----

EngineConfig low_ip_failures() {
  EngineConfig cfg;
  cfg.ip_failures.threshold = 3;
  cfg.ip_failures.deny_threshold = 6;
  cfg.ip_failures.delay_ms = 1500;
  return cfg;
}

TEST(IpFailures, DelaysFromThresholdWithDelayMs) {
  EngineHarness h(low_ip_failures());
  EXPECT_ALLOWED(h.fail("a1", "203.0.113.9", kT0));
  EXPECT_ALLOWED(h.fail("a2", "203.0.113.9", kT0 + seconds(1)));
  const Decision third = h.fail("a3", "203.0.113.9", kT0 + seconds(2));
  EXPECT_DECISION(third, Action::kDelay, Reason::kIpFailures);
  EXPECT_EQ(third.delay_ms(), 1500u);
  const Decision next = h.attempt("somebody", "203.0.113.9", kT0 + seconds(3));
  EXPECT_DECISION(next, Action::kDelay, Reason::kIpFailures);
  EXPECT_EQ(next.delay_ms(), 1500u);
  // Another IP is not slowed.
  const Decision other = h.attempt("somebody", "203.0.113.10", kT0 + seconds(3));
  EXPECT_ALLOWED(other);
  EXPECT_EQ(other.delay_ms(), 0u);
}

TEST(IpFailures, DeniesFromDenyThreshold) {
  EngineHarness h(low_ip_failures());
  for (int i = 0; i < 5; ++i) {
    const Decision d = h.fail("a" + std::to_string(i), "203.0.113.9", kT0 + seconds(i));
    EXPECT_NE(d.action(), Action::kDeny) << "failure " << i + 1 << ": " << describe(d);
  }
  EXPECT_DECISION(h.fail("a5", "203.0.113.9", kT0 + seconds(5)), Action::kDeny,
                  Reason::kIpFailures);
  const Decision later = h.attempt("anyone", "203.0.113.9", kT0 + minutes(1));
  EXPECT_DECISION(later, Action::kDeny, Reason::kIpFailures);
  EXPECT_EQ(later.delay_ms(), 1500u);
  EXPECT_ALLOWED(h.attempt("anyone", "203.0.113.10", kT0 + minutes(1)));
}

TEST(IpFailures, DefaultsDelayAtHundredFailures) {
  EngineHarness h;
  // 100 failures from one IP over 10 accounts with one retried password
  // each: no other detector fires (brute force counts each account once).
  Decision d;
  for (int i = 0; i < 99; ++i) {
    d = h.fail("user" + std::to_string(i % 10), "203.0.113.9", kT0 + seconds(i),
               "pw-" + std::to_string(i % 10));
    ASSERT_TRUE(allowed(d)) << "failure " << i + 1;
  }
  d = h.fail("user9", "203.0.113.9", kT0 + seconds(100), "pw-9");
  EXPECT_DECISION(d, Action::kDelay, Reason::kIpFailures);
  EXPECT_EQ(d.delay_ms(), 2000u);
}

TEST(IpFailures, DelayEndsAfterBlock) {
  EngineHarness h(low_ip_failures());
  for (int i = 0; i < 3; ++i) h.fail("a" + std::to_string(i), "203.0.113.9", kT0 + seconds(i));
  EXPECT_DECISION(h.attempt("x", "203.0.113.9", kT0 + seconds(2) + minutes(59)), Action::kDelay,
                  Reason::kIpFailures);
  EXPECT_ALLOWED(h.attempt("x", "203.0.113.9", kT0 + seconds(2) + hours(1)));
}

}  // namespace
}  // namespace mamori::engine::testing
