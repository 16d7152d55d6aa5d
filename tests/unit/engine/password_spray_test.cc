#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "engine/engine.h"
#include "engine_harness.h"

namespace mamori::engine::testing {
namespace {

constexpr const char* kSprayHash = "hash-of-Summer2026!";
const char* const kSprayIps[] = {"192.0.2.10", "192.0.2.11", "2001:db8:5::1"};

std::string account(int i) { return "member" + std::to_string(i); }

// The common password tried once on each of `n` accounts, rotating over three IPs.
Decision spray(EngineHarness& h, int n) {
  Decision last;
  for (int i = 0; i < n; ++i)
    last = h.fail(account(i), kSprayIps[i % 3], kT0 + seconds(i), kSprayHash);
  return last;
}

TEST(PasswordSpray, NineAccountsAreAllowed) {
  EngineHarness h;
  for (int i = 0; i < 9; ++i)
    EXPECT_ALLOWED(h.fail(account(i), kSprayIps[i % 3], kT0 + seconds(i), kSprayHash));
  EXPECT_TRUE(h.incidents().empty());
}

TEST(PasswordSpray, TenthAccountDeniesThePasswordHash) {
  EngineHarness h;
  const Decision d = spray(h, 10);
  EXPECT_DECISION(d, Action::kDeny, Reason::kPasswordSpray);
  EXPECT_EQ(d.risk(), kRiskPasswordSpray);
  // The hash is refused from anywhere, on any account.
  EXPECT_DECISION(h.attempt("fresh", "198.18.0.1", kT0 + minutes(1), kSprayHash), Action::kDeny,
                  Reason::kPasswordSpray);
  // Another password from an uninvolved IP is fine.
  EXPECT_ALLOWED(h.attempt("fresh", "198.18.0.1", kT0 + minutes(1), "another-hash"));
}

TEST(PasswordSpray, DeniesEverySourceThatSprayed) {
  EngineHarness h;
  spray(h, 10);
  for (const char* from : kSprayIps) {
    EXPECT_DECISION(h.attempt("unrelated", from, kT0 + minutes(1), "different-hash"), Action::kDeny,
                    Reason::kPasswordSpray)
        << from;
    EXPECT_DECISION(h.attempt("unrelated", from, kT0 + minutes(1)), Action::kDeny,
                    Reason::kPasswordSpray)
        << from;
  }
  EXPECT_ALLOWED(h.attempt("unrelated", "192.0.2.12", kT0 + minutes(1)));
}

TEST(PasswordSpray, OpensIncidentOfKindPasswordSpray) {
  EngineHarness h;
  spray(h, 10);
  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  const store::Incident& inc = incidents[0];
  EXPECT_EQ(inc.kind, store::IncidentKind::kPasswordSpray);
  const std::set<std::string> sources(inc.sources.begin(), inc.sources.end());
  EXPECT_EQ(sources, (std::set<std::string>{kSprayIps[0], kSprayIps[1], kSprayIps[2]}));
  EXPECT_EQ(inc.accounts_targeted, 10);
  std::set<std::string> expected;
  for (int i = 0; i < 10; ++i) expected.insert(account(i));
  EXPECT_EQ(h.incident_account_names(inc.id), expected);
  // The blocks: the hash and each source IP, all pointing at the incident.
  const auto blocks = h.stored_blocks(kT0 + seconds(9));
  std::set<std::string> blocked;
  for (const auto& b : blocks) {
    blocked.insert(b.scope + " " + b.key);
    EXPECT_EQ(b.reason, Reason::kPasswordSpray);
    EXPECT_EQ(b.incident_id, inc.id);
  }
  EXPECT_EQ(blocked,
            (std::set<std::string>{
                std::string("pwhash pwhash:") + kSprayHash, std::string("ip ") + kSprayIps[0],
                std::string("ip ") + kSprayIps[1], std::string("ip ") + kSprayIps[2]}));
}

TEST(PasswordSpray, FailuresWithoutPwhashAreNotCounted) {
  EngineHarness h;
  for (int i = 0; i < 15; ++i)
    EXPECT_ALLOWED(h.fail(account(i), kSprayIps[i % 3], kT0 + seconds(i)));
}

TEST(PasswordSpray, DifferentHashesDoNotAddUp) {
  EngineHarness h;
  // Nine accounts with each of two hashes: eighteen accounts, neither hash at ten.
  for (int i = 0; i < 18; ++i) {
    const std::string hash = i % 2 == 0 ? "hash-a" : "hash-b";
    EXPECT_ALLOWED(h.fail(account(i), kSprayIps[i % 3], kT0 + seconds(i), hash)) << i;
  }
  EXPECT_TRUE(h.incidents().empty());
  // The tenth account for hash-a is.
  EXPECT_DECISION(h.fail(account(30), kSprayIps[0], kT0 + seconds(30), "hash-a"), Action::kDeny,
                  Reason::kPasswordSpray);
}

TEST(PasswordSpray, BlockExpiresAfterBlockDuration) {
  EngineHarness h;
  spray(h, 10);
  const TimePoint tenth = kT0 + seconds(9);
  EXPECT_DECISION(h.attempt("fresh", "198.18.0.1", tenth + minutes(59), kSprayHash), Action::kDeny,
                  Reason::kPasswordSpray);
  EXPECT_ALLOWED(h.attempt("fresh", "198.18.0.1", tenth + hours(1), kSprayHash));
  EXPECT_ALLOWED(h.attempt("fresh", kSprayIps[0], tenth + hours(1)));
}

}  // namespace
}  // namespace mamori::engine::testing
