#include <gtest/gtest.h>

#include <string>

#include "engine/engine.h"
#include "engine_harness.h"

namespace mamori::engine::testing {
namespace {

TEST(AccountLock, LockedAccountAttemptsAreDeniedAccountLocked) {
  EngineHarness h;
  h.lock("alice", false, kT0);
  const Decision d = h.attempt("alice", "192.0.2.1", kT0 + seconds(1));
  EXPECT_DECISION(d, Action::kDeny, Reason::kAccountLocked);
  EXPECT_EQ(d.risk(), kRiskAccountLocked);
  // Also the right password, from anywhere.
  EXPECT_DECISION(h.succeed("alice", "2001:db8::1", kT0 + seconds(2)), Action::kDeny,
                  Reason::kAccountLocked);
  EXPECT_DECISION(h.succeed("alice", "192.0.2.1", kT0 + seconds(3), /*mfa=*/true), Action::kDeny,
                  Reason::kAccountLocked);
  // Its sends are refused.
  EXPECT_DECISION(h.account_event(EventType::kMessageSent, "alice", "192.0.2.1", kT0 + seconds(4)),
                  Action::kDeny, Reason::kAccountLocked);
  EXPECT_DECISION(h.account_event(EventType::kMailSent, "alice", "192.0.2.1", kT0 + seconds(4)),
                  Action::kDeny, Reason::kAccountLocked);
  // Other accounts are not affected.
  EXPECT_ALLOWED(h.attempt("bob", "192.0.2.1", kT0 + seconds(5)));
}

TEST(AccountLock, LockIsStoredDurably) {
  EngineHarness h;
  h.lock("alice", true, kT0);
  const auto stored = h.stored_lock("alice");
  ASSERT_TRUE(stored.has_value());
  EXPECT_TRUE(stored->password_reset_required);
  EXPECT_EQ(stored->by, "operator");
  EXPECT_EQ(stored->since, kT0);
}

TEST(AccountLock, UnlockRestoresLogins) {
  EngineHarness h;
  h.lock("alice", false, kT0);
  EXPECT_DECISION(h.attempt("alice", "192.0.2.1", kT0 + seconds(1)), Action::kDeny,
                  Reason::kAccountLocked);
  h.unlock("alice", kT0 + minutes(1));
  EXPECT_ALLOWED(h.attempt("alice", "192.0.2.1", kT0 + minutes(2)));
  EXPECT_ALLOWED(h.succeed("alice", "192.0.2.1", kT0 + minutes(2)));
  EXPECT_FALSE(h.engine().locks().find("alice").has_value());
  EXPECT_FALSE(h.stored_lock("alice").has_value());
}

TEST(AccountLock, UnlockRemovesTheAccountsIpBlocks) {
  EngineHarness h;
  for (int i = 0; i < 10; ++i)
    h.fail("alice", "203.0.113.5", kT0 + seconds(i), "pw" + std::to_string(i));
  // bob's block from the same IP is not alice's to lift.
  for (int i = 0; i < 10; ++i)
    h.fail("bob", "203.0.113.5", kT0 + seconds(i), "bpw" + std::to_string(i));
  EXPECT_DECISION(h.attempt("alice", "203.0.113.5", kT0 + minutes(1)), Action::kDeny,
                  Reason::kBruteForce);
  h.lock("alice", false, kT0 + minutes(2));
  h.unlock("alice", kT0 + minutes(3));
  EXPECT_ALLOWED(h.attempt("alice", "203.0.113.5", kT0 + minutes(4)));
  EXPECT_DECISION(h.attempt("bob", "203.0.113.5", kT0 + minutes(4)), Action::kDeny,
                  Reason::kBruteForce);
  const auto blocks = h.stored_blocks(kT0 + minutes(4));
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].key, "bob|203.0.113.5");
}

TEST(AccountLock, UnlockAlsoLiftsTheAccountChallenge) {
  EngineConfig cfg;
  cfg.account_under_attack.threshold = 3;
  EngineHarness h(cfg);
  for (int i = 0; i < 3; ++i) h.fail("alice", "10.0." + std::to_string(i) + ".1", kT0 + seconds(i));
  EXPECT_DECISION(h.attempt("alice", "192.0.2.1", kT0 + minutes(1)), Action::kChallenge,
                  Reason::kAccountUnderAttack);
  h.unlock("alice", kT0 + minutes(2));
  EXPECT_ALLOWED(h.attempt("alice", "192.0.2.1", kT0 + minutes(3)));
}

TEST(AccountLock, PasswordChangeLiftsLockThatRequiresReset) {
  EngineHarness h;
  h.lock("alice", /*require_password_reset=*/true, kT0);
  EXPECT_DECISION(h.attempt("alice", "192.0.2.1", kT0 + seconds(1)), Action::kDeny,
                  Reason::kAccountLocked);
  const Decision changed =
      h.account_event(EventType::kPasswordChanged, "alice", "192.0.2.1", kT0 + minutes(5));
  EXPECT_DECISION(changed, Action::kAllow, Reason::kPasswordReset);
  EXPECT_ALLOWED(h.attempt("alice", "192.0.2.1", kT0 + minutes(6)));
  EXPECT_FALSE(h.engine().locks().find("alice").has_value());
  EXPECT_FALSE(h.stored_lock("alice").has_value());
}

TEST(AccountLock, PasswordChangeKeepsLockWithoutResetRequired) {
  EngineHarness h;
  h.lock("alice", /*require_password_reset=*/false, kT0);
  const Decision changed =
      h.account_event(EventType::kPasswordChanged, "alice", "192.0.2.1", kT0 + minutes(5));
  EXPECT_FALSE(changed.has(Reason::kPasswordReset));
  EXPECT_DECISION(h.attempt("alice", "192.0.2.1", kT0 + minutes(6)), Action::kDeny,
                  Reason::kAccountLocked);
  EXPECT_TRUE(h.engine().locks().find("alice").has_value());
  EXPECT_TRUE(h.stored_lock("alice").has_value());
}

TEST(AccountLock, PasswordChangeOfUnlockedAccountChangesNothing) {
  EngineHarness h;
  const Decision d = h.account_event(EventType::kPasswordChanged, "alice", "192.0.2.1", kT0);
  EXPECT_ALLOWED(d);
  EXPECT_EQ(d.reason_count(), 0);
}

TEST(AccountLock, AccountViewShowsLockAndLastLogin) {
  EngineHarness h;
  EXPECT_ALLOWED(h.succeed("alice", "192.0.2.1", kT0));
  h.lock("alice", true, kT0 + minutes(1));
  h.sync();
  auto v = h.engine().account("alice");
  ASSERT_TRUE(v.ok()) << v.error().message;
  ASSERT_TRUE(v->lock.has_value());
  EXPECT_TRUE(v->lock->password_reset_required);
  ASSERT_TRUE(v->last_login.has_value());
  EXPECT_EQ(v->last_login->time, kT0);
  EXPECT_EQ(v->last_login->ip, ip("192.0.2.1"));
}

}  // namespace
}  // namespace mamori::engine::testing
