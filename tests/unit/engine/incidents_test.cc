#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/id_generator.h"
#include "engine/incident_tracker.h"
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

// Forwards every call to a real store's records and records the incident
// writes, in the order they were queued.
class RecordingStore final : public store::RecordStore {
 public:
  explicit RecordingStore(store::RecordStore& inner) : s_(inner) {}
  std::vector<std::string> incident_writes;

  store::WriteTicket put_incident(store::Incident i) override {
    incident_writes.push_back("header " + std::to_string(i.accounts_targeted) + " sources " +
                              std::to_string(i.sources.size()));
    return s_.put_incident(std::move(i));
  }
  store::WriteTicket put_incident_account(std::string id, store::IncidentAccount a) override {
    incident_writes.push_back("account " + a.account);
    return s_.put_incident_account(std::move(id), std::move(a));
  }
  store::WriteTicket put_incident_counts(store::IncidentCounts c,
                                         std::optional<store::IncidentAccount> a) override {
    incident_writes.push_back("counts " + std::to_string(c.accounts_targeted) +
                              (a ? " with account " + a->account : std::string()));
    return s_.put_incident_counts(std::move(c), std::move(a));
  }

  store::WriteTicket put_lock(std::string a, store::LockInfo l) override {
    return s_.put_lock(std::move(a), std::move(l));
  }
  store::WriteTicket clear_lock(std::string a) override { return s_.clear_lock(std::move(a)); }
  store::WriteTicket put_contact(std::string a, store::Contact c) override {
    return s_.put_contact(std::move(a), std::move(c));
  }
  store::WriteTicket put_last_login(std::string a, store::LastLogin l) override {
    return s_.put_last_login(std::move(a), std::move(l));
  }
  Result<std::optional<store::AccountRecord>> account(std::string_view a) override {
    return s_.account(a);
  }
  Result<std::vector<store::AccountRecord>> locked_accounts() override {
    return s_.locked_accounts();
  }
  store::WriteTicket put_list_entry(store::ListEntry e) override {
    return s_.put_list_entry(std::move(e));
  }
  store::WriteTicket delete_list_entry(std::string id) override {
    return s_.delete_list_entry(std::move(id));
  }
  Result<std::vector<store::ListEntry>> list_entries() override { return s_.list_entries(); }
  Result<std::vector<store::Incident>> incidents(TimePoint since) override {
    return s_.incidents(since);
  }
  Result<std::optional<store::Incident>> incident(std::string_view id) override {
    return s_.incident(id);
  }
  Result<std::vector<store::IncidentAccount>> incident_accounts(std::string_view id) override {
    return s_.incident_accounts(id);
  }
  Result<std::vector<store::Incident>> incidents_for_account(std::string_view a) override {
    return s_.incidents_for_account(a);
  }
  store::WriteTicket put_block(store::Block b) override { return s_.put_block(std::move(b)); }
  store::WriteTicket delete_block(std::string scope, std::string key) override {
    return s_.delete_block(std::move(scope), std::move(key));
  }
  store::WriteTicket prune_blocks(TimePoint before) override { return s_.prune_blocks(before); }
  Result<std::vector<store::Block>> blocks(TimePoint now) override { return s_.blocks(now); }
  store::WriteTicket put_totp(store::TotpRecord r) override { return s_.put_totp(std::move(r)); }
  store::WriteTicket delete_totp(std::string a) override { return s_.delete_totp(std::move(a)); }
  Result<std::optional<store::TotpRecord>> totp(std::string_view a) override { return s_.totp(a); }
  store::WriteTicket put_owner_action(std::string k, std::string a, TimePoint at) override {
    return s_.put_owner_action(std::move(k), std::move(a), at);
  }
  Result<std::optional<store::WriteTicket>> claim_owner_action(std::string k, std::string a,
                                                               TimePoint at) override {
    return s_.claim_owner_action(std::move(k), std::move(a), at);
  }
  Result<std::optional<store::WriteTicket>> claim_owner_action_for_writes(std::string k,
                                                                          std::string a,
                                                                          TimePoint at) override {
    return s_.claim_owner_action_for_writes(std::move(k), std::move(a), at);
  }
  Result<std::optional<TimePoint>> owner_action(std::string_view k) override {
    return s_.owner_action(k);
  }
  store::WriteTicket append_audit(store::AuditRecord r) override {
    return s_.append_audit(std::move(r));
  }
  store::WriteTicket put_operator(store::OperatorRecord r) override {
    return s_.put_operator(std::move(r));
  }
  store::WriteTicket delete_operator(std::string name) override {
    return s_.delete_operator(std::move(name));
  }
  Result<std::optional<store::OperatorRecord>> operator_account(std::string_view n) override {
    return s_.operator_account(n);
  }
  Result<std::vector<store::OperatorRecord>> operator_accounts() override {
    return s_.operator_accounts();
  }
  Result<std::vector<store::AuditRecord>> audit(const store::AuditQuery& q) override {
    return s_.audit(q);
  }

 private:
  store::RecordStore& s_;
};

// Queued as two writes, an account and the header that counts it could be
// committed apart, and a reader or a backup between the two would see them
// disagree.
TEST(Incidents, AChangedAccountIsWrittenWithItsHeaderInOneOperation) {
  EngineHarness h;
  RecordingStore store(h.store());
  IdGenerator ids(1);
  IncidentTracker tracker(IncidentConfig{}, store, ids);
  store::WriteTicket t = 0;
  const std::string id = tracker.open(store::IncidentKind::kCredentialStuffing, kStuffer,
                                      {kStuffer}, {{"a", false, kT0}, {"b", false, kT0}}, kT0, t);
  tracker.touch(id, "c", false, kT0 + seconds(1), t);
  tracker.touch(id, "c", true, kT0 + seconds(2), t);  // compromised now: counted
  tracker.touch(id, "c", true, kT0 + seconds(3), t);  // nothing new
  ASSERT_TRUE(h.store().wait(t));
  EXPECT_EQ(store.incident_writes,
            (std::vector<std::string>{"header 0 sources 1", "counts 1 with account a",
                                      "counts 2 with account b", "counts 3 with account c",
                                      "counts 3 with account c"}));
  auto header = h.store().incident(id);
  ASSERT_TRUE(header && *header);
  EXPECT_EQ((*header)->accounts_targeted, 3);
  EXPECT_EQ((*header)->accounts_compromised, 1);
  EXPECT_EQ(h.incident_accounts(id).size(), 3u);
}

// A distributed_stuffing wave's incident lists up to 1,024 sources and
// touches an account with each failure: the sources are written when they
// change, not again with every account.
TEST(Incidents, ASourcesListIsWrittenOnlyWhenItChanges) {
  EngineHarness h;
  RecordingStore store(h.store());
  IdGenerator ids(1);
  IncidentTracker tracker(IncidentConfig{}, store, ids);
  std::vector<std::string> sources;
  for (int i = 0; i < 1000; ++i) sources.push_back("198." + std::to_string(i) + ".0.0/16");
  store::WriteTicket t = 0;
  const std::string id = tracker.open(store::IncidentKind::kDistributedStuffing, "wave", sources,
                                      {{"a", false, kT0}}, kT0, t);
  for (int i = 0; i < 100; ++i)
    tracker.open(store::IncidentKind::kDistributedStuffing, "wave", {sources[std::size_t(i)]},
                 {{"u" + std::to_string(i), false, kT0}}, kT0 + seconds(1), t);
  // A new source: the header again, with it.
  tracker.open(store::IncidentKind::kDistributedStuffing, "wave", {"AS64500"}, {{"z", true, kT0}},
               kT0 + seconds(2), t);
  ASSERT_TRUE(h.store().wait(t));
  int headers = 0, counts = 0;
  for (const std::string& w : store.incident_writes) {
    if (w.starts_with("header")) ++headers;
    if (w.starts_with("counts")) ++counts;
  }
  EXPECT_EQ(headers, 2);
  EXPECT_EQ(counts, 102);
  EXPECT_EQ(store.incident_writes.back(), "counts 102 with account z");
  auto header = h.store().incident(id);
  ASSERT_TRUE(header && *header);
  EXPECT_EQ((*header)->sources.size(), 1001u);
  EXPECT_EQ((*header)->sources.back(), "AS64500");
  EXPECT_EQ((*header)->accounts_targeted, 102);
  EXPECT_EQ((*header)->accounts_compromised, 1);
  EXPECT_EQ((*header)->last_seen, kT0 + seconds(2));
  EXPECT_EQ(h.incident_accounts(id).size(), 102u);
}

// A continued incident lists each source once, however often it comes
// back, and a source new to it is added and written with the header.
TEST(Incidents, AContinuedIncidentAddsEachNewSourceOnce) {
  EngineHarness h;
  RecordingStore store(h.store());
  IdGenerator ids(1);
  IncidentTracker tracker(IncidentConfig{}, store, ids);
  store::WriteTicket t = 0;
  const std::string id = tracker.open(store::IncidentKind::kDistributedStuffing, "wave",
                                      {"198.51.0.0/16"}, {{"a", false, kT0}}, kT0, t);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(tracker.open(store::IncidentKind::kDistributedStuffing, "wave",
                           {"198.51.0.0/16", "203.0.0.0/16"}, {{"a", false, kT0}},
                           kT0 + seconds(1 + i), t),
              id);
  ASSERT_TRUE(h.store().wait(t));
  auto header = h.store().incident(id);
  ASSERT_TRUE(header && *header);
  EXPECT_EQ((*header)->sources, (std::vector<std::string>{"198.51.0.0/16", "203.0.0.0/16"}));
  EXPECT_EQ((*header)->accounts_targeted, 1);
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
  // It started with the first failure it looks back on, not at the threshold.
  EXPECT_EQ(incidents[0].started, kT0);
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
  ASSERT_TRUE(h.store().wait(h.store().prune_activity(from_unix_ms(0))).ok());
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
