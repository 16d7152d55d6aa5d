#include "engine/lists.h"

#include <gtest/gtest.h>

#include <string>

#include "engine/engine.h"
#include "engine_harness.h"

namespace mamori::engine::testing {
namespace {

using store::ListKind;

TEST(Lists, DenyIpRefusesThatIpOnly) {
  EngineHarness h;
  h.add_list(ListKind::kDeny, "203.0.113.5", kT0);
  const Decision d = h.attempt("alice", "203.0.113.5", kT0 + seconds(1));
  EXPECT_DECISION(d, Action::kDeny, Reason::kDenyList);
  EXPECT_EQ(d.risk(), kRiskDenyList);
  EXPECT_DECISION(h.succeed("alice", "203.0.113.5", kT0 + seconds(2)), Action::kDeny,
                  Reason::kDenyList);
  EXPECT_ALLOWED(h.attempt("alice", "203.0.113.6", kT0 + seconds(1)));
}

TEST(Lists, DenyIpMatchesItsIpv4MappedForm) {
  EngineHarness h;
  h.add_list(ListKind::kDeny, "203.0.113.5", kT0);
  EXPECT_DECISION(h.attempt("alice", "::ffff:203.0.113.5", kT0 + seconds(1)), Action::kDeny,
                  Reason::kDenyList);
}

TEST(Lists, DenyV4CidrRefusesEveryAddressInside) {
  EngineHarness h;
  h.add_list(ListKind::kDeny, "198.51.100.0/24", kT0);
  EXPECT_DECISION(h.attempt("alice", "198.51.100.0", kT0 + seconds(1)), Action::kDeny,
                  Reason::kDenyList);
  EXPECT_DECISION(h.attempt("alice", "198.51.100.255", kT0 + seconds(1)), Action::kDeny,
                  Reason::kDenyList);
  EXPECT_ALLOWED(h.attempt("alice", "198.51.101.0", kT0 + seconds(1)));
  EXPECT_ALLOWED(h.attempt("alice", "198.51.99.255", kT0 + seconds(1)));
}

TEST(Lists, DenyV6CidrRefusesEveryAddressInside) {
  EngineHarness h;
  h.add_list(ListKind::kDeny, "2001:db8:dead::/48", kT0);
  EXPECT_DECISION(h.attempt("alice", "2001:db8:dead::1", kT0 + seconds(1)), Action::kDeny,
                  Reason::kDenyList);
  EXPECT_DECISION(h.attempt("alice", "2001:db8:dead:ffff:1:2:3:4", kT0 + seconds(1)), Action::kDeny,
                  Reason::kDenyList);
  EXPECT_ALLOWED(h.attempt("alice", "2001:db8:deae::1", kT0 + seconds(1)));
  EXPECT_ALLOWED(h.attempt("alice", "198.51.100.1", kT0 + seconds(1)));
}

TEST(Lists, DenyV6SingleAddress) {
  EngineHarness h;
  h.add_list(ListKind::kDeny, "2001:db8::bad", kT0);
  EXPECT_DECISION(h.attempt("alice", "2001:db8::bad", kT0 + seconds(1)), Action::kDeny,
                  Reason::kDenyList);
  EXPECT_ALLOWED(h.attempt("alice", "2001:db8::bac", kT0 + seconds(1)));
}

TEST(Lists, NestedCidrsBothMatch) {
  EngineHarness h;
  h.add_list(ListKind::kDeny, "10.0.0.0/8", kT0);
  h.add_list(ListKind::kDeny, "10.1.2.0/24", kT0);
  EXPECT_DECISION(h.attempt("alice", "10.1.2.3", kT0 + seconds(1)), Action::kDeny,
                  Reason::kDenyList);
  EXPECT_DECISION(h.attempt("alice", "10.200.0.1", kT0 + seconds(1)), Action::kDeny,
                  Reason::kDenyList);
  EXPECT_ALLOWED(h.attempt("alice", "11.0.0.1", kT0 + seconds(1)));
}

TEST(Lists, DenyAccountRefusesItFromEverywhere) {
  EngineHarness h;
  h.add_list(ListKind::kDeny, "account:  Mallory ", kT0);
  EXPECT_DECISION(h.attempt("mallory", "192.0.2.1", kT0 + seconds(1)), Action::kDeny,
                  Reason::kDenyList);
  EXPECT_DECISION(h.attempt("mallory", "2001:db8::1", kT0 + seconds(1)), Action::kDeny,
                  Reason::kDenyList);
  EXPECT_ALLOWED(h.attempt("alice", "192.0.2.1", kT0 + seconds(1)));
}

TEST(Lists, DenyAppliesToAccountEventsToo) {
  EngineHarness h;
  h.add_list(ListKind::kDeny, "account:mallory", kT0);
  EXPECT_DECISION(
      h.account_event(EventType::kMessageSent, "mallory", "192.0.2.1", kT0 + seconds(1)),
      Action::kDeny, Reason::kDenyList);
}

TEST(Lists, AllowIpSkipsBruteForce) {
  EngineHarness h;
  h.add_list(ListKind::kAllow, "192.0.2.50", kT0);
  for (int i = 0; i < 15; ++i)
    EXPECT_ALLOWED(h.fail("alice", "192.0.2.50", kT0 + seconds(i), "pw" + std::to_string(i)))
        << "failure " << i + 1;
  EXPECT_ALLOWED(h.attempt("alice", "192.0.2.50", kT0 + seconds(20)));
  EXPECT_TRUE(h.engine().blocks().active(kT0 + seconds(20)).empty());
  // The same failures from an address not on the list are denied at ten.
  Decision d;
  for (int i = 0; i < 10; ++i)
    d = h.fail("alice", "192.0.2.51", kT0 + seconds(30 + i), "pw" + std::to_string(i));
  EXPECT_DECISION(d, Action::kDeny, Reason::kBruteForce);
}

TEST(Lists, AllowCidrSkipsCredentialStuffing) {
  EngineHarness h;
  h.add_list(ListKind::kAllow, "192.0.2.0/28", kT0);
  for (int i = 0; i < 30; ++i)
    EXPECT_ALLOWED(h.fail("user" + std::to_string(i), "192.0.2.9", kT0 + seconds(i))) << i;
  EXPECT_TRUE(h.incidents().empty());
}

TEST(Lists, EntryExpiresByTtlAtEventTime) {
  EngineHarness h;
  h.add_list(ListKind::kDeny, "203.0.113.9", kT0, minutes(10));
  EXPECT_DECISION(h.attempt("alice", "203.0.113.9", kT0 + minutes(9) + seconds(59)), Action::kDeny,
                  Reason::kDenyList);
  // No maintenance ran: the event's own time decides.
  EXPECT_ALLOWED(h.attempt("alice", "203.0.113.9", kT0 + minutes(10)));
  EXPECT_TRUE(h.engine().lists().entries(ListKind::kDeny, kT0 + minutes(10)).empty());
  EXPECT_EQ(h.engine().lists().entries(ListKind::kDeny, kT0 + minutes(9)).size(), 1u);
}

TEST(Lists, AllowEntryExpiresByTtl) {
  EngineHarness h;
  h.add_list(ListKind::kAllow, "192.0.2.50", kT0, minutes(1));
  for (int i = 0; i < 10; ++i)
    h.fail("alice", "192.0.2.50", kT0 + minutes(2) + seconds(i), "pw" + std::to_string(i));
  EXPECT_DECISION(h.attempt("alice", "192.0.2.50", kT0 + minutes(3)), Action::kDeny,
                  Reason::kBruteForce);
}

// Two entries for one target: the one still active decides, whichever was
// added first.
TEST(Lists, PermanentEntryOutlivesAnEarlierExpiringOneForTheSameIp) {
  EngineHarness h;
  h.add_list(ListKind::kDeny, "203.0.113.9", kT0, minutes(10));
  h.add_list(ListKind::kDeny, "203.0.113.9", kT0 + minutes(1));
  EXPECT_EQ(h.engine().lists().entries(ListKind::kDeny, kT0 + minutes(20)).size(), 1u);
  EXPECT_DECISION(h.attempt("alice", "203.0.113.9", kT0 + minutes(20)), Action::kDeny,
                  Reason::kDenyList);
}

TEST(Lists, PermanentEntryOutlivesAnEarlierExpiringOneForTheSameAccount) {
  EngineHarness h;
  h.add_list(ListKind::kDeny, "account:mallory", kT0, minutes(10));
  h.add_list(ListKind::kDeny, "account:mallory", kT0 + minutes(1));
  EXPECT_DECISION(h.attempt("mallory", "192.0.2.1", kT0 + minutes(20)), Action::kDeny,
                  Reason::kDenyList);
}

TEST(Lists, AllowListDoesNotLiftALock) {
  EngineHarness h;
  h.add_list(ListKind::kAllow, "192.0.2.50", kT0);
  h.add_list(ListKind::kAllow, "account:alice", kT0);
  h.lock("alice", false, kT0);
  EXPECT_DECISION(h.attempt("alice", "192.0.2.50", kT0 + seconds(1)), Action::kDeny,
                  Reason::kAccountLocked);
}

TEST(Lists, RemovedEntryNoLongerApplies) {
  EngineHarness h;
  const auto e = h.add_list(ListKind::kDeny, "203.0.113.9", kT0);
  store::WriteTicket t = 0;
  ASSERT_TRUE(h.engine().lists().remove(e.id, t).ok());
  EXPECT_ALLOWED(h.attempt("alice", "203.0.113.9", kT0 + seconds(1)));
  EXPECT_EQ(h.engine().lists().remove(e.id, t).error().code, "not_found");
}

TEST(Lists, InvalidTargetsAreRejected) {
  EngineHarness h;
  store::WriteTicket t = 0;
  for (std::string_view bad : {"203.0.113.300", "10.0.0.1/8", "account:", "country:JPN", "bogus"}) {
    auto r = h.engine().lists().add(ListKind::kDeny, bad, "x", Duration(0), kT0, "id", t);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, "invalid_target") << bad;
    }
  }
  EXPECT_TRUE(h.engine().lists().entries(std::nullopt, kT0).empty());
}

TEST(Lists, TargetsAreStoredCanonical) {
  EngineHarness h;
  EXPECT_EQ(h.add_list(ListKind::kDeny, "2001:DB8:0::/32", kT0).target, "2001:db8::/32");
  EXPECT_EQ(h.add_list(ListKind::kDeny, "::ffff:192.0.2.1", kT0).target, "192.0.2.1");
  EXPECT_EQ(h.add_list(ListKind::kDeny, "account: Bob", kT0).target, "account:bob");
  EXPECT_EQ(h.add_list(ListKind::kDeny, "country:jp", kT0).target, "country:JP");
}

}  // namespace
}  // namespace mamori::engine::testing
