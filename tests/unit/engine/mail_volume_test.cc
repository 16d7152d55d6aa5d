#include "engine/mail_volume.h"

#include <gtest/gtest.h>

#include "engine_harness.h"

namespace mamori::engine::testing {
namespace {

// Many senders of one recipient each (new keys, each worth nothing) fill the
// budget many times over without resetting an account close to its quota.
TEST(MailVolume, AFloodOfNewSendersDoesNotResetAnAccountCloseToItsQuota) {
  state::MemoryBudget budget(1 << 20);
  MailVolume v(budget);
  const MailVolumeConfig config;
  EXPECT_FALSE(v.on_send(config, "alice", kT0, 290, true).over);
  for (int i = 0; budget.evictions() < 100'000; ++i)
    v.on_send(config, "sender" + std::to_string(i), kT0 + seconds(1), 1, true);
  EXPECT_TRUE(v.on_send(config, "alice", kT0 + minutes(1), 11, true).over);
  EXPECT_FALSE(v.on_send(config, "alice", kT0 + minutes(1), 10, true).over);
}

TEST(MailVolume, TopListsTheSendersOfTheHourWithTheirRefusals) {
  state::MemoryBudget budget(1 << 20);
  MailVolume v(budget);
  const MailVolumeConfig config;
  EXPECT_FALSE(v.on_send(config, "bob", kT0, 20, true).over);
  EXPECT_FALSE(v.on_send(config, "alice", kT0, 290, true).over);
  EXPECT_TRUE(v.on_send(config, "alice", kT0 + minutes(1), 20, true).over);
  EXPECT_TRUE(v.on_send(config, "alice", kT0 + minutes(2), 20, /*count=*/false).over);  // a check
  EXPECT_FALSE(v.on_send(config, "carol", kT0 - hours(2), 5, true).over);  // out of the hour
  auto top = v.top(config, kT0 + minutes(3), 10);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].account, "alice");
  EXPECT_EQ(top[0].hourly, 290u);
  EXPECT_EQ(top[0].deferred, 1u);
  EXPECT_EQ(top[1].account, "bob");
  EXPECT_EQ(top[1].deferred, 0u);
  EXPECT_EQ(v.top(config, kT0 + minutes(3), 1).size(), 1u);
  v.reset("alice");
  EXPECT_EQ(v.top(config, kT0 + minutes(3), 10).size(), 1u);
  EXPECT_TRUE(v.top(config, kT0 + hours(2), 10).empty());
}

TEST(MailVolume, RefusesTheSendThatWouldPassTheHourlyQuota) {
  state::MemoryBudget budget(1 << 20);
  MailVolume v(budget);
  const MailVolumeConfig config;
  for (int i = 0; i < 3; ++i)
    EXPECT_FALSE(v.on_send(config, "alice", kT0 + minutes(i), 100, true).over);
  const MailVolume::Check c = v.on_send(config, "alice", kT0 + minutes(3), 1, true);
  EXPECT_TRUE(c.over);
  EXPECT_EQ(c.sent, 300u);  // the refused recipient is not counted
  EXPECT_FALSE(v.on_send(config, "bob", kT0 + minutes(3), 1, true).over);  // per account
}

TEST(MailVolume, AWholeSendOverQuotaIsRefusedButASmallerOneFits) {
  state::MemoryBudget budget(1 << 20);
  MailVolume v(budget);
  const MailVolumeConfig config;
  EXPECT_FALSE(v.on_send(config, "alice", kT0, 250, true).over);
  EXPECT_TRUE(v.on_send(config, "alice", kT0 + seconds(1), 51, true).over);
  EXPECT_FALSE(v.on_send(config, "alice", kT0 + seconds(2), 50, true).over);
  EXPECT_TRUE(v.on_send(config, "alice", kT0 + seconds(3), 1, true).over);
}

TEST(MailVolume, TheHourlyQuotaFreesUpAsTheWindowMoves) {
  state::MemoryBudget budget(1 << 20);
  MailVolume v(budget);
  const MailVolumeConfig config;
  EXPECT_FALSE(v.on_send(config, "alice", kT0, 300, true).over);
  EXPECT_TRUE(v.on_send(config, "alice", kT0 + minutes(30), 1, true).over);
  EXPECT_FALSE(v.on_send(config, "alice", kT0 + minutes(61), 1, true).over);
}

TEST(MailVolume, TheDailyQuotaHoldsAcrossHours) {
  state::MemoryBudget budget(1 << 20);
  MailVolume v(budget);
  const MailVolumeConfig config;
  for (int h = 0; h < 4; ++h)
    EXPECT_FALSE(v.on_send(config, "alice", kT0 + hours(h) + minutes(h), 250, true).over) << h;
  const MailVolume::Check c = v.on_send(config, "alice", kT0 + hours(5), 1, true);
  EXPECT_TRUE(c.over);  // 1000 in the day, though the hour is empty
  EXPECT_EQ(c.sent, 0u);
  EXPECT_EQ(c.sent_daily, 1000u);
  EXPECT_FALSE(v.on_send(config, "alice", kT0 + hours(25), 1, true).over);
}

TEST(MailVolume, ADryRunAnswersWithoutCounting) {
  state::MemoryBudget budget(1 << 20);
  MailVolumeConfig config;
  config.threshold = 2;
  MailVolume v(budget);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(v.on_send(config, "alice", kT0, 1, false).over);
  EXPECT_FALSE(v.on_send(config, "alice", kT0, 2, true).over);
  EXPECT_TRUE(v.on_send(config, "alice", kT0, 1, false).over);
  EXPECT_FALSE(v.on_send(config, "alice", kT0, 0, false).over);  // nothing more to send
}

TEST(MailVolume, ResetForgetsTheAccountsCounts) {
  state::MemoryBudget budget(1 << 20);
  MailVolume v(budget);
  const MailVolumeConfig config;
  EXPECT_FALSE(v.on_send(config, "alice", kT0, 300, true).over);
  EXPECT_TRUE(v.on_send(config, "alice", kT0, 1, true).over);
  v.reset("alice");
  EXPECT_FALSE(v.on_send(config, "alice", kT0, 1, true).over);
}

Event mail_sent(std::string_view account, std::string_view from, TimePoint t, std::uint32_t n,
                bool dry_run = false) {
  Event e = EngineHarness::event(EventType::kMailSent, account, from, t);
  e.protocol = "smtp";
  e.recipient_count = n;
  e.dry_run = dry_run;
  return e;
}

// S3: mass mail from one account is deferred over quota, recorded as a
// mail_abuse incident, and sends again once an operator releases it.
TEST(Scenarios, S3_MailOverQuotaIsDeferredUntilTheOperatorReleasesIt) {
  EngineHarness h;
  const char* kIp = "198.51.100.20";
  int delivered = 0;
  Decision last;
  for (int i = 0; i < 40; ++i) {
    const TimePoint t = kT0 + seconds(10 * i);
    // Each message: a RCPT check, then the message with its 10 recipients.
    const Decision rcpt = h.process(mail_sent("spam@example.jp", kIp, t, 1, true)).decision;
    last = h.process(mail_sent("spam@example.jp", kIp, t + seconds(1), 10)).decision;
    if (last.action() == Action::kAllow) ++delivered;
    if (i >= 30) {
      EXPECT_EQ(rcpt.action(), Action::kDeny) << i;
    }
  }
  EXPECT_EQ(delivered, 30);
  EXPECT_EQ(last.action(), Action::kDeny);
  EXPECT_TRUE(last.has(Reason::kMailVolume)) << describe(last);
  EXPECT_FALSE(h.engine().locks().find("spam@example.jp"));  // deferred, not locked

  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0].kind, store::IncidentKind::kMailAbuse);
  EXPECT_EQ(incidents[0].sources, std::vector<std::string>{kIp});
  EXPECT_EQ(h.incident_account_names(incidents[0].id), std::set<std::string>{"spam@example.jp"});

  // Other mailboxes send as usual.
  EXPECT_EQ(h.process(mail_sent("carol@example.jp", kIp, kT0 + minutes(8), 10)).decision.action(),
            Action::kAllow);
  h.unlock("spam@example.jp", kT0 + minutes(9));
  EXPECT_EQ(h.process(mail_sent("spam@example.jp", kIp, kT0 + minutes(9), 10)).decision.action(),
            Action::kAllow);
}

TEST(MailVolumeEngine, ALockedAccountCannotSendAndAnAllowListedOneHasNoQuota) {
  EngineHarness h;
  h.lock("alice", true, kT0);
  const Decision d = h.process(mail_sent("alice", "192.0.2.1", kT0, 1)).decision;
  EXPECT_EQ(d.action(), Action::kDeny);
  EXPECT_TRUE(d.has(Reason::kAccountLocked));

  h.add_list(store::ListKind::kAllow, "account:news", kT0);
  EXPECT_EQ(h.process(mail_sent("news", "192.0.2.1", kT0, 5000)).decision.action(), Action::kAllow);
  // An allow-listed IP does not lift an account's quota.
  h.add_list(store::ListKind::kAllow, "192.0.2.9", kT0);
  EXPECT_EQ(h.process(mail_sent("bob", "192.0.2.9", kT0, 301)).decision.action(), Action::kDeny);
}

}  // namespace
}  // namespace mamori::engine::testing
