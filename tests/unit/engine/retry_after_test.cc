#include <gtest/gtest.h>

#include <string>

#include "engine/engine.h"
#include "engine_harness.h"

namespace mamori::engine::testing {
namespace {

constexpr const char* kAttacker = "203.0.113.5";

Outcome attempt(EngineHarness& h, std::string_view account, std::string_view from, TimePoint t) {
  return h.process(EngineHarness::event(EventType::kLoginAttempt, account, from, t));
}

TEST(RetryAfter, AllowHasNone) {
  EngineHarness h;
  EXPECT_FALSE(attempt(h, "alice", kAttacker, kT0).retry_after.has_value());
}

TEST(RetryAfter, BruteForceDenyEndsWithItsBlock) {
  EngineHarness h;
  for (int i = 0; i < 10; ++i) h.fail("alice", kAttacker, kT0 + seconds(i), "pw" + std::to_string(i));
  // The block started at the tenth failure (kT0 + 9 s) and lasts an hour.
  const Outcome later = attempt(h, "alice", kAttacker, kT0 + minutes(10));
  EXPECT_DECISION(later.decision, Action::kDeny, Reason::kBruteForce);
  ASSERT_TRUE(later.retry_after.has_value());
  EXPECT_EQ(*later.retry_after, hours(1) + seconds(9) - minutes(10));
}

TEST(RetryAfter, DenyListEntryEndsWithItsExpiryAndPermanentHasNone) {
  EngineHarness h;
  h.add_list(store::ListKind::kDeny, "192.0.2.0/24", kT0, minutes(30));
  const Outcome o = attempt(h, "bob", "192.0.2.9", kT0 + minutes(5));
  EXPECT_DECISION(o.decision, Action::kDeny, Reason::kDenyList);
  ASSERT_TRUE(o.retry_after.has_value());
  EXPECT_EQ(*o.retry_after, minutes(25));

  h.add_list(store::ListKind::kDeny, "198.51.100.0/24", kT0);
  EXPECT_FALSE(attempt(h, "bob", "198.51.100.9", kT0 + minutes(5)).retry_after.has_value());
}

TEST(RetryAfter, TheLatestCauseWinsAndALockHasNoEnd) {
  EngineHarness h;
  h.add_list(store::ListKind::kDeny, "192.0.2.9", kT0, minutes(30));
  h.add_list(store::ListKind::kDeny, "account:carol", kT0, hours(2));
  const Outcome both = attempt(h, "carol", "192.0.2.9", kT0);
  ASSERT_TRUE(both.retry_after.has_value());
  EXPECT_EQ(*both.retry_after, hours(2));

  h.lock("dave", false, kT0);
  const Outcome locked = attempt(h, "dave", "192.0.2.9", kT0);
  EXPECT_EQ(locked.decision.action(), Action::kDeny);
  EXPECT_TRUE(locked.decision.has(Reason::kAccountLocked));
  EXPECT_FALSE(locked.retry_after.has_value());
}

TEST(RetryAfter, MailVolumeDeferralLastsAtMostTheWindowItIsOver) {
  EngineConfig c;
  c.mail_volume.threshold = 3;
  EngineHarness h(c);
  auto send = [&](std::uint32_t n, TimePoint t) {
    Event e = EngineHarness::event(EventType::kMailSent, "erin", kAttacker, t);
    e.recipient_count = n;
    return h.process(e);
  };
  EXPECT_EQ(send(3, kT0).decision.action(), Action::kAllow);
  const Outcome over = send(1, kT0 + minutes(1));
  EXPECT_DECISION(over.decision, Action::kDeny, Reason::kMailVolume);
  ASSERT_TRUE(over.retry_after.has_value());
  EXPECT_EQ(*over.retry_after, c.mail_volume.window);
  // More recipients than the quota never fit: no time to give.
  const Outcome never = send(4, kT0 + minutes(2));
  EXPECT_EQ(never.decision.action(), Action::kDeny);
  EXPECT_FALSE(never.retry_after.has_value());
}

TEST(DecisionCounts, EachDecisionOnceUnderItsDecidingReasonByProtocol) {
  EngineHarness h;
  h.add_list(store::ListKind::kDeny, "192.0.2.9", kT0);
  Event e = EngineHarness::event(EventType::kLoginAttempt, "frank", "192.0.2.9", kT0);
  e.protocol = "imap";
  h.process(e);
  e.ip = ip("198.51.100.1");
  e.protocol = "gopher";
  h.process(e);
  const DecisionCounts& n = h.engine().decision_counts();
  const int imap = DecisionCounts::protocol_index("imap");
  const int other = DecisionCounts::protocol_index("gopher");
  EXPECT_EQ(other, DecisionCounts::protocol_index("other"));
  EXPECT_EQ(n.decisions(Action::kDeny, int(Reason::kDenyList), imap), 1u);
  EXPECT_EQ(n.reasons(Action::kDeny, Reason::kDenyList, imap), 1u);
  EXPECT_EQ(n.decisions(Action::kAllow, DecisionCounts::kNoReason, other), 1u);
  std::uint64_t all = 0;
  for (int a = 0; a < kActionCount; ++a)
    for (int r = 0; r <= kReasonCount; ++r)
      for (int p = 0; p < DecisionCounts::kProtocolCount; ++p)
        all += n.decisions(static_cast<Action>(a), r, p);
  EXPECT_EQ(all, 2u);
}

}  // namespace
}  // namespace mamori::engine::testing
