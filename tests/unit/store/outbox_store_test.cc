#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <string>
#include <vector>

#include "store/embedded/embedded_store.h"
#include "testing/temp_dir.h"

namespace mamori::store {
namespace {

using mamori::testing::TempDir;

TimePoint at(std::int64_t ms) { return from_unix_ms(ms); }

std::unique_ptr<EmbeddedStore> open_store(const std::string& dir) {
  auto r = EmbeddedStore::open(dir);
  if (!r) {
    ADD_FAILURE() << r.error().code << ": " << r.error().message;
    return nullptr;
  }
  return std::move(*r);
}

OutboxItem item(std::string id, OutboxChannel channel, std::int64_t next_ms) {
  OutboxItem i;
  i.id = std::move(id);
  i.channel = channel;
  i.destination = channel == OutboxChannel::kEmail ? "alice@example.jp" : "https://hooks.example/a";
  i.payload = R"({"kind":"account_locked","note":"日本語"})";
  i.created = at(1000);
  i.next_attempt = at(next_ms);
  return i;
}

std::vector<std::string> ids(const std::vector<OutboxItem>& items) {
  std::vector<std::string> out;
  for (const auto& i : items) out.push_back(i.id);
  return out;
}

TEST(OutboxStore, ItemRoundTripsEveryField) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->wait(store->enqueue_outbox(item("o1", OutboxChannel::kEmail, 1000))).ok());
  auto due = store->due_outbox(at(1000), 10);
  ASSERT_TRUE(due.ok()) << due.error().message;
  ASSERT_EQ(due->size(), 1u);
  const OutboxItem& i = (*due)[0];
  EXPECT_EQ(i.id, "o1");
  EXPECT_EQ(i.channel, OutboxChannel::kEmail);
  EXPECT_EQ(i.destination, "alice@example.jp");
  EXPECT_EQ(i.payload, R"({"kind":"account_locked","note":"日本語"})");
  EXPECT_EQ(to_unix_ms(i.created), 1000);
  EXPECT_EQ(i.attempts, 0);
  EXPECT_EQ(to_unix_ms(i.next_attempt), 1000);
  EXPECT_EQ(i.last_error, "");
  EXPECT_EQ(i.state, OutboxState::kPending);
  EXPECT_FALSE(i.done.has_value());
}

TEST(OutboxStore, DueIsEarliestFirstUpToNowAndLimited) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  store->enqueue_outbox(item("c", OutboxChannel::kWebhook, 300));
  store->enqueue_outbox(item("a", OutboxChannel::kEmail, 100));
  store->enqueue_outbox(item("b", OutboxChannel::kEmail, 200));
  ASSERT_TRUE(store->wait(store->enqueue_outbox(item("later", OutboxChannel::kEmail, 5000))).ok());
  EXPECT_EQ(ids(*store->due_outbox(at(300), 10)), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(ids(*store->due_outbox(at(300), 2)), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ids(*store->due_outbox(at(99), 10)), std::vector<std::string>{});
}

TEST(OutboxStore, RetryCountsTheAttemptAndReschedules) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  store->enqueue_outbox(item("o1", OutboxChannel::kEmail, 100));
  ASSERT_TRUE(store->wait(store->outbox_retry("o1", at(9000), "connection refused")).ok());
  EXPECT_TRUE(store->due_outbox(at(8999), 10)->empty());
  auto due = store->due_outbox(at(9000), 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].attempts, 1);
  EXPECT_EQ((*due)[0].last_error, "connection refused");
  store->outbox_retry("o1", at(20000), "timeout");
  ASSERT_TRUE(store->wait(store->outbox_retry("o1", at(30000), "timeout again")).ok());
  due = store->due_outbox(at(30000), 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].attempts, 3);
  EXPECT_EQ((*due)[0].last_error, "timeout again");
}

TEST(OutboxStore, DeliveredAndFailedItemsAreNoLongerDueAndCountsFollow) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  store->enqueue_outbox(item("m1", OutboxChannel::kEmail, 100));
  store->enqueue_outbox(item("m2", OutboxChannel::kEmail, 400));
  store->enqueue_outbox(item("w1", OutboxChannel::kWebhook, 200));
  ASSERT_TRUE(store->wait(store->enqueue_outbox(item("w2", OutboxChannel::kWebhook, 300))).ok());
  auto counts = store->outbox_counts();
  ASSERT_TRUE(counts.ok()) << counts.error().message;
  EXPECT_EQ(counts->pending[0], 2);
  EXPECT_EQ(counts->pending[1], 2);
  ASSERT_TRUE(counts->next_attempt.has_value());
  EXPECT_EQ(to_unix_ms(*counts->next_attempt), 100);

  store->outbox_delivered("m1", at(150));
  ASSERT_TRUE(store->wait(store->outbox_failed("w1", at(250), "gone")).ok());
  // A late outcome for an item no longer pending changes nothing.
  ASSERT_TRUE(store->wait(store->outbox_retry("m1", at(99999), "late")).ok());
  EXPECT_EQ(ids(*store->due_outbox(at(1000), 10)), (std::vector<std::string>{"w2", "m2"}));
  counts = store->outbox_counts();
  EXPECT_EQ(counts->pending[0], 1);
  EXPECT_EQ(counts->pending[1], 1);
  EXPECT_EQ(counts->failed[0], 0);
  EXPECT_EQ(counts->failed[1], 1);
  EXPECT_EQ(to_unix_ms(*counts->next_attempt), 300);
}

TEST(OutboxStore, EnqueueOfAnExistingIdChangesNothing) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  store->enqueue_outbox(item("o1", OutboxChannel::kEmail, 100));
  OutboxItem again = item("o1", OutboxChannel::kWebhook, 50);
  again.payload = "{}";
  ASSERT_TRUE(store->wait(store->enqueue_outbox(again)).ok());
  auto due = store->due_outbox(at(1000), 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].channel, OutboxChannel::kEmail);
  EXPECT_NE((*due)[0].payload, "{}");
}

TEST(OutboxStore, PruneDeletesOldFinishedItemsButNeverPendingOnes) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  store->enqueue_outbox(item("old-delivered", OutboxChannel::kEmail, 1));
  store->enqueue_outbox(item("old-failed", OutboxChannel::kEmail, 1));
  store->enqueue_outbox(item("new-failed", OutboxChannel::kEmail, 1));
  store->enqueue_outbox(item("old-pending", OutboxChannel::kEmail, 1));
  store->outbox_delivered("old-delivered", at(100));
  store->outbox_failed("old-failed", at(100), "x");
  store->outbox_failed("new-failed", at(5000), "x");
  ASSERT_TRUE(store->wait(store->prune_outbox(at(1000))).ok());
  EXPECT_EQ(ids(*store->due_outbox(at(10), 10)), (std::vector<std::string>{"old-pending"}));

  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(tmp.db().c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(
                  db, "SELECT group_concat(id, ',') FROM (SELECT id FROM outbox ORDER BY id)", -1,
                  &st, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))),
              "new-failed,old-pending");
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
}

TEST(OutboxStore, CommittedItemSurvivesKill9AndIsDueAfterReopen) {
  TempDir tmp;
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto opened = EmbeddedStore::open(tmp.path());
    if (!opened) _exit(2);
    EmbeddedStore& store = **opened;
    store.enqueue_outbox(item("sent", OutboxChannel::kEmail, 100));
    store.enqueue_outbox(item("queued", OutboxChannel::kEmail, 200));
    store.outbox_delivered("sent", at(150));
    if (!store.wait(store.enqueue_outbox(item("hook", OutboxChannel::kWebhook, 300)))) _exit(3);
    raise(SIGKILL);
    _exit(4);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(ids(*store->due_outbox(at(1000), 10)), (std::vector<std::string>{"queued", "hook"}));
}

TEST(OutboxStore, VersionOneDatabaseIsUpgradedKeepingContacts) {
  TempDir tmp;
  {
    auto store = open_store(tmp.path());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(
        store->wait(store->put_contact("alice", Contact{"a@example.jp", "ja", true, ""})).ok());
  }
  {
    // Back to the version 1 schema, as an older mamorid left it (with the
    // activity table that version 6 moved into the journal).
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(tmp.db().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(
        sqlite3_exec(db,
                     "DROP TABLE outbox; DROP TABLE totp; DROP TABLE owner_actions;"
                     " DROP TABLE audit; DROP TABLE operators;"
                     " ALTER TABLE incidents DROP COLUMN closed_ms;"
                     " ALTER TABLE accounts DROP COLUMN time_zone;"
                     " CREATE TABLE activity (seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL,"
                     " time_ms INTEGER NOT NULL, account TEXT NOT NULL, type TEXT NOT NULL,"
                     " ip TEXT NOT NULL, country TEXT NOT NULL, city TEXT NOT NULL,"
                     " user_agent TEXT NOT NULL, device_id TEXT NOT NULL,"
                     " protocol TEXT NOT NULL, success INTEGER, action TEXT NOT NULL,"
                     " reasons TEXT NOT NULL); PRAGMA user_version=1",
                     nullptr, nullptr, nullptr),
        SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  auto a = store->account("alice");
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ((*a)->contact.email, "a@example.jp");
  EXPECT_EQ((*a)->contact.time_zone, "");
  ASSERT_TRUE(store->wait(store->enqueue_outbox(item("o1", OutboxChannel::kEmail, 1))).ok());
  EXPECT_EQ(store->due_outbox(at(1), 10)->size(), 1u);
}

}  // namespace
}  // namespace mamori::store
