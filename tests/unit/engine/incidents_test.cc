#include <gtest/gtest.h>

#include <string>

#include "engine/engine.h"
#include "engine_harness.h"

namespace mamori::engine::testing {
namespace {

constexpr const char* kStuffer = "203.0.113.66";

void stuff(EngineHarness& h, int n, TimePoint start, const std::string& prefix = "user") {
  for (int i = 0; i < n; ++i) h.fail(prefix + std::to_string(i), kStuffer, start + seconds(i));
}

TEST(Incidents, RepeatedTouchesOfOneAccountCountItOnce) {
  EngineHarness h;
  stuff(h, 20, kT0);
  for (int i = 0; i < 5; ++i) h.attempt("again", kStuffer, kT0 + minutes(1) + seconds(i));
  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0].accounts_targeted, 21);
}

TEST(Incidents, AccountsBeyondMaxAccountsAreCountedOnceEach) {
  EngineConfig cfg;
  cfg.incidents.max_accounts = 20;
  EngineHarness h(cfg);
  stuff(h, 20, kT0);
  // Two more accounts, each tried three times: 22 distinct accounts targeted.
  for (int i = 0; i < 3; ++i) {
    h.attempt("extra-1", kStuffer, kT0 + minutes(1) + seconds(i));
    h.attempt("extra-2", kStuffer, kT0 + minutes(2) + seconds(i));
  }
  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(h.incident_accounts(incidents[0].id).size(), 20u);  // listed: at most max_accounts
  EXPECT_EQ(incidents[0].accounts_targeted, 22);
}

TEST(Incidents, NewWaveAfterIdleOpensNewIncident) {
  EngineHarness h;
  stuff(h, 20, kT0);
  // Block (1 h) and incident (1 h idle) are over; the IP comes back.
  h.engine().maintain(kT0 + hours(3));
  stuff(h, 20, kT0 + hours(3), "second-wave-");
  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 2u);
  EXPECT_NE(incidents[0].id, incidents[1].id);
  // Newest first.
  EXPECT_EQ(h.incident_account_names(incidents[0].id).count("second-wave-0"), 1u);
  EXPECT_EQ(h.incident_account_names(incidents[1].id).count("user0"), 1u);
}

TEST(Incidents, AttemptsWhileBlockedContinueTheIncident) {
  EngineHarness h;
  stuff(h, 20, kT0);
  // The IP is blocked for an hour from the 20th failure; it keeps trying.
  h.attempt("late1", kStuffer, kT0 + minutes(20));
  h.fail("late2", kStuffer, kT0 + minutes(40));
  h.attempt("late3", kStuffer, kT0 + minutes(55));
  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0].accounts_targeted, 23);
  EXPECT_EQ(incidents[0].last_seen, kT0 + minutes(55));
  EXPECT_EQ(incidents[0].started, kT0 + seconds(19));
}

TEST(Maintain, DropsExpiredListEntriesAndBlocks) {
  EngineHarness h;
  h.add_list(store::ListKind::kDeny, "203.0.113.9", kT0, minutes(10));
  h.add_list(store::ListKind::kDeny, "203.0.113.10", kT0);
  for (int i = 0; i < 10; ++i)
    h.fail("alice", "198.51.100.1", kT0 + seconds(i), "pw" + std::to_string(i));
  EXPECT_EQ(h.engine().blocks().size(), 1u);
  h.engine().maintain(kT0 + hours(2));
  EXPECT_EQ(h.engine().blocks().size(), 0u);
  EXPECT_EQ(h.engine().lists().entries(std::nullopt, kT0).size(), 1u);
  // maintain() returns no ticket: wait for a no-op write queued after its writes.
  ASSERT_TRUE(h.store().wait(h.store().prune(from_unix_ms(0))).ok());
  auto stored = h.store().list_entries();
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].target, "203.0.113.10");
}

TEST(Activity, RecordsRefusalsAndResultsButNotAllowedAttempts) {
  EngineHarness h;
  h.attempt("alice", "192.0.2.1", kT0);               // allowed attempt: not logged
  h.fail("alice", "192.0.2.1", kT0 + seconds(1));     // result: logged
  h.succeed("alice", "192.0.2.1", kT0 + seconds(2));  // result: logged
  h.lock("alice", false, kT0 + seconds(3));
  h.attempt("alice", "192.0.2.1", kT0 + seconds(4));  // denied attempt: logged
  h.sync();
  auto log = h.store().activity("alice", kT0, 100);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 3u);
  // Newest first.
  EXPECT_EQ((*log)[0].type, EventType::kLoginAttempt);
  EXPECT_EQ((*log)[0].action, Action::kDeny);
  EXPECT_EQ((*log)[0].reasons, std::vector<std::string>{"account_locked"});
  EXPECT_EQ((*log)[0].time, kT0 + seconds(4));
  EXPECT_EQ((*log)[1].success, std::optional<bool>(true));
  EXPECT_EQ((*log)[2].success, std::optional<bool>(false));
}

}  // namespace
}  // namespace mamori::engine::testing
