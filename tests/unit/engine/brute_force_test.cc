#include <gtest/gtest.h>

#include <string>

#include "engine/engine.h"
#include "engine_harness.h"

namespace mamori::engine::testing {
namespace {

constexpr const char* kAttacker = "203.0.113.5";
constexpr const char* kOtherIp = "198.51.100.7";

std::string pw(int i) { return "pwhash-" + std::to_string(i); }

// Ten wrong passwords for `account` from `from`, one every 10 s from `start`.
// Returns the decision for the last one.
Decision ten_failures(EngineHarness& h, const std::string& account, const char* from,
                      TimePoint start) {
  Decision last;
  for (int i = 0; i < 10; ++i) last = h.fail(account, from, start + seconds(10 * i), pw(i));
  return last;
}

TEST(BruteForce, NinthFailureAllowedTenthDenied) {
  EngineHarness h;
  for (int i = 0; i < 9; ++i) {
    const Decision d = h.fail("alice", kAttacker, kT0 + seconds(10 * i), pw(i));
    EXPECT_ALLOWED(d) << "failure " << i + 1;
  }
  const Decision tenth = h.fail("alice", kAttacker, kT0 + seconds(90), pw(9));
  EXPECT_DECISION(tenth, Action::kDeny, Reason::kBruteForce);
  EXPECT_EQ(tenth.risk(), kRiskBruteForce);
}

TEST(BruteForce, DeniesLaterAttemptsFromTheSameIp) {
  EngineHarness h;
  ten_failures(h, "alice", kAttacker, kT0);
  EXPECT_DECISION(h.attempt("alice", kAttacker, kT0 + minutes(5)), Action::kDeny,
                  Reason::kBruteForce);
  // Even the right password from that IP is refused.
  EXPECT_DECISION(h.succeed("alice", kAttacker, kT0 + minutes(6)), Action::kDeny,
                  Reason::kBruteForce);
}

TEST(BruteForce, OtherIpAndOtherAccountStayUsable) {
  EngineHarness h;
  ten_failures(h, "alice", kAttacker, kT0);
  EXPECT_ALLOWED(h.attempt("alice", kOtherIp, kT0 + minutes(5)));
  EXPECT_ALLOWED(h.succeed("alice", kOtherIp, kT0 + minutes(5)));
  EXPECT_ALLOWED(h.attempt("bob", kAttacker, kT0 + minutes(5)));
}

TEST(BruteForce, NeverLocksTheAccount) {
  EngineHarness h;
  for (int i = 0; i < 40; ++i) {
    const Decision d = h.fail("alice", kAttacker, kT0 + seconds(i), pw(i));
    EXPECT_NE(d.action(), Action::kLock) << describe(d);
    EXPECT_FALSE(d.has(Reason::kAccountLocked)) << describe(d);
  }
  EXPECT_FALSE(h.engine().locks().find("alice").has_value());
  EXPECT_FALSE(h.stored_lock("alice").has_value());
  EXPECT_ALLOWED(h.succeed("alice", kOtherIp, kT0 + minutes(1)));
}

TEST(BruteForce, BlocksTheAccountIpPairDurably) {
  EngineHarness h;
  ten_failures(h, "alice", kAttacker, kT0);
  const TimePoint tenth = kT0 + seconds(90);
  const auto blocks = h.stored_blocks(tenth);
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].scope, "account_ip");
  EXPECT_EQ(blocks[0].key, std::string("alice|") + kAttacker);
  EXPECT_EQ(blocks[0].reason, Reason::kBruteForce);
  EXPECT_EQ(blocks[0].action, Action::kDeny);
  EXPECT_EQ(blocks[0].until, tenth + hours(1));
  const auto active = h.engine().blocks().active(tenth);
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].key, std::string("alice|") + kAttacker);
}

TEST(BruteForce, RetriedSamePasswordCountsOnce) {
  EngineHarness h;
  for (int i = 0; i < 20; ++i)
    EXPECT_ALLOWED(h.fail("alice", kAttacker, kT0 + seconds(i), "same-wrong-password"))
        << "retry " << i + 1;
  // The 20 retries counted as one failure: 8 more distinct ones are still allowed...
  for (int i = 0; i < 8; ++i)
    EXPECT_ALLOWED(h.fail("alice", kAttacker, kT0 + seconds(30 + i), pw(i)))
        << "distinct " << i + 1;
  // ...and the tenth distinct wrong password is denied.
  EXPECT_DECISION(h.fail("alice", kAttacker, kT0 + seconds(40), pw(8)), Action::kDeny,
                  Reason::kBruteForce);
}

TEST(BruteForce, RetriesOfAnyOfTheLastFourPasswordsCountOnce) {
  EngineHarness h;
  for (int i = 0; i < 4; ++i) EXPECT_ALLOWED(h.fail("alice", kAttacker, kT0 + seconds(i), pw(i)));
  // The user retries each of them, newest first: none counts again.
  for (int i = 3; i >= 0; --i)
    EXPECT_ALLOWED(h.fail("alice", kAttacker, kT0 + seconds(10 - i), pw(i))) << "retry " << i;
  for (int i = 4; i < 9; ++i)
    EXPECT_ALLOWED(h.fail("alice", kAttacker, kT0 + seconds(20 + i), pw(i)));
  // Nine distinct so far; pw(0) is five passwords back and counts again.
  EXPECT_DECISION(h.fail("alice", kAttacker, kT0 + seconds(40), pw(0)), Action::kDeny,
                  Reason::kBruteForce);
}

TEST(BruteForce, FailuresWithoutPwhashEachCount) {
  EngineHarness h;
  for (int i = 0; i < 9; ++i) EXPECT_ALLOWED(h.fail("alice", kAttacker, kT0 + seconds(i)));
  EXPECT_DECISION(h.fail("alice", kAttacker, kT0 + seconds(9)), Action::kDeny, Reason::kBruteForce);
}

TEST(BruteForce, FailuresTwoHoursApartDoNotAddUp) {
  EngineHarness h;
  for (int i = 0; i < 9; ++i) EXPECT_ALLOWED(h.fail("alice", kAttacker, kT0 + seconds(i), pw(i)));
  // Two hours later the first nine are out of the 1 h window.
  const TimePoint later = kT0 + hours(2);
  EXPECT_ALLOWED(h.fail("alice", kAttacker, later, pw(9)));
  for (int i = 10; i < 18; ++i)
    EXPECT_ALLOWED(h.fail("alice", kAttacker, later + seconds(i), pw(i)));
  // Ten within the window again: denied.
  EXPECT_DECISION(h.fail("alice", kAttacker, later + seconds(30), pw(18)), Action::kDeny,
                  Reason::kBruteForce);
}

TEST(BruteForce, BlockExpiresAfterBlockDuration) {
  EngineHarness h;
  ten_failures(h, "alice", kAttacker, kT0);
  const TimePoint tenth = kT0 + seconds(90);
  EXPECT_DECISION(h.attempt("alice", kAttacker, tenth + minutes(59) + seconds(59)), Action::kDeny,
                  Reason::kBruteForce);
  EXPECT_ALLOWED(h.attempt("alice", kAttacker, tenth + hours(1)));
  EXPECT_ALLOWED(h.succeed("alice", kAttacker, tenth + hours(1) + seconds(1)));
}

TEST(BruteForce, UsesConfiguredThresholdAndBlock) {
  EngineConfig cfg;
  cfg.brute_force.threshold = 3;
  cfg.brute_force.block = minutes(5);
  EngineHarness h(cfg);
  EXPECT_ALLOWED(h.fail("alice", kAttacker, kT0, pw(1)));
  EXPECT_ALLOWED(h.fail("alice", kAttacker, kT0 + seconds(1), pw(2)));
  EXPECT_DECISION(h.fail("alice", kAttacker, kT0 + seconds(2), pw(3)), Action::kDeny,
                  Reason::kBruteForce);
  EXPECT_DECISION(h.attempt("alice", kAttacker, kT0 + seconds(2) + minutes(4)), Action::kDeny,
                  Reason::kBruteForce);
  EXPECT_ALLOWED(h.attempt("alice", kAttacker, kT0 + seconds(2) + minutes(5)));
}

TEST(BruteForce, AReconfiguredThresholdAppliesToTheNextFailure) {
  EngineHarness h;
  for (int i = 0; i < 3; ++i) EXPECT_ALLOWED(h.fail("alice", kAttacker, kT0 + seconds(i), pw(i)));
  EngineConfig lower = h.config();
  lower.brute_force.threshold = 4;
  lower.brute_force.block = minutes(5);
  h.engine().reconfigure(lower);
  EXPECT_EQ(h.engine().config()->brute_force.threshold, 4u);
  // The three failures counted before the reload count towards the new threshold.
  EXPECT_DECISION(h.fail("alice", kAttacker, kT0 + seconds(3), pw(3)), Action::kDeny,
                  Reason::kBruteForce);
  EXPECT_ALLOWED(h.attempt("alice", kAttacker, kT0 + seconds(3) + minutes(5)));
  // Raised again: the same count no longer reaches it.
  h.engine().reconfigure(h.config());
  EXPECT_ALLOWED(h.fail("bob", kAttacker, kT0, pw(10)));
  for (int i = 1; i < 9; ++i)
    EXPECT_ALLOWED(h.fail("bob", kAttacker, kT0 + seconds(i), pw(10 + i)));
}

TEST(BruteForce, CountsPerAccountAndIp) {
  EngineHarness h;
  // Nine failures each for two accounts from one IP, and for one account from two IPs.
  for (int i = 0; i < 9; ++i) {
    EXPECT_ALLOWED(h.fail("alice", kAttacker, kT0 + seconds(i), pw(i)));
    EXPECT_ALLOWED(h.fail("bob", kAttacker, kT0 + seconds(i), pw(100 + i)));
    EXPECT_ALLOWED(h.fail("alice", kOtherIp, kT0 + seconds(i), pw(200 + i)));
  }
  EXPECT_ALLOWED(h.attempt("alice", kAttacker, kT0 + seconds(20)));
}

TEST(BruteForce, AllowListedAccountIsNotCounted) {
  EngineHarness h;
  h.add_list(store::ListKind::kAllow, "account:alice", kT0);
  for (int i = 0; i < 15; ++i) EXPECT_ALLOWED(h.fail("alice", kAttacker, kT0 + seconds(i), pw(i)));
  EXPECT_ALLOWED(h.attempt("alice", kAttacker, kT0 + seconds(20)));
  EXPECT_TRUE(h.engine().blocks().active(kT0 + seconds(20)).empty());
}

}  // namespace
}  // namespace mamori::engine::testing
