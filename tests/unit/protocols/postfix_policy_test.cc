#include "protocols/postfix/postfix_policy.h"

#include <gtest/gtest.h>

#include "engine/engine_harness.h"

namespace mamori::postfix {
namespace {

using engine::testing::EngineHarness;

// A clock the test sets.
class TestClock : public Clock {
 public:
  TimePoint now() const override { return t; }
  TimePoint t = engine::testing::kT0;
};

std::string ask(PostfixPolicy& p, ConnectionState& st, const std::string& text) {
  auto a = Attributes::parse(text);
  EXPECT_TRUE(a.ok());
  std::string out = "(none)";
  p.decide(*a, st, [&](std::string action, store::WriteSpan) { out = std::move(action); });
  return out;
}

std::string req(std::string_view stage, std::string_view ip, std::string_view sasl = "",
                std::string_view extra = "") {
  return "request=smtpd_access_policy\nprotocol_state=" + std::string(stage) +
         "\nclient_address=" + std::string(ip) + "\nsasl_username=" + std::string(sasl) + "\n" +
         std::string(extra);
}

TEST(PostfixAttributes, ParsesLinesAndRefusesLinesWithoutEquals) {
  auto a = Attributes::parse("request=smtpd_access_policy\nsender=a=b@x\r\nempty=\n");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->get("sender"), "a=b@x");
  EXPECT_EQ(a->get("empty"), "");
  EXPECT_EQ(a->get("missing"), "");
  EXPECT_EQ(Attributes::parse("request\n").error().code, "invalid_request");
  EXPECT_EQ(Attributes::parse("=x\n").error().code, "invalid_request");
}

TEST(PostfixPolicy, RecipientsAreCountedOncePerTransaction) {
  engine::EngineConfig config;
  config.mail_volume.threshold = 3;
  EngineHarness h(config);
  TestClock clock;
  PostfixPolicy p(h.engine(), nullptr, clock);
  ConnectionState st;
  EXPECT_EQ(ask(p, st, req("RCPT", "192.0.2.1", "alice")), "DUNNO");
  // DATA and END-OF-MESSAGE of one transaction count its 2 recipients once.
  EXPECT_EQ(ask(p, st, req("DATA", "192.0.2.1", "alice", "recipient_count=2\ninstance=i1\n")), "DUNNO");
  EXPECT_EQ(ask(p, st, req("END-OF-MESSAGE", "192.0.2.1", "alice", "recipient_count=2\ninstance=i1\n")),
            "DUNNO");
  EXPECT_EQ(ask(p, st, req("RCPT", "192.0.2.1", "alice")), "DUNNO");  // 2 + 1 fits 3
  const std::string over =
      ask(p, st, req("END-OF-MESSAGE", "192.0.2.1", "alice", "recipient_count=2\ninstance=i2\n"));
  EXPECT_EQ(over.rfind("DEFER_IF_PERMIT mamori: alice is over its sending quota (3 recipients per 1h", 0),
            0u) << over;
  EXPECT_NE(over.find("); try again in 60 minutes or contact support"), std::string::npos) << over;
  EXPECT_EQ(ask(p, st, req("END-OF-MESSAGE", "192.0.2.1", "alice", "recipient_count=1\ninstance=i3\n")),
            "DUNNO");
  EXPECT_EQ(ask(p, st, req("RCPT", "192.0.2.1", "alice")).substr(0, 15), "DEFER_IF_PERMIT");
  // Released: sends again.
  h.unlock("alice", clock.t);
  EXPECT_EQ(ask(p, st, req("RCPT", "192.0.2.1", "alice")), "DUNNO");
}

TEST(PostfixPolicy, LockedSendersAndDenyListedClientsAreRejected) {
  EngineHarness h;
  TestClock clock;
  PostfixPolicy p(h.engine(), nullptr, clock);
  ConnectionState st;
  h.lock("bob", true, clock.t);
  EXPECT_EQ(ask(p, st, req("MAIL", "192.0.2.1", "Bob")),
            "REJECT mamori: account bob is locked; reset the password or contact support");
  h.add_list(store::ListKind::kDeny, "198.51.100.0/24", clock.t);
  EXPECT_EQ(ask(p, st, req("RCPT", "198.51.100.9")),
            "REJECT mamori: mail from 198.51.100.9 is refused (deny list)");
  EXPECT_EQ(ask(p, st, req("RCPT", "192.0.2.9")), "DUNNO");
  // Not a policy request, or no usable client address: no opinion.
  EXPECT_EQ(ask(p, st, "request=other\n"), "DUNNO");
  EXPECT_EQ(ask(p, st, req("RCPT", "unknown", "carol")), "DUNNO");
}

TEST(PostfixPolicy, SpellingsOfOneSaslUsernameAreOneAccount) {
  engine::EngineConfig config;
  config.mail_volume.threshold = 4;
  EngineHarness h(config);
  TestClock clock;
  PostfixPolicy p(h.engine(), nullptr, clock);
  ConnectionState st;
  // Fullwidth, zero-width space, no-break space, upper case: one sender,
  // one quota of 4 recipients.
  const char* spellings[] = {"\uff42\uff4f\uff42", "b\u200bob", "\u00a0bob", "BOB"};
  int n = 0;
  for (const char* name : spellings) {
    const std::string instance = "instance=i" + std::to_string(n++) + "\n";
    EXPECT_EQ(
        ask(p, st, req("END-OF-MESSAGE", "192.0.2.1", name, "recipient_count=1\n" + instance)),
        "DUNNO")
        << name;
  }
  EXPECT_EQ(ask(p, st, req("RCPT", "192.0.2.1", "bob")).rfind("DEFER_IF_PERMIT mamori: bob ", 0),
            0u);
  h.lock("bob", true, clock.t);
  EXPECT_EQ(ask(p, st, req("MAIL", "192.0.2.1", "\uff22\uff2f\uff22")),  // ＢＯＢ
            "REJECT mamori: account bob is locked; reset the password or contact support");
}

// Keeps the alerts the engine asks to send.
class AlertLog final : public engine::Effects {
 public:
  Queued notify_owner(const engine::OwnerNotice&) override { return {0, false}; }
  store::WriteTicket alert(const engine::Alert& a) override {
    alerts.push_back(a);
    return 0;
  }
  std::vector<engine::Alert> alerts;
};

// The operator's alert says what Postfix was told: a deferral is `defer`
// (not the engine's `deny`), a rejection `deny`, with the answer as sent.
TEST(PostfixPolicy, AlertsSayWhatPostfixWasTold) {
  engine::EngineConfig config;
  config.mail_volume.threshold = 1;
  EngineHarness h(config);
  AlertLog effects;
  h.engine().set_effects(&effects);
  TestClock clock;
  PostfixPolicy p(h.engine(), nullptr, clock);
  ConnectionState st;
  EXPECT_EQ(
      ask(p, st, req("END-OF-MESSAGE", "192.0.2.1", "dave", "recipient_count=1\ninstance=i1\n")),
      "DUNNO");
  const std::string deferred = ask(p, st, req("RCPT", "192.0.2.1", "dave"));
  ASSERT_EQ(deferred.rfind("DEFER_IF_PERMIT", 0), 0u) << deferred;
  ASSERT_EQ(effects.alerts.size(), 1u);
  EXPECT_EQ(effects.alerts[0].client_action(), "defer");
  EXPECT_EQ(effects.alerts[0].decision.action(), Action::kDeny);
  EXPECT_EQ(effects.alerts[0].answer.reply, deferred);
  EXPECT_FALSE(effects.alerts[0].incident_id.empty());

  h.lock("dave", true, clock.t);
  const std::string rejected = ask(p, st, req("MAIL", "192.0.2.1", "dave"));
  ASSERT_EQ(rejected.rfind("REJECT", 0), 0u) << rejected;
  ASSERT_EQ(effects.alerts.size(), 2u);
  EXPECT_EQ(effects.alerts[1].client_action(), "deny");
  EXPECT_EQ(effects.alerts[1].answer.reply, rejected);
}

}  // namespace
}  // namespace mamori::postfix
