// Incidents look back: the accounts a source touched before its incident
// opened, failures and successes, belong to it, and the logins that worked
// count as compromised.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine_harness.h"

namespace mamori::engine::testing {
namespace {

std::set<std::string> compromised(EngineHarness& h, const std::string& id) {
  std::set<std::string> out;
  for (const auto& a : h.incident_accounts(id))
    if (a.login_succeeded) out.insert(a.account);
  return out;
}

bool affected(EngineHarness& h, const std::string& account, const std::string& id) {
  auto r = h.store().incidents_for_account(account);
  EXPECT_TRUE(r.ok());
  if (!r.ok()) return false;
  for (const auto& i : *r)
    if (i.id == id) return true;
  return false;
}

// S3: a stuffing IP whose third login worked, and two more before the
// threshold. Its incident, opened at the 20th failing account, counts the
// three as compromised, and "was my ID affected?" says yes for them.
TEST(Scenarios, S3_StuffingLoginsThatWorkedBeforeTheThresholdAreCompromised) {
  EngineHarness h;
  constexpr const char* kStuffer = "203.0.113.90";
  const std::set<int> works = {2, 7, 13};
  std::set<std::string> worked;
  int failing = 0;
  for (int i = 0; failing < 20; ++i) {
    const std::string acct = "leak" + std::to_string(i);
    const TimePoint t = kT0 + seconds(i);
    if (works.contains(i)) {
      EXPECT_LT(h.succeed(acct, kStuffer, t).action(), Action::kDeny) << acct;
      worked.insert(acct);
    } else {
      h.fail(acct, kStuffer, t);
      ++failing;
    }
  }
  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  const store::Incident& inc = incidents[0];
  EXPECT_EQ(inc.kind, store::IncidentKind::kCredentialStuffing);
  EXPECT_EQ(inc.accounts_targeted, 23);
  EXPECT_EQ(inc.accounts_compromised, 3);
  EXPECT_EQ(compromised(h, inc.id), worked);
  EXPECT_EQ(h.incident_accounts(inc.id).size(), 23u);
  // It started with the first login it looks back on.
  EXPECT_EQ(inc.started, kT0);
  for (const std::string& a : worked) {
    EXPECT_TRUE(affected(h, a, inc.id)) << a;
    const auto touched = h.incident_account(inc.id, a);
    ASSERT_TRUE(touched) << a;
    EXPECT_EQ(touched->first_seen, kT0 + seconds(std::stoi(a.substr(4))));
  }
  EXPECT_TRUE(affected(h, "leak0", inc.id));
}

TEST(IncidentLookback, AnAccountFailedThenLoggedIntoCountsOnceAsCompromised) {
  EngineHarness h;
  constexpr const char* kStuffer = "203.0.113.91";
  h.fail("victim", kStuffer, kT0);
  h.succeed("victim", kStuffer, kT0 + seconds(1));
  for (int i = 0; i < 19; ++i) h.fail("other" + std::to_string(i), kStuffer, kT0 + seconds(2 + i));
  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0].accounts_targeted, 20);
  EXPECT_EQ(incidents[0].accounts_compromised, 1);
  EXPECT_EQ(compromised(h, incidents[0].id), std::set<std::string>{"victim"});
}

TEST(IncidentLookback, LoginsOutsideTheWindowAreNotLookedBackOn) {
  EngineHarness h;
  constexpr const char* kStuffer = "203.0.113.92";
  h.fail("early-fail", kStuffer, kT0);
  h.succeed("early-win", kStuffer, kT0 + seconds(1));
  // Eleven minutes later (the window is ten), twenty failing accounts.
  for (int i = 0; i < 20; ++i)
    h.fail("late" + std::to_string(i), kStuffer, kT0 + minutes(11) + seconds(i));
  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0].accounts_targeted, 20);
  EXPECT_EQ(incidents[0].accounts_compromised, 0);
  EXPECT_FALSE(affected(h, "early-win", incidents[0].id));
}

TEST(IncidentLookback, ASuccessFromAnIpThatNeverFailedCostsNoHotState) {
  EngineHarness h;
  h.succeed("warm-up", "198.51.100.1", kT0);  // the profile's entry
  const std::size_t before = h.engine().hot_state().entries;
  for (int i = 0; i < 50; ++i)
    h.succeed("warm-up", "198.51.100." + std::to_string(10 + i), kT0 + seconds(i));
  EXPECT_EQ(h.engine().hot_state().entries, before);
}

TEST(IncidentLookback, ANetworkIncidentCountsTheLoginsThatWorkedFromAnyOfItsAddresses) {
  EngineConfig cfg;
  cfg.credential_stuffing.threshold = 1000;  // no address alone fires
  cfg.credential_stuffing.network_threshold = 30;
  EngineHarness h(cfg);
  // Three addresses of one /24, ten accounts each; two logins work.
  int n = 0;
  for (int ip = 1; ip <= 3; ++ip) {
    const std::string from = "198.51.100." + std::to_string(ip);
    for (int i = 0; i < 10; ++i, ++n) {
      const std::string acct = "net" + std::to_string(n);
      if (n == 4 || n == 15) h.succeed(acct, from, kT0 + seconds(n));
      h.fail(acct + "-f", from, kT0 + seconds(n));
    }
  }
  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0].sources, std::vector<std::string>{"198.51.100.0/24"});
  EXPECT_EQ(incidents[0].accounts_compromised, 2);
  EXPECT_EQ(compromised(h, incidents[0].id), (std::set<std::string>{"net4", "net15"}));
}

TEST(IncidentLookback, ASprayCountsTheAccountsItsPasswordOpened) {
  EngineHarness h;
  constexpr const char* kPassword = "Summer2026!";
  // Nine accounts refuse the sprayed password, two accept it, from
  // addresses of different networks; the tenth refusal opens the incident.
  for (int i = 0; i < 9; ++i)
    h.fail("spray" + std::to_string(i), "192.0." + std::to_string(i) + ".7", kT0 + seconds(i),
           kPassword);
  for (int i = 0; i < 2; ++i) {
    Event e = EngineHarness::event(EventType::kLoginResult, "opened" + std::to_string(i),
                                   "198.18." + std::to_string(i) + ".7", kT0 + seconds(10 + i),
                                   kPassword);
    e.success = true;
    h.process(e);
  }
  EXPECT_DECISION(h.fail("spray9", "192.0.9.7", kT0 + seconds(20), kPassword), Action::kDeny,
                  Reason::kPasswordSpray);
  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0].kind, store::IncidentKind::kPasswordSpray);
  EXPECT_EQ(incidents[0].accounts_targeted, 12);
  EXPECT_EQ(incidents[0].accounts_compromised, 2);
  EXPECT_EQ(compromised(h, incidents[0].id), (std::set<std::string>{"opened0", "opened1"}));
}

TEST(IncidentLookback, LaterLoginsThatWorkWhileItIsOpenAreCompromisedToo) {
  EngineHarness h;
  constexpr const char* kStuffer = "203.0.113.93";
  for (int i = 0; i < 20; ++i) h.fail("u" + std::to_string(i), kStuffer, kT0 + seconds(i));
  // The app ignores the deny and reports a result that worked: the account
  // is locked until its password is reset.
  EXPECT_DECISION(h.succeed("late-win", kStuffer, kT0 + minutes(5)), Action::kLock,
                  Reason::kCredentialStuffing);
  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0].accounts_compromised, 1);
  EXPECT_EQ(compromised(h, incidents[0].id), std::set<std::string>{"late-win"});
}

// ---- mail incidents ----

// S2: a mailbox locked after SMTP AUTH logins from three countries: its
// incident counts it compromised, and the lock's alert names the incident.
TEST(Scenarios, S2_MailGeographyCountsTheMailboxCompromisedAndAlertsWithTheIncident) {
  EngineHarness h;
  TableLocator where({{"192.0.2.10", "JP"}, {"198.51.100.10", "US"}, {"203.0.113.10", "BR"}});
  RecordingEffects effects;
  h.engine().set_locator(&where);
  h.engine().set_effects(&effects);
  h.process(smtp_auth_login("box@example.jp", "192.0.2.10", kT0));
  h.process(smtp_auth_login("box@example.jp", "198.51.100.10", kT0 + minutes(1)));
  const Outcome third =
      h.process(smtp_auth_login("box@example.jp", "203.0.113.10", kT0 + minutes(2)));
  ASSERT_EQ(third.decision.action(), Action::kLock) << describe(third.decision);

  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0].kind, store::IncidentKind::kMailAbuse);
  EXPECT_EQ(incidents[0].accounts_compromised, 1);
  EXPECT_EQ(compromised(h, incidents[0].id), std::set<std::string>{"box@example.jp"});
  EXPECT_TRUE(affected(h, "box@example.jp", incidents[0].id));

  ASSERT_FALSE(effects.alerts.empty());
  const Alert& lock = effects.alerts.back();
  EXPECT_EQ(lock.event_id, third.event_id);
  EXPECT_EQ(lock.incident_id, incidents[0].id);
}

TEST(IncidentLookback, AMailboxOverQuotaIsTouchedNotCompromisedAndItsAlertNamesTheIncident) {
  EngineConfig cfg;
  cfg.mail_volume.threshold = 5;
  EngineHarness h(cfg);
  RecordingEffects effects;
  h.engine().set_effects(&effects);
  Event send = EngineHarness::event(EventType::kMailSent, "bulk@example.jp", "192.0.2.20", kT0);
  send.protocol = "smtp";
  send.recipient_count = 5;
  EXPECT_EQ(h.process(send).decision.action(), Action::kAllow);
  send.time = kT0 + seconds(1);
  send.recipient_count = 1;
  const Outcome over = h.process(send);
  ASSERT_EQ(over.decision.action(), Action::kDeny);

  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0].accounts_targeted, 1);
  EXPECT_EQ(incidents[0].accounts_compromised, 0);
  ASSERT_EQ(effects.alerts.size(), 1u);
  EXPECT_EQ(effects.alerts[0].event_id, over.event_id);
  EXPECT_EQ(effects.alerts[0].incident_id, incidents[0].id);
}

// ---- the owners of compromised accounts (S3) ----

// Stuffs 20 failing accounts from `from`, the third login working (on
// "got-in"). Returns the incident's id.
std::string stuff_with_one_success(EngineHarness& h, const char* from) {
  h.fail("f0", from, kT0);
  h.fail("f1", from, kT0 + seconds(1));
  EXPECT_LT(h.succeed("got-in", from, kT0 + seconds(2)).action(), Action::kDeny);
  for (int i = 2; i < 20; ++i) h.fail("f" + std::to_string(i), from, kT0 + seconds(1 + i));
  const auto incidents = h.incidents();
  EXPECT_EQ(incidents.size(), 1u);
  return incidents.empty() ? std::string() : incidents[0].id;
}

TEST(Scenarios, S3_AnAccountTheStufferGotIntoIsLockedUntilItsPasswordIsReset) {
  EngineHarness h;
  RecordingEffects effects;
  h.engine().set_effects(&effects);
  const std::string id = stuff_with_one_success(h, "203.0.113.94");
  const auto lock = h.stored_lock("got-in");
  ASSERT_TRUE(lock);
  EXPECT_TRUE(lock->password_reset_required);
  EXPECT_EQ(lock->by, "credential_stuffing");
  EXPECT_NE(lock->reason.find(id), std::string::npos) << lock->reason;
  EXPECT_FALSE(h.stored_lock("f0"));  // failures alone never lock
  // Its owner is told: the lock notice, password reset required.
  std::vector<OwnerNotice> told;
  for (const OwnerNotice& n : effects.notices)
    if (n.account == "got-in") told.push_back(n);
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0].kind, NoticeKind::kCompromised);
  EXPECT_EQ(told[0].incident_id, id);
  EXPECT_TRUE(told[0].locked);
  EXPECT_TRUE(told[0].password_reset_required);
  EXPECT_EQ(told[0].reasons, std::vector<Reason>{Reason::kCredentialStuffing});
  EXPECT_EQ(told[0].ip.to_string(), "203.0.113.94");
  // Refused until the owner resets the password, then usable again.
  EXPECT_DECISION(h.attempt("got-in", "192.0.2.200", kT0 + minutes(1)), Action::kDeny,
                  Reason::kAccountLocked);
  h.account_event(EventType::kPasswordChanged, "got-in", "192.0.2.200", kT0 + minutes(2));
  EXPECT_LT(h.attempt("got-in", "192.0.2.200", kT0 + minutes(3)).action(), Action::kDeny);
}

TEST(IncidentLookback, WithoutRequirePasswordResetACompromisedAccountStaysUsable) {
  EngineConfig cfg;
  cfg.credential_stuffing.require_password_reset = false;
  EngineHarness h(cfg);
  RecordingEffects effects;
  h.engine().set_effects(&effects);
  const std::string id = stuff_with_one_success(h, "203.0.113.95");
  EXPECT_EQ(compromised(h, id), std::set<std::string>{"got-in"});
  EXPECT_FALSE(h.stored_lock("got-in"));
  for (const OwnerNotice& n : effects.notices) EXPECT_NE(n.account, "got-in");
}

TEST(IncidentLookback, AnAccountTheSprayedPasswordOpenedIsLocked) {
  EngineHarness h;
  constexpr const char* kPassword = "Winter2026!";
  Event e = EngineHarness::event(EventType::kLoginResult, "opened", "198.18.0.9", kT0, kPassword);
  h.fail("s0", "192.0.0.7", kT0, kPassword);
  e.success = true;
  e.time = kT0 + seconds(1);
  h.process(e);
  for (int i = 1; i < 10; ++i)
    h.fail("s" + std::to_string(i), "192.0." + std::to_string(i) + ".7", kT0 + seconds(1 + i),
           kPassword);
  const auto lock = h.stored_lock("opened");
  ASSERT_TRUE(lock);
  EXPECT_TRUE(lock->password_reset_required);
  EXPECT_EQ(lock->by, "password_spray");
}

}  // namespace
}  // namespace mamori::engine::testing
