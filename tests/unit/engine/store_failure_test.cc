// What the engine keeps in memory when the store fails to commit its writes
// (disk full, a lock held elsewhere): nothing that a restart would not have.
// The commits fail here through SQLite's own path: another connection holds
// the database's write lock and the store's busy timeout is short.
#include <gtest/gtest.h>

#include <string>

#include "engine/engine.h"
#include "engine_harness.h"
#include "testing/file_size_limit.h"
#include "testing/sqlite_write_lock.h"

namespace mamori::engine::testing {
namespace {

using mamori::testing::FileSizeLimit;
using mamori::testing::SqliteWriteLock;

constexpr const char* kAttacker = "203.0.113.5";

store::EmbeddedStoreOptions failing_fast() {
  store::EmbeddedStoreOptions o;
  o.sqlite.busy_timeout = std::chrono::milliseconds(20);
  return o;
}

// Waits for `writes` to finish committing; returns whether they were stored.
bool stored(EngineHarness& h, const store::WriteSpan& writes) {
  (void)h.store().wait(writes.last);
  return h.store().status(writes).ok();
}

TEST(StoreFailure, OperatorLockThatWasNotStoredIsNotEnforced) {
  EngineHarness h({}, failing_fast());
  SqliteWriteLock held(h.db_path());
  const store::WriteSpan w = h.engine().lock("alice", "ticket 1", true, "operator", kT0);
  EXPECT_FALSE(stored(h, w));
  EXPECT_FALSE(h.engine().locks().find("alice")) << "memory holds a lock the store lost";
  EXPECT_ALLOWED(h.attempt("alice", kAttacker, kT0 + seconds(1)));

  held.release();
  const store::WriteSpan again = h.engine().lock("alice", "ticket 1", true, "operator", kT0);
  EXPECT_TRUE(stored(h, again));
  EXPECT_TRUE(h.engine().locks().find("alice"));
  EXPECT_TRUE(h.stored_lock("alice"));
}

TEST(StoreFailure, UnlockThatWasNotStoredLeavesTheAccountLocked) {
  EngineHarness h({}, failing_fast());
  h.lock("alice", true, kT0);
  h.sync();
  SqliteWriteLock held(h.db_path());
  const store::WriteSpan w = h.engine().unlock("alice", "released", kT0 + minutes(1));
  EXPECT_FALSE(stored(h, w));
  held.release();
  ASSERT_TRUE(h.engine().locks().find("alice"));
  EXPECT_EQ(h.engine().locks().find("alice")->reason, "account_locked");
  EXPECT_DECISION(h.attempt("alice", kAttacker, kT0 + minutes(2)), Action::kDeny,
                  Reason::kAccountLocked);
}

TEST(StoreFailure, ListChangesThatWereNotStoredAreTakenBack) {
  EngineHarness h({}, failing_fast());
  const store::ListEntry kept = h.add_list(store::ListKind::kDeny, "198.51.100.0/24", kT0);
  h.sync();
  SqliteWriteLock held(h.db_path());
  store::WriteTicket added = 0;
  auto e = h.engine().lists().add(store::ListKind::kDeny, "192.0.2.0/24", "abuse", Duration(0), kT0,
                                  "entry-2", added);
  ASSERT_TRUE(e.ok());
  store::WriteTicket removed = 0;
  ASSERT_TRUE(h.engine().lists().remove(kept.id, removed).ok());
  EXPECT_FALSE(stored(h, store::WriteSpan{added, added}));
  EXPECT_FALSE(stored(h, store::WriteSpan{removed, removed}));
  held.release();

  const auto entries = h.engine().lists().entries(std::nullopt, kT0);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].id, kept.id);
  EXPECT_DECISION(h.attempt("bob", "198.51.100.9", kT0 + seconds(1)), Action::kDeny,
                  Reason::kDenyList);
  EXPECT_ALLOWED(h.attempt("bob", "192.0.2.9", kT0 + seconds(1)));
}

TEST(StoreFailure, BlockThatWasNotStoredIsTakenBackAndSetAgainByTheNextFailure) {
  EngineHarness h({}, failing_fast());
  for (int i = 0; i < 9; ++i)
    h.fail("alice", kAttacker, kT0 + seconds(i), "pw" + std::to_string(i));
  h.sync();
  SqliteWriteLock held(h.db_path());
  const Outcome o = h.engine().process(
      EngineHarness::event(EventType::kLoginResult, "alice", kAttacker, kT0 + seconds(9), "pw9"));
  EXPECT_DECISION(o.decision, Action::kDeny, Reason::kBruteForce);
  EXPECT_FALSE(stored(h, o.writes)) << "the answer must not claim the block";
  held.release();
  EXPECT_TRUE(h.engine().blocks().active(kT0 + seconds(10)).empty());

  // The window still counts ten: the next failure blocks again, stored.
  EXPECT_DECISION(h.fail("alice", kAttacker, kT0 + seconds(11), "pw10"), Action::kDeny,
                  Reason::kBruteForce);
  EXPECT_EQ(h.stored_blocks(kT0 + seconds(12)).size(), 1u);
  EXPECT_EQ(h.engine().blocks().active(kT0 + seconds(12)).size(), 1u);
}

TEST(StoreFailure, ProfileThatWasNotStoredIsReadFromTheStoreAgain) {
  EngineHarness h({}, failing_fast());
  Event first = EngineHarness::event(EventType::kLoginResult, "alice", "192.0.2.10", kT0);
  first.success = true;
  first.user_agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0 Safari/537.36";
  // A login result's writes are the journals' alone: their write fails
  // (no file may grow).
  FileSizeLimit full(0);
  const Outcome o = h.engine().process(first);
  EXPECT_FALSE(stored(h, o.writes));
  full.lift();
  // The profile learnt from the first login was lost with its commit: the
  // account has no stored profile, and the cache does not pretend it has.
  auto p = h.engine().account("alice");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->profile.empty());
}

TEST(StoreFailure, IncidentOpenedWhileFailingIsStoredOnceCommitsSucceed) {
  EngineConfig cfg;
  cfg.credential_stuffing.threshold = 3;
  EngineHarness h(cfg, failing_fast());
  SqliteWriteLock held(h.db_path());
  store::WriteSpan last;
  for (int i = 0; i < 3; ++i) {
    const Outcome o = h.engine().process(EngineHarness::event(
        EventType::kLoginResult, "user" + std::to_string(i), kAttacker, kT0 + seconds(i)));
    last = o.writes;
  }
  EXPECT_FALSE(stored(h, last));
  held.release();
  h.engine().maintain(kT0 + seconds(10));
  // A write queued after maintenance's: once it is committed, so are they.
  ASSERT_TRUE(h.store().wait(h.store().put_contact("fence", store::Contact{})).ok());
  const auto incidents = h.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0].accounts_targeted, 3);
  EXPECT_EQ(h.incident_account_names(incidents[0].id),
            (std::set<std::string>{"user0", "user1", "user2"}));
}

}  // namespace
}  // namespace mamori::engine::testing
