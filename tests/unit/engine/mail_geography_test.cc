#include "engine/mail_geography.h"

#include <gtest/gtest.h>

#include <map>

#include "engine_harness.h"

namespace mamori::engine::testing {
namespace {

TEST(MailGeography, ThreeCountriesWithinAnHour) {
  state::MemoryBudget budget(1 << 20);
  MailGeography g(budget);
  const MailGeographyConfig config;
  EXPECT_FALSE(g.on_login(config, "alice", ip("192.0.2.1"), "JP", kT0).over);
  EXPECT_FALSE(g.on_login(config, "alice", ip("192.0.2.2"), "JP", kT0 + minutes(5)).over);
  EXPECT_FALSE(g.on_login(config, "alice", ip("198.51.100.1"), "US", kT0 + minutes(10)).over);
  EXPECT_FALSE(
      g.on_login(config, "bob", ip("203.0.113.1"), "BR", kT0 + minutes(11)).over);  // per mailbox
  const MailGeography::Spread s =
      g.on_login(config, "alice", ip("203.0.113.1"), "BR", kT0 + minutes(20));
  EXPECT_TRUE(s.over);
  EXPECT_EQ(s.countries.size(), 3u);
  EXPECT_EQ(s.ips.size(), 4u);
}

TEST(MailGeography, CountriesOutsideTheWindowAreForgotten) {
  state::MemoryBudget budget(1 << 20);
  MailGeography g(budget);
  const MailGeographyConfig config;
  EXPECT_FALSE(g.on_login(config, "alice", ip("192.0.2.1"), "JP", kT0).over);
  EXPECT_FALSE(g.on_login(config, "alice", ip("198.51.100.1"), "US", kT0 + minutes(30)).over);
  EXPECT_FALSE(g.on_login(config, "alice", ip("203.0.113.1"), "BR", kT0 + minutes(61)).over);
}

TEST(MailGeography, TenIpsWithinAnHourEvenFromOneCountry) {
  state::MemoryBudget budget(1 << 20);
  MailGeography g(budget);
  const MailGeographyConfig config;
  for (int i = 1; i <= 9; ++i)
    EXPECT_FALSE(
        g.on_login(config, "alice", ip("192.0.2." + std::to_string(i)), "JP", kT0 + minutes(i))
            .over)
        << i;
  // The same IP again is not a new one; an unknown country counts by IP only.
  EXPECT_FALSE(g.on_login(config, "alice", ip("192.0.2.9"), "JP", kT0 + minutes(10)).over);
  EXPECT_TRUE(g.on_login(config, "alice", ip("192.0.2.10"), "", kT0 + minutes(11)).over);
}

TEST(MailGeography, ResetStartsAfresh) {
  state::MemoryBudget budget(1 << 20);
  MailGeography g(budget);
  const MailGeographyConfig config;
  g.on_login(config, "alice", ip("192.0.2.1"), "JP", kT0);
  g.on_login(config, "alice", ip("198.51.100.1"), "US", kT0);
  EXPECT_TRUE(g.on_login(config, "alice", ip("203.0.113.1"), "BR", kT0).over);
  g.reset("alice");
  EXPECT_FALSE(g.on_login(config, "alice", ip("203.0.113.1"), "BR", kT0).over);
}

// S2: many SMTP AUTH logins to one mailbox from abroad, then spam. mamori
// locks the mailbox with a password reset required, refuses its logins and
// sends, records a mail_abuse incident; the operator's release restores it.
TEST(Scenarios, S2_SmtpAuthFromThreeCountriesLocksTheMailbox) {
  EngineHarness h;
  TableLocator where({{"192.0.2.10", "JP"}, {"198.51.100.10", "US"}, {"203.0.113.10", "BR"}});
  h.engine().set_locator(&where);
  EXPECT_LT(h.process(smtp_auth_login("box@example.jp", "192.0.2.10", kT0)).decision.action(),
            Action::kDeny);
  EXPECT_LT(h.process(smtp_auth_login("box@example.jp", "198.51.100.10", kT0 + minutes(3)))
                .decision.action(),
            Action::kDeny);
  // IMAP logins are not SMTP AUTH: they do not count.
  Event imap = smtp_auth_login("box@example.jp", "203.0.113.10", kT0 + minutes(4));
  imap.protocol = "imap";
  EXPECT_LT(h.process(imap).decision.action(), Action::kDeny);
  const Decision third =
      h.process(smtp_auth_login("box@example.jp", "203.0.113.10", kT0 + minutes(6))).decision;
  EXPECT_EQ(third.action(), Action::kLock) << describe(third);
  EXPECT_TRUE(third.has(Reason::kMailGeography));

  const auto lock = h.stored_lock("box@example.jp");
  ASSERT_TRUE(lock);
  EXPECT_TRUE(lock->password_reset_required);
  EXPECT_EQ(lock->by, "mail_geography");
  EXPECT_NE(lock->reason.find("BR"), std::string::npos) << lock->reason;

  // Its next send and login are refused.
  Event send = EngineHarness::event(EventType::kMailSent, "box@example.jp", "203.0.113.10",
                                    kT0 + minutes(7));
  send.recipient_count = 1;
  EXPECT_TRUE(h.process(send).decision.has(Reason::kAccountLocked));
  const Decision login = h.attempt("box@example.jp", "192.0.2.10", kT0 + minutes(8));
  EXPECT_EQ(login.action(), Action::kDeny);
  EXPECT_TRUE(login.has(Reason::kAccountLocked));

  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0].kind, store::IncidentKind::kMailAbuse);
  EXPECT_EQ(incidents[0].sources.size(), 3u);

  // Released by the operator, the owner logs in from home again.
  h.unlock("box@example.jp", kT0 + minutes(9));
  EXPECT_LT(h.process(smtp_auth_login("box@example.jp", "192.0.2.10", kT0 + minutes(10)))
                .decision.action(),
            Action::kDeny);
}

TEST(MailGeographyEngine, FailedLoginsAndAllowListedMailboxesDoNotCount) {
  EngineHarness h;
  TableLocator where({{"192.0.2.10", "JP"}, {"198.51.100.10", "US"}, {"203.0.113.10", "BR"}});
  h.engine().set_locator(&where);
  for (const char* from : {"192.0.2.10", "198.51.100.10", "203.0.113.10"}) {
    Event e = smtp_auth_login("box", from, kT0);
    e.success = false;
    h.process(e);
  }
  EXPECT_LT(h.process(smtp_auth_login("box", "192.0.2.10", kT0)).decision.action(), Action::kDeny);
  h.add_list(store::ListKind::kAllow, "account:travel", kT0);
  for (const char* from : {"192.0.2.10", "198.51.100.10", "203.0.113.10"})
    EXPECT_LT(h.process(smtp_auth_login("travel", from, kT0)).decision.action(), Action::kDeny);
}

class FixedBlocklist : public Blocklist {
 public:
  std::string listed(const IpAddress& a) const override {
    return a.to_string() == "192.0.2.66" ? "zen.example" : "";
  }
};

TEST(Dnsbl, AListedIpAddsRiskToALoginButNeverDeniesItAlone) {
  EngineHarness h;
  FixedBlocklist bl;
  h.engine().set_blocklist(&bl);
  const Decision d = h.attempt("alice", "192.0.2.66", kT0);
  EXPECT_EQ(d.action(), Action::kAllow);
  EXPECT_TRUE(d.has(Reason::kDnsbl));
  EXPECT_GE(d.risk(), kRiskDnsbl);
  EXPECT_FALSE(h.attempt("alice", "192.0.2.67", kT0).has(Reason::kDnsbl));
}

TEST(Dnsbl, InboundClientsListedAreDeniedUnlessAllowListed) {
  EngineHarness h;
  const Decision listed = h.engine().check_inbound(ip("192.0.2.66"), "zen.example", kT0);
  EXPECT_EQ(listed.action(), Action::kDeny);
  EXPECT_TRUE(listed.has(Reason::kDnsbl));
  EXPECT_EQ(h.engine().check_inbound(ip("192.0.2.67"), "", kT0).action(), Action::kAllow);
  h.add_list(store::ListKind::kDeny, "198.51.100.0/24", kT0);
  const Decision denied = h.engine().check_inbound(ip("198.51.100.7"), "", kT0);
  EXPECT_EQ(denied.action(), Action::kDeny);
  EXPECT_TRUE(denied.has(Reason::kDenyList));
  h.add_list(store::ListKind::kAllow, "192.0.2.66", kT0);
  EXPECT_EQ(h.engine().check_inbound(ip("192.0.2.66"), "zen.example", kT0).action(),
            Action::kAllow);
}

}  // namespace
}  // namespace mamori::engine::testing
