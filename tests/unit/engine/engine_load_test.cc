#include <gtest/gtest.h>

#include <string>

#include "engine/engine.h"
#include "engine_harness.h"

namespace mamori::engine::testing {
namespace {

constexpr const char* kBruteIp = "203.0.113.5";
constexpr const char* kStuffer = "203.0.113.66";

// Leaves behind one of everything the engine must not forget: a brute-force
// block, an operator lock, deny list entries and a credential-stuffing
// incident with its IP block.
void build_state(EngineHarness& h) {
  for (int i = 0; i < 10; ++i)
    h.fail("alice", kBruteIp, kT0 + seconds(i), "pw" + std::to_string(i));
  h.lock("bob", /*require_password_reset=*/true, kT0);
  h.add_list(store::ListKind::kDeny, "198.51.100.0/24", kT0);
  h.add_list(store::ListKind::kDeny, "2001:db8:dead::/48", kT0);
  h.add_list(store::ListKind::kDeny, "account:mallory", kT0);
  h.add_list(store::ListKind::kAllow, "192.0.2.50", kT0);
  for (int i = 0; i < 20; ++i) h.fail("user" + std::to_string(i), kStuffer, kT0 + seconds(i));
}

void expect_state_enforced(EngineHarness& h, TimePoint t) {
  EXPECT_DECISION(h.attempt("alice", kBruteIp, t), Action::kDeny, Reason::kBruteForce);
  EXPECT_ALLOWED(h.attempt("alice", "192.0.2.7", t));
  EXPECT_DECISION(h.attempt("bob", "192.0.2.7", t), Action::kDeny, Reason::kAccountLocked);
  EXPECT_DECISION(h.attempt("carol", "198.51.100.7", t), Action::kDeny, Reason::kDenyList);
  EXPECT_DECISION(h.attempt("carol", "2001:db8:dead::7", t), Action::kDeny, Reason::kDenyList);
  EXPECT_DECISION(h.attempt("mallory", "192.0.2.7", t), Action::kDeny, Reason::kDenyList);
  EXPECT_DECISION(h.attempt("newcomer", kStuffer, t), Action::kDeny, Reason::kCredentialStuffing);
}

TEST(EngineLoad, FreshEngineOnSameStoreReloadsBlocksLocksListsAndIncidents) {
  EngineHarness h;
  build_state(h);
  const TimePoint t = kT0 + minutes(10);
  h.restart_engine(t);
  EXPECT_EQ(h.engine().locks().size(), 1u);
  EXPECT_EQ(h.engine().incidents().open_count(), 1u);
  EXPECT_EQ(h.engine().lists().entries(std::nullopt, t).size(), 4u);
  EXPECT_EQ(h.engine().blocks().active(t).size(), 2u);
  expect_state_enforced(h, t);
  // The allow list came back too: failures from it are not counted.
  for (int i = 0; i < 12; ++i)
    EXPECT_ALLOWED(h.fail("dave", "192.0.2.50", t + seconds(i), "pw" + std::to_string(i)));
}

// The kernel's firewall is restored from the lists and blocks as soon as
// they are read: the locks and incidents load after it.
TEST(EngineLoad, ListsAndBlocksAreInWhenBlocksLoadedIsCalledBeforeTheRest) {
  EngineHarness h;
  build_state(h);
  h.sync();
  const TimePoint t = kT0 + minutes(10);
  Engine fresh(h.config(), h.store(), 7);
  int calls = 0;
  Status s = fresh.load(t, /*warm_windows=*/false, [&](const Engine::BlocksLoaded& b) {
    ++calls;
    EXPECT_EQ(b.blocks, 2u);
    EXPECT_EQ(fresh.blocks().active(t).size(), 2u);
    EXPECT_EQ(fresh.lists().entries(std::nullopt, t).size(), 4u);
    EXPECT_EQ(fresh.locks().size(), 0u);
    EXPECT_EQ(fresh.incidents().open_count(), 0u);
  });
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(fresh.locks().size(), 1u);
  EXPECT_EQ(fresh.incidents().open_count(), 1u);
}

TEST(EngineLoad, ReloadedIncidentContinuesUnderTheSameId) {
  EngineHarness h;
  build_state(h);
  const auto before = h.incidents();
  ASSERT_EQ(before.size(), 1u);
  h.restart_engine(kT0 + minutes(10));
  h.attempt("newcomer", kStuffer, kT0 + minutes(11));
  h.succeed("user3", kStuffer, kT0 + minutes(12));
  const auto after = h.incidents();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].id, before[0].id);
  EXPECT_EQ(after[0].accounts_targeted, 21);
  EXPECT_EQ(after[0].accounts_compromised, 1);
  const auto names = h.incident_account_names(after[0].id);
  EXPECT_EQ(names.size(), 21u);
  EXPECT_TRUE(names.contains("newcomer"));
  EXPECT_TRUE(names.contains("user0"));
  auto u3 = h.incident_account(after[0].id, "user3");
  ASSERT_TRUE(u3.has_value());
  EXPECT_TRUE(u3->login_succeeded);
}

TEST(EngineLoad, ReloadedStateSurvivesReopeningTheStore) {
  EngineHarness h;
  build_state(h);
  const TimePoint t = kT0 + minutes(20);
  h.restart_process(t);
  expect_state_enforced(h, t);
}

TEST(EngineLoad, ExpiredBlocksAreNotReloaded) {
  EngineHarness h;
  build_state(h);
  const TimePoint t = kT0 + hours(2);
  h.restart_engine(t);
  EXPECT_TRUE(h.engine().blocks().active(t).empty());
  EXPECT_ALLOWED(h.attempt("alice", kBruteIp, t));
  EXPECT_ALLOWED(h.attempt("newcomer", kStuffer, t));
  // Locks and lists have no end: still enforced.
  EXPECT_DECISION(h.attempt("bob", "192.0.2.7", t), Action::kDeny, Reason::kAccountLocked);
  EXPECT_DECISION(h.attempt("mallory", "192.0.2.7", t), Action::kDeny, Reason::kDenyList);
}

TEST(EngineLoad, UnlockAndPasswordResetAreRemembered) {
  EngineHarness h;
  h.lock("alice", false, kT0);
  h.lock("bob", true, kT0);
  h.lock("carol", true, kT0);
  h.unlock("alice", kT0 + minutes(1));
  h.account_event(EventType::kPasswordChanged, "bob", "192.0.2.1", kT0 + minutes(1));
  h.restart_engine(kT0 + minutes(2));
  EXPECT_ALLOWED(h.attempt("alice", "192.0.2.1", kT0 + minutes(3)));
  EXPECT_ALLOWED(h.attempt("bob", "192.0.2.1", kT0 + minutes(3)));
  EXPECT_DECISION(h.attempt("carol", "192.0.2.1", kT0 + minutes(3)), Action::kDeny,
                  Reason::kAccountLocked);
}

TEST(EngineLoad, ListTtlStillAppliesAfterReload) {
  EngineHarness h;
  h.add_list(store::ListKind::kDeny, "203.0.113.9", kT0, minutes(10));
  h.restart_engine(kT0 + minutes(1));
  EXPECT_DECISION(h.attempt("alice", "203.0.113.9", kT0 + minutes(5)), Action::kDeny,
                  Reason::kDenyList);
  EXPECT_ALLOWED(h.attempt("alice", "203.0.113.9", kT0 + minutes(10)));
}

TEST(EngineLoad, RemovedListEntryStaysRemoved) {
  EngineHarness h;
  const auto e = h.add_list(store::ListKind::kDeny, "203.0.113.9", kT0);
  store::WriteTicket t = 0;
  ASSERT_TRUE(h.engine().lists().remove(e.id, t).ok());
  // The harness waits for the writes it made itself; this one is ours.
  ASSERT_TRUE(h.store().wait(t).ok());
  h.restart_engine(kT0 + minutes(1));
  EXPECT_ALLOWED(h.attempt("alice", "203.0.113.9", kT0 + minutes(2)));
}

// docs/design.md, Durability: hot windows are rebuilt at start from the failed
// logins in the activity log; store.h's failed_logins_since() exists for it.
TEST(EngineLoad, HotWindowsSurviveARestart) {
  EngineHarness h;
  for (int i = 0; i < 9; ++i)
    EXPECT_ALLOWED(h.fail("alice", kBruteIp, kT0 + seconds(i), "pw" + std::to_string(i)));
  h.restart_engine(kT0 + seconds(30));
  EXPECT_DECISION(h.fail("alice", kBruteIp, kT0 + seconds(40), "pw9"), Action::kDeny,
                  Reason::kBruteForce);
}

TEST(EngineLoad, HotWindowsSurviveReopeningTheStore) {
  EngineHarness h;
  for (int i = 0; i < 9; ++i) h.fail("alice", kBruteIp, kT0 + seconds(i), "pw" + std::to_string(i));
  h.restart_process(kT0 + seconds(30));
  EXPECT_DECISION(h.fail("alice", kBruteIp, kT0 + seconds(40), "pw9"), Action::kDeny,
                  Reason::kBruteForce);
}

// The warm-up reads the failures only, and of more than it may replay, the
// newest: a log full of older failures and other activity does not push out
// the nine that the tenth after the restart must meet.
TEST(EngineLoad, WarmReplaysTheNewestFailuresOfABusyLog) {
  EngineHarness h;
  for (int i = 0; i < 30; ++i) {
    const std::string user = "user" + std::to_string(i);
    const std::string from = "198.51.100." + std::to_string(i + 1);
    h.fail(user, from, kT0 + seconds(i));
    h.succeed(user, from, kT0 + seconds(i));
  }
  for (int i = 0; i < 9; ++i)
    EXPECT_ALLOWED(
        h.fail("alice", kBruteIp, kT0 + minutes(1) + seconds(i), "pw" + std::to_string(i)));
  for (int i = 0; i < 20; ++i) h.succeed("carol", "192.0.2.9", kT0 + minutes(2) + seconds(i));
  h.sync();
  Engine fresh(h.config(), h.store(), 7);
  auto replayed = fresh.warm(kT0 + minutes(3), /*max_events=*/10);
  ASSERT_TRUE(replayed.ok()) << replayed.error().message;
  EXPECT_EQ(*replayed, 10u);  // alice's nine and user29's one
  const Outcome tenth = fresh.process(
      EngineHarness::event(EventType::kLoginResult, "alice", kBruteIp, kT0 + minutes(3), "pw9"));
  EXPECT_DECISION(tenth.decision, Action::kDeny, Reason::kBruteForce);
  // Its writes' callbacks refer to `fresh`: done before it goes.
  if (!tenth.writes.empty()) {
    EXPECT_TRUE(h.store().wait(tenth.writes.last).ok());
  }
}

TEST(EngineLoad, CredentialStuffingWindowSurvivesARestart) {
  EngineHarness h;
  for (int i = 0; i < 19; ++i) h.fail("user" + std::to_string(i), kStuffer, kT0 + seconds(i));
  h.restart_engine(kT0 + seconds(30));
  EXPECT_DECISION(h.fail("user19", kStuffer, kT0 + seconds(40)), Action::kDeny,
                  Reason::kCredentialStuffing);
  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(h.incident_account_names(incidents[0].id).size(), 20u);
}

TEST(EngineLoad, WarmingSkipsFailuresOutsideTheWindows) {
  EngineHarness h;
  for (int i = 0; i < 9; ++i) h.fail("alice", kBruteIp, kT0 + seconds(i), "pw" + std::to_string(i));
  h.restart_engine(kT0 + hours(2));
  EXPECT_ALLOWED(h.fail("alice", kBruteIp, kT0 + hours(2), "pw9"));
}

TEST(EngineLoad, BlockKeyFromRecordRoundTripsEveryScope) {
  store::Block b;
  b.scope = "ip";
  b.key = "203.0.113.5";
  EXPECT_EQ(*block_key_from_record(b), BlockKey::ip_deny(ip("203.0.113.5")));
  b.scope = "ip_delay";
  EXPECT_EQ(*block_key_from_record(b), BlockKey::ip_delay(ip("203.0.113.5")));
  b.scope = "network";
  b.key = "2001:db8:aa:bb::/64";
  EXPECT_EQ(*block_key_from_record(b), BlockKey::network(ip("2001:db8:aa:bb::77")));
  b.scope = "network_delay";
  EXPECT_EQ(*block_key_from_record(b), BlockKey::network_delay(ip("2001:db8:aa:bb::77")));
  b.scope = "account_ip";
  b.key = "alice|2001:db8::1";
  EXPECT_EQ(*block_key_from_record(b), BlockKey::account_ip("alice", ip("2001:db8::1")));
  b.scope = "pwhash";
  b.key = "pwhash:abc";
  EXPECT_EQ(*block_key_from_record(b), BlockKey::pwhash("abc"));
  b.scope = "account";
  b.key = "alice";
  EXPECT_EQ(*block_key_from_record(b), BlockKey::account("alice"));
  b.scope = "galaxy";
  EXPECT_EQ(block_key_from_record(b).error().code, "invalid_block");
  b.scope = "account_ip";
  b.key = "no-bar";
  EXPECT_EQ(block_key_from_record(b).error().code, "invalid_block");
}

}  // namespace
}  // namespace mamori::engine::testing
