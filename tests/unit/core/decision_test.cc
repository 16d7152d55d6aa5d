#include "core/decision.h"

#include <gtest/gtest.h>

namespace mamori {
namespace {

TEST(Decision, DefaultIsAllowWithoutReasons) {
  Decision d;
  EXPECT_EQ(d.action(), Action::kAllow);
  EXPECT_EQ(d.reason_count(), 0);
  EXPECT_EQ(d.risk(), 0);
  EXPECT_EQ(d.delay_ms(), 0u);
}

TEST(Decision, ActionsAreOrderedAllowDelayChallengeDenyLock) {
  EXPECT_LT(Action::kAllow, Action::kDelay);
  EXPECT_LT(Action::kDelay, Action::kChallenge);
  EXPECT_LT(Action::kChallenge, Action::kDeny);
  EXPECT_LT(Action::kDeny, Action::kLock);
}

TEST(Decision, StrongestActionWinsWhateverTheOrder) {
  Decision a;
  a.add(Action::kDelay, Reason::kIpFailures);
  a.add(Action::kDeny, Reason::kBruteForce);
  a.add(Action::kChallenge, Reason::kAccountUnderAttack);
  EXPECT_EQ(a.action(), Action::kDeny);

  Decision b;
  b.add(Action::kDeny, Reason::kBruteForce);
  b.add(Action::kDelay, Reason::kIpFailures);
  EXPECT_EQ(b.action(), Action::kDeny);

  Decision c;
  c.add(Action::kDeny, Reason::kDenyList);
  c.add(Action::kLock, Reason::kAccountLocked);
  c.add(Action::kAllow, Reason::kAllowList);
  EXPECT_EQ(c.action(), Action::kLock);
}

TEST(Decision, EveryContributingReasonIsKeptInOrder) {
  Decision d;
  d.add(Action::kDelay, Reason::kIpFailures);
  d.add(Action::kDeny, Reason::kBruteForce);
  d.add(Action::kAllow, Reason::kPasswordReset);
  ASSERT_EQ(d.reason_count(), 3);
  EXPECT_EQ(d.reason(0), Reason::kIpFailures);
  EXPECT_EQ(d.reason(1), Reason::kBruteForce);
  EXPECT_EQ(d.reason(2), Reason::kPasswordReset);
  EXPECT_TRUE(d.has(Reason::kBruteForce));
  EXPECT_FALSE(d.has(Reason::kCredentialStuffing));
}

TEST(Decision, ReasonRecordedOnce) {
  Decision d;
  d.add(Action::kDeny, Reason::kCredentialStuffing, 90);
  d.add(Action::kDeny, Reason::kCredentialStuffing, 90);
  d.add(Action::kDelay, Reason::kCredentialStuffing);
  EXPECT_EQ(d.reason_count(), 1);
  EXPECT_EQ(d.reason(0), Reason::kCredentialStuffing);
}

TEST(Decision, ReasonsAreBoundedByCapacity) {
  Decision d;
  for (int i = 0; i < kReasonCount; ++i) d.add(Action::kDeny, static_cast<Reason>(i));
  EXPECT_EQ(d.reason_count(), Decision::kMaxReasons);
  EXPECT_EQ(d.action(), Action::kDeny);
}

TEST(Decision, RiskIsTheMaximumCappedAt100) {
  Decision d;
  d.add(Action::kDelay, Reason::kIpFailures, 50);
  EXPECT_EQ(d.risk(), 50);
  d.add(Action::kDeny, Reason::kBruteForce, 80);
  EXPECT_EQ(d.risk(), 80);
  d.add(Action::kChallenge, Reason::kAccountUnderAttack, 60);
  EXPECT_EQ(d.risk(), 80);
  d.add(Action::kDeny, Reason::kDenyList, 250);
  EXPECT_EQ(d.risk(), 100);
}

TEST(Decision, DelayIsTheLongestAsked) {
  Decision d;
  d.set_delay_ms(2000);
  d.set_delay_ms(500);
  EXPECT_EQ(d.delay_ms(), 2000u);
  d.set_delay_ms(3000);
  EXPECT_EQ(d.delay_ms(), 3000u);
}

TEST(Decision, WireNamesMatchDesign) {
  EXPECT_EQ(to_string(Action::kAllow), "allow");
  EXPECT_EQ(to_string(Action::kDelay), "delay");
  EXPECT_EQ(to_string(Action::kChallenge), "challenge");
  EXPECT_EQ(to_string(Action::kDeny), "deny");
  EXPECT_EQ(to_string(Action::kLock), "lock");
  EXPECT_EQ(to_string(Reason::kBruteForce), "brute_force");
  EXPECT_EQ(to_string(Reason::kCredentialStuffing), "credential_stuffing");
  EXPECT_EQ(to_string(Reason::kDenyList), "deny_list");
  EXPECT_EQ(to_string(Reason::kAccountLocked), "account_locked");
  for (int i = 0; i < kReasonCount; ++i) {
    const auto r = static_cast<Reason>(i);
    EXPECT_EQ(reason_from_string(to_string(r)), r);
  }
  EXPECT_FALSE(reason_from_string("bruteforce").has_value());
}

TEST(Decision, DecidingReasonIsTheFirstAtTheFinalAction) {
  Decision none;
  EXPECT_FALSE(none.deciding_reason().has_value());

  Decision allow;
  allow.add(Action::kAllow, Reason::kNewDevice);
  allow.add(Action::kAllow, Reason::kDnsbl);
  EXPECT_EQ(allow.deciding_reason(), Reason::kNewDevice);

  Decision d;
  d.add(Action::kAllow, Reason::kDnsbl);
  d.add(Action::kDelay, Reason::kIpFailures);
  d.add(Action::kDeny, Reason::kBruteForce);
  d.add(Action::kDeny, Reason::kCredentialStuffing);
  d.add(Action::kChallenge, Reason::kAccountUnderAttack);
  EXPECT_EQ(d.deciding_reason(), Reason::kBruteForce);

  // A reason already recorded at a weaker action decides when it comes back stronger.
  Decision again;
  again.add(Action::kDelay, Reason::kIpFailures);
  again.add(Action::kDelay, Reason::kDnsbl);
  again.add(Action::kDeny, Reason::kDnsbl);
  EXPECT_EQ(again.deciding_reason(), Reason::kDnsbl);
}

}  // namespace
}  // namespace mamori
