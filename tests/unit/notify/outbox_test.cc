#include "notify/outbox.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "notify/payload.h"
#include "store/embedded/embedded_store.h"
#include "testing/temp_dir.h"

namespace mamori::notify {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using store::OutboxChannel;

const TimePoint kT0 = from_unix_ms(1'795'435'200'000);  // 2026-11-23T12:00:00Z

IpAddress ip(std::string_view s) { return *IpAddress::parse(s); }

NotifyConfig config_with(bool smtp, std::vector<std::string> hooks) {
  NotifyConfig c;
  if (smtp) {
    c.smtp.host = "127.0.0.1";
    c.smtp.from = "Example <noreply@shop.example>";
  }
  for (auto& h : hooks) c.webhooks.push_back({std::move(h), "0123456789abcdef"});
  return c;
}

struct Fixture {
  explicit Fixture(NotifyConfig c = config_with(true, {"https://hooks.example/a"}))
      : config(std::move(c)), outbox(*store, *store, *store, config, ids, clock) {}

  mamori::testing::TempDir tmp;
  std::unique_ptr<store::EmbeddedStore> store = std::move(*store::EmbeddedStore::open(tmp.path()));
  ManualClock clock{kT0};
  engine::IdGenerator ids{7};
  NotifyConfig config;
  Outbox outbox;

  void contact(const std::string& account, store::Contact c) {
    ASSERT_TRUE(store->wait(store->put_contact(account, std::move(c))).ok());
  }
  std::vector<store::OutboxItem> items(OutboxChannel ch) {
    std::vector<store::OutboxItem> out;
    auto due = store->due_outbox(kT0 + minutes(60), 1000);
    EXPECT_TRUE(due.ok());
    if (!due) return out;
    for (auto& i : *due)
      if (i.channel == ch) out.push_back(std::move(i));
    return out;
  }
};

engine::OwnerNotice login_notice(std::string account) {
  engine::OwnerNotice n;
  n.kind = engine::NoticeKind::kNewLogin;
  n.account = std::move(account);
  n.event_id = "e1";
  n.time = kT0;
  n.ip = ip("203.0.113.5");
  n.where.country = "JP";
  n.where.city = "Osaka";
  n.user_agent = "Firefox";
  n.new_device = true;
  return n;
}

TEST(Outbox, NoContactQueuesNothing) {
  Fixture f;
  const auto q = f.outbox.notify_owner(login_notice("nobody"));
  EXPECT_FALSE(q.queued);
  EXPECT_EQ(q.ticket, 0u);
  EXPECT_TRUE(f.items(OutboxChannel::kEmail).empty());
}

TEST(Outbox, OptedOutOwnerGetsNothing) {
  Fixture f;
  f.contact("alice", store::Contact{"alice@example.jp", "ja", false, ""});
  EXPECT_FALSE(f.outbox.notify_owner(login_notice("alice")).queued);
  EXPECT_TRUE(f.items(OutboxChannel::kEmail).empty());
}

TEST(Outbox, WithoutSmtpNothingIsQueued) {
  Fixture f(config_with(false, {}));
  f.contact("alice", store::Contact{"alice@example.jp", "ja", true, ""});
  EXPECT_FALSE(f.outbox.notify_owner(login_notice("alice")).queued);
  EXPECT_TRUE(f.items(OutboxChannel::kEmail).empty());
}

TEST(Outbox, QueuesTheFactsWithTheOwnersLanguageAndZone) {
  Fixture f;
  f.contact("alice", store::Contact{"alice@example.jp", "ja", true, ""});
  const auto q = f.outbox.notify_owner(login_notice("alice"));
  ASSERT_TRUE(q.queued);
  ASSERT_TRUE(f.store->wait(q.ticket).ok());
  auto items = f.items(OutboxChannel::kEmail);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].destination, "alice@example.jp");
  EXPECT_EQ(items[0].created, kT0);
  auto facts = decode_notice(items[0].payload);
  ASSERT_TRUE(facts.ok()) << facts.error().message;
  EXPECT_EQ(facts->kind, engine::NoticeKind::kNewLogin);
  EXPECT_EQ(facts->account, "alice");
  EXPECT_EQ(facts->event_id, "e1");
  EXPECT_EQ(facts->time, kT0);
  EXPECT_EQ(facts->ip, "203.0.113.5");
  EXPECT_EQ(facts->city, "Osaka");
  EXPECT_EQ(facts->country, "JP");
  EXPECT_EQ(facts->user_agent, "Firefox");
  EXPECT_TRUE(facts->new_device);
  EXPECT_EQ(facts->lang, "ja");
  EXPECT_EQ(facts->time_zone, "Asia/Tokyo");  // the default for ja
}

TEST(Outbox, ToAddressOverridesTheContactAndZoneIsKept) {
  Fixture f;
  f.contact("alice", store::Contact{"new@attacker.example", "en", true, "Europe/Berlin"});
  engine::OwnerNotice n = login_notice("alice");
  n.kind = engine::NoticeKind::kAccountLocked;
  n.to_address = "old@example.jp";
  ASSERT_TRUE(f.store->wait(f.outbox.notify_owner(n).ticket).ok());
  auto items = f.items(OutboxChannel::kEmail);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].destination, "old@example.jp");
  EXPECT_EQ(decode_notice(items[0].payload)->time_zone, "Europe/Berlin");
}

TEST(Outbox, AlertQueuesOneItemPerWebhook) {
  Fixture f(config_with(true, {"https://hooks.example/a", "http://127.0.0.1:9/b"}));
  EXPECT_TRUE(f.outbox.alerts_enabled());
  engine::Alert a;
  a.event_id = "e9";
  a.account = "alice";
  a.ip = ip("192.0.2.1");
  a.time = kT0;
  a.decision.add(Action::kDeny, Reason::kBruteForce, 80);
  ASSERT_TRUE(f.store->wait(f.outbox.alert(a)).ok());
  auto items = f.items(OutboxChannel::kWebhook);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_NE(items[0].id, items[1].id);
  EXPECT_EQ(items[0].payload, items[1].payload);
  EXPECT_EQ(items[0].payload,
            R"({"type":"decision","event_id":"e9","event_type":"login_attempt","account":"alice",)"
            R"("ip":"192.0.2.1","country":"","city":"","time":"2026-11-23T12:00:00.000Z",)"
            R"("action":"deny","reasons":["brute_force"],"risk":80,"incident_id":null})");
  Fixture none(config_with(true, {}));
  EXPECT_FALSE(none.outbox.alerts_enabled());
  EXPECT_EQ(none.outbox.alert(a), 0u);
}

TEST(Outbox, PayloadRoundTripsAndBadPayloadIsRejected) {
  NoticeFacts f =
      notice_facts(login_notice("alice"), store::Contact{"a@b.example", "en", true, ""});
  f.reasons = {"risky_change", "new_location"};
  f.note = "ticket \"7\"";
  auto back = decode_notice(encode_notice(f));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(encode_notice(*back), encode_notice(f));
  EXPECT_EQ(back->reasons, f.reasons);
  EXPECT_EQ(back->time_zone, "UTC");
  for (const char* bad : {"", "[]", "{}", R"({"kind":"nope"})"}) {
    auto r = decode_notice(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "invalid_payload");
  }
}

// ---- the engine's triggers ----

struct EngineFixture : Fixture {
  EngineFixture()
      : Fixture(config_with(true, {"https://hooks.example/a"})), engine(cfg(), *store, 1) {
    engine.set_effects(&outbox);
  }
  static engine::EngineConfig cfg() {
    engine::EngineConfig c;
    c.brute_force.threshold = 3;
    return c;
  }
  engine::Outcome fail(const std::string& account, TimePoint t) {
    Event e;
    e.type = EventType::kLoginResult;
    e.account = account;
    e.ip = ip("203.0.113.5");
    e.time = t;
    e.success = false;
    e.pwhash = "h" + std::to_string(to_unix_ms(t));
    return engine.process(e);
  }
  engine::Engine engine;
};

TEST(EngineEffects, DecisionsAboveAllowAlertTheWebhooksAndTheAnswerWaitsForIt) {
  EngineFixture f;
  EXPECT_EQ(f.fail("alice", kT0).decision.action(), Action::kAllow);
  EXPECT_EQ(f.fail("alice", kT0 + seconds(1)).decision.action(), Action::kAllow);
  engine::Outcome o = f.fail("alice", kT0 + seconds(2));
  ASSERT_EQ(o.decision.action(), Action::kDeny);
  ASSERT_TRUE(f.store->wait(o.writes.last).ok());
  auto hooks = f.items(OutboxChannel::kWebhook);
  ASSERT_EQ(hooks.size(), 1u);  // the allowed ones sent nothing
  EXPECT_EQ(hooks[0].destination, "https://hooks.example/a");
  EXPECT_NE(hooks[0].payload.find("\"event_id\":\"" + o.event_id + "\""), std::string::npos);
  EXPECT_NE(hooks[0].payload.find("\"action\":\"deny\""), std::string::npos);
  EXPECT_NE(hooks[0].payload.find("\"reasons\":[\"brute_force\"]"), std::string::npos);
  EXPECT_FALSE(o.notified);
}

TEST(EngineEffects, OperatorLockNotifiesTheOwnerWithTheReason) {
  EngineFixture f;
  f.contact("alice", store::Contact{"alice@example.jp", "ja", true, ""});
  bool notified = false;
  const store::WriteSpan writes =
      f.engine.lock("alice", "support ticket 42", true, "operator", kT0, &notified);
  EXPECT_TRUE(notified);
  ASSERT_TRUE(f.store->wait(writes.last).ok());
  auto mails = f.items(OutboxChannel::kEmail);
  ASSERT_EQ(mails.size(), 1u);
  auto facts = decode_notice(mails[0].payload);
  ASSERT_TRUE(facts.ok());
  EXPECT_EQ(facts->kind, engine::NoticeKind::kAccountLocked);
  EXPECT_EQ(facts->note, "support ticket 42");
  EXPECT_TRUE(facts->password_reset_required);
  EXPECT_EQ(facts->reasons, std::vector<std::string>{"account_locked"});
  EXPECT_EQ(facts->ip, "");
  // Without a contact the lock still holds; nobody is told.
  EXPECT_FALSE(f.engine.lock("bob", "abuse", false, "operator", kT0, &notified).empty());
  EXPECT_FALSE(notified);
  EXPECT_TRUE(f.engine.locks().find("bob").has_value());
}

TEST(EngineEffects, WithoutEffectsNothingIsQueued) {
  mamori::testing::TempDir tmp;
  auto st = std::move(*store::EmbeddedStore::open(tmp.path()));
  engine::Engine e(EngineFixture::cfg(), *st, 1);
  bool notified = true;
  ASSERT_TRUE(st->wait(e.lock("alice", "x", false, "operator", kT0, &notified).last).ok());
  EXPECT_FALSE(notified);
  EXPECT_TRUE(st->due_outbox(kT0 + minutes(1), 10)->empty());
}

}  // namespace
}  // namespace mamori::notify
