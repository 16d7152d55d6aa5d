// docs/design.md's incidents, replayed through the engine with event times.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "engine/engine.h"
#include "engine_harness.h"

namespace mamori::engine::testing {
namespace {

// S3: one IP logs into many IDs with leaked passwords. mamori must block the
// IP, record every account it touched (and which logins worked) in an
// incident, and answer "was my ID affected?".
TEST(Scenarios, S3_CredentialStuffingOver500AccountsIsStoppedAndRecorded) {
  EngineHarness h;
  constexpr const char* kAttacker = "203.0.113.77";
  constexpr int kAccounts = 500;
  auto id = [](int i) { return "id" + std::to_string(i) + "@example.jp"; };
  // Every 50th leaked password is right.
  auto works = [](int i) { return i % 50 == 49; };

  int allowed = 0, denied = 0, logged_in = 0;
  for (int i = 0; i < kAccounts; ++i) {
    // Two logins a second, as a script would.
    const TimePoint t = kT0 + milliseconds(500 * i);
    const Decision pre = h.attempt(id(i), kAttacker, t, "leaked-" + std::to_string(i));
    if (pre.action() == Action::kDeny) {
      ++denied;
      ASSERT_TRUE(pre.has(Reason::kCredentialStuffing)) << describe(pre);
      // The app refuses without checking the password; nothing else happens.
      continue;
    }
    ++allowed;
    Decision result;
    if (works(i)) {
      result = h.succeed(id(i), kAttacker, t + milliseconds(100));
      if (result.action() == Action::kAllow) ++logged_in;
    } else {
      result = h.fail(id(i), kAttacker, t + milliseconds(100), "leaked-" + std::to_string(i));
    }
  }
  // Stopped at the 20th distinct failing account: nothing after got through.
  EXPECT_EQ(allowed, 20);
  EXPECT_EQ(denied, kAccounts - 20);
  EXPECT_EQ(logged_in, 0);  // the first working password is account #49

  const TimePoint end = kT0 + milliseconds(500 * kAccounts);
  // The IP is blocked, visibly.
  const auto blocks = h.stored_blocks(end);
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].scope, "ip");
  EXPECT_EQ(blocks[0].key, kAttacker);
  EXPECT_EQ(blocks[0].reason, Reason::kCredentialStuffing);

  // One incident lists all 500 accounts touched.
  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  const store::Incident& inc = incidents[0];
  EXPECT_EQ(inc.kind, store::IncidentKind::kCredentialStuffing);
  EXPECT_EQ(inc.sources, std::vector<std::string>{kAttacker});
  EXPECT_EQ(inc.accounts_targeted, kAccounts);
  const auto touched = h.incident_accounts(inc.id);
  EXPECT_EQ(touched.size(), std::size_t(kAccounts));
  std::set<std::string> names;
  for (const auto& a : touched) names.insert(a.account);
  for (int i = 0; i < kAccounts; ++i) EXPECT_TRUE(names.contains(id(i))) << id(i);
  EXPECT_EQ(inc.accounts_compromised, 0);

  // "Was my ID affected?"
  auto affected = h.store().incidents_for_account(id(321));
  ASSERT_TRUE(affected.ok());
  ASSERT_EQ(affected->size(), 1u);
  EXPECT_EQ((*affected)[0].id, inc.id);
  auto unaffected = h.store().incidents_for_account("someone-else@example.jp");
  ASSERT_TRUE(unaffected.ok());
  EXPECT_TRUE(unaffected->empty());

  // Owners keep logging in from their own addresses.
  EXPECT_ALLOWED(h.succeed(id(321), "192.0.2.200", end + minutes(1)));
}

// S3 variant: the stuffer checks the password itself and only reports
// results; logins that worked are still caught and marked.
TEST(Scenarios, S3_StuffingResultsMarkCompromisedAccounts) {
  EngineHarness h;
  constexpr const char* kAttacker = "203.0.113.78";
  int compromised = 0;
  for (int i = 0; i < 100; ++i) {
    const TimePoint t = kT0 + milliseconds(500 * i);
    const std::string acct = "victim" + std::to_string(i);
    if (i >= 20 && i % 10 == 5) {
      // The password worked: the account is locked until it is reset.
      EXPECT_DECISION(h.succeed(acct, kAttacker, t), Action::kLock, Reason::kCredentialStuffing);
      ++compromised;
    } else {
      h.fail(acct, kAttacker, t);
    }
  }
  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0].accounts_targeted, 100);
  EXPECT_EQ(incidents[0].accounts_compromised, compromised);
  int marked = 0;
  for (const auto& a : h.incident_accounts(incidents[0].id)) marked += a.login_succeeded ? 1 : 0;
  EXPECT_EQ(marked, compromised);
}

// S4: repeated wrong passwords block the source, not the owner.
TEST(Scenarios, S4_BruteForceDeniesTheSourceNotTheAccount) {
  EngineHarness h;
  constexpr const char* kAttacker = "203.0.113.5";
  constexpr const char* kOwnerIp = "198.51.100.20";
  // The owner logs in normally.
  EXPECT_ALLOWED(h.succeed("shop-owner", kOwnerIp, kT0));
  // An attacker guesses passwords, one every 3 s.
  int denied_at = 0;
  for (int i = 1; i <= 30 && denied_at == 0; ++i) {
    const Decision d =
        h.fail("shop-owner", kAttacker, kT0 + seconds(3 * i), "guess-" + std::to_string(i));
    if (d.action() == Action::kDeny) {
      EXPECT_TRUE(d.has(Reason::kBruteForce)) << describe(d);
      denied_at = i;
    }
  }
  EXPECT_EQ(denied_at, 10);
  const TimePoint blocked_at = kT0 + seconds(30);
  // The attacker stays refused, even with the right password.
  EXPECT_DECISION(h.attempt("shop-owner", kAttacker, blocked_at + minutes(10)), Action::kDeny,
                  Reason::kBruteForce);
  EXPECT_DECISION(h.succeed("shop-owner", kAttacker, blocked_at + minutes(10)), Action::kDeny,
                  Reason::kBruteForce);
  // The owner is not locked out.
  EXPECT_ALLOWED(h.attempt("shop-owner", kOwnerIp, blocked_at + minutes(11)));
  EXPECT_ALLOWED(h.succeed("shop-owner", kOwnerIp, blocked_at + minutes(11)));
  EXPECT_FALSE(h.engine().locks().find("shop-owner").has_value());
  EXPECT_FALSE(h.stored_lock("shop-owner").has_value());
  // The blocked-source view shows who is blocked, why and until when.
  const auto active = h.engine().blocks().active(blocked_at + minutes(11));
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].key, std::string("shop-owner|") + kAttacker);
  EXPECT_EQ(active[0].reason, Reason::kBruteForce);
  EXPECT_EQ(active[0].until, blocked_at + hours(1));
  // The operator can also deny the IP outright, for everything.
  h.add_list(store::ListKind::kDeny, kAttacker, blocked_at + minutes(12));
  EXPECT_DECISION(h.attempt("other-user", kAttacker, blocked_at + minutes(13)), Action::kDeny,
                  Reason::kDenyList);
  // Once the list entry is gone and the block has ended, the IP may try again.
  const auto entries = h.engine().lists().entries(store::ListKind::kDeny, blocked_at + minutes(13));
  ASSERT_EQ(entries.size(), 1u);
  store::WriteTicket ticket = 0;
  ASSERT_TRUE(h.engine().lists().remove(entries[0].id, ticket).ok());
  EXPECT_ALLOWED(h.attempt("shop-owner", kAttacker, blocked_at + hours(2)));
  // The activity log tells support what happened.
  h.sync();
  auto log = h.store().activity("shop-owner", kT0, 100);
  ASSERT_TRUE(log.ok());
  int brute = 0;
  for (const auto& r : *log)
    for (const auto& why : r.reasons) brute += why == "brute_force" ? 1 : 0;
  EXPECT_GE(brute, 3);
}

}  // namespace
}  // namespace mamori::engine::testing
