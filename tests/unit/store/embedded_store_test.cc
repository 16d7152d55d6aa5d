#include "store/embedded/embedded_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <limits>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "testing/file_size_limit.h"
#include "testing/temp_dir.h"

namespace mamori::store {
namespace {

using mamori::testing::TempDir;
using mamori::testing::FileSizeLimit;

std::unique_ptr<EmbeddedStore> open_store(const std::string& dir,
                                          const EmbeddedStoreOptions& options = {}) {
  auto r = EmbeddedStore::open(dir, options);
  if (!r) {
    ADD_FAILURE() << r.error().code << ": " << r.error().message;
    return nullptr;
  }
  return std::move(*r);
}

// A raw connection to the store's file, for what the Store API cannot do:
// hold the write lock, look at pragmas, tamper with the schema.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
  }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void exec(const char* sql) {
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql, nullptr, nullptr, &err), SQLITE_OK)
        << sql << ": " << (err != nullptr ? err : "");
    sqlite3_free(err);
  }
  std::string value(const char* sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql, -1, &st, nullptr), SQLITE_OK);
    std::string v;
    if (sqlite3_step(st) == SQLITE_ROW)
      v = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return v;
  }

 private:
  sqlite3* db_ = nullptr;
};

TimePoint at(std::int64_t ms) { return from_unix_ms(ms); }
std::int64_t ms(TimePoint t) { return to_unix_ms(t); }

IpAddress ip(std::string_view text) {
  auto r = IpAddress::parse(text);
  EXPECT_TRUE(r.ok()) << text;
  return r.ok() ? *r : IpAddress();
}

ActivityRecord activity_record(std::string event_id, std::string account, std::int64_t time_ms) {
  ActivityRecord r;
  r.event_id = std::move(event_id);
  r.account = std::move(account);
  r.time = at(time_ms);
  r.type = EventType::kLoginResult;
  r.ip = ip("203.0.113.5");
  r.protocol = "imap";
  r.success = false;
  r.action = Action::kDelay;
  r.reasons = {"brute_force"};
  return r;
}

std::vector<std::string> event_ids(const std::vector<ActivityRecord>& rows) {
  std::vector<std::string> ids;
  for (const auto& r : rows) ids.push_back(r.event_id);
  return ids;
}

std::vector<std::string> incident_ids(const std::vector<Incident>& rows) {
  std::vector<std::string> ids;
  for (const auto& i : rows) ids.push_back(i.id);
  return ids;
}

void expect_ok(const Status& s) {
  EXPECT_TRUE(s.ok()) << s.error().code << ": " << s.error().message;
}

// How many failed login results are stored (every activity_record() is one).
std::size_t failed_logins(EmbeddedStore& store) {
  std::size_t n = 0;
  expect_ok(store.failed_logins_since(TimePoint{}, std::numeric_limits<std::size_t>::max(),
                                      [&](const ActivityRecord&) { ++n; }));
  return n;
}

// ---- open ----

TEST(EmbeddedStore, OpenCreatesDirectoryAndWalDatabaseWithSchemaVersion) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/nested/data";
  {
    auto store = open_store(dir);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->sqlite().path(), dir + "/mamori.db");
    EXPECT_EQ(store->committed(), 0u);
  }
  ASSERT_TRUE(std::filesystem::exists(dir + "/mamori.db"));
  RawDb raw(dir + "/mamori.db");
  EXPECT_EQ(raw.value("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.value("PRAGMA user_version"), std::to_string(EmbeddedStore::kSchemaVersion));
}

TEST(EmbeddedStore, OpenOfUnwritablePathFailsWithStoreOpenFailed) {
  TempDir tmp;
  const std::string file = tmp.path() + "/a_file";
  std::ofstream(file) << "not a directory";
  auto r = EmbeddedStore::open(file + "/data");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "store_open_failed");
  EXPECT_NE(r.error().message.find(file + "/data"), std::string::npos) << r.error().message;
}

TEST(EmbeddedStore, OpenFailsWhenDatabasePathIsADirectory) {
  TempDir tmp;
  std::filesystem::create_directory(tmp.db());
  auto r = EmbeddedStore::open(tmp.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "store_open_failed");
  EXPECT_NE(r.error().message.find(tmp.db()), std::string::npos) << r.error().message;
}

TEST(EmbeddedStore, OpenOfCorruptDatabaseFailsWithSqliteMessage) {
  TempDir tmp;
  {
    std::ofstream out(tmp.db());
    for (int i = 0; i < 200; ++i) out << "this is not an sqlite database file. ";
  }
  auto r = EmbeddedStore::open(tmp.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "store_open_failed");
  EXPECT_NE(r.error().message.find(tmp.db()), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("not a database"), std::string::npos) << r.error().message;
}

TEST(EmbeddedStore, SecondOpenOfOneDataDirFailsNamingTheHolder) {
  TempDir tmp;
  auto first = open_store(tmp.path());
  ASSERT_NE(first, nullptr);
  auto second = EmbeddedStore::open(tmp.path());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, "data_dir_in_use");
  EXPECT_NE(second.error().message.find("PID " + std::to_string(::getpid())), std::string::npos)
      << second.error().message;
  first.reset();
  EXPECT_NE(open_store(tmp.path()), nullptr) << "the lock goes with the store";
}

TEST(EmbeddedStore, EmptiedMissingOrForeignDatabaseIsRefusedWhileTheDataDirRemains) {
  TempDir tmp, other;
  {
    auto store = open_store(tmp.path());
    ASSERT_NE(store, nullptr);
    expect_ok(store->wait(store->put_lock("alice", LockInfo{"x", at(1), true, "operator"})));
  }
  { ASSERT_NE(open_store(other.path()), nullptr); }
  ASSERT_TRUE(std::filesystem::exists(tmp.path() + "/mamori.id"));
  const std::string saved = tmp.path() + "/saved.db";
  std::filesystem::copy_file(tmp.db(), saved);

  auto refused = [&](const std::string& why) {
    auto r = EmbeddedStore::open(tmp.path());
    EXPECT_FALSE(r.ok()) << why;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, "store_open_failed");
      EXPECT_NE(r.error().message.find("mamori.id"), std::string::npos) << r.error().message;
    }
  };
  { std::ofstream truncate(tmp.db(), std::ios::trunc); }
  refused("a 0-byte database");
  EXPECT_EQ(std::filesystem::file_size(tmp.db()), 0u) << "a refused open changes nothing";
  std::filesystem::remove(tmp.db());
  refused("a missing database");
  EXPECT_FALSE(std::filesystem::exists(tmp.db()));
  std::filesystem::copy_file(other.db(), tmp.db());
  refused("another data dir's database");

  // Its own database back: opens with everything in it.
  std::filesystem::copy_file(saved, tmp.db(), std::filesystem::copy_options::overwrite_existing);
  {
    auto store = open_store(tmp.path());
    ASSERT_NE(store, nullptr);
    EXPECT_TRUE((*store->account("alice"))->lock.has_value());
  }
  // The operator's way to start afresh: remove the id file too.
  std::filesystem::remove(tmp.db());
  std::filesystem::remove(tmp.path() + "/mamori.id");
  auto fresh = open_store(tmp.path());
  ASSERT_NE(fresh, nullptr);
  EXPECT_FALSE(fresh->account("alice")->has_value());
}

// A journal dir that went away while the database stayed is refused, as a
// lost database is: opening it would start that part empty.
TEST(EmbeddedStore, AMissingJournalDirBesideTheDatabaseIsRefused) {
  TempDir tmp;
  {
    auto store = open_store(tmp.path());
    ASSERT_NE(store, nullptr);
    expect_ok(store->wait(store->append_activity(activity_record("e1", "alice", 1))));
  }
  for (const char* name : {"activity", "profiles"}) {
    SCOPED_TRACE(name);
    const std::string dir = tmp.path() + "/" + name;
    const std::string aside = dir + ".aside";
    std::filesystem::rename(dir, aside);
    auto r = EmbeddedStore::open(tmp.path());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "store_open_failed");
    EXPECT_NE(r.error().message.find(dir), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("missing"), std::string::npos) << r.error().message;
    std::filesystem::rename(aside, dir);
  }
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(event_ids(*store->activity("alice", at(0), 10)), (std::vector<std::string>{"e1"}));
}

// --check-config's check, beside a daemon: the journal dirs usable, the
// profiles' current generation named.
TEST(EmbeddedStore, CheckRefusesJournalDirsTheStoreCouldNotOpen) {
  TempDir tmp;
  { ASSERT_NE(open_store(tmp.path()), nullptr); }
  expect_ok(EmbeddedStore::check(tmp.path()));
  const std::string activity = tmp.path() + "/activity";
  std::filesystem::rename(activity, activity + ".aside");
  std::ofstream(activity) << "not a directory";
  Status s = EmbeddedStore::check(tmp.path());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "store_open_failed");
  EXPECT_NE(s.error().message.find(activity), std::string::npos) << s.error().message;
  std::filesystem::remove(activity);
  std::filesystem::rename(activity + ".aside", activity);
  expect_ok(EmbeddedStore::check(tmp.path()));
  const std::string current = tmp.path() + "/profiles/CURRENT";
  std::filesystem::rename(current, current + ".aside");
  s = EmbeddedStore::check(tmp.path());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("CURRENT"), std::string::npos) << s.error().message;
  std::filesystem::rename(current + ".aside", current);
  expect_ok(EmbeddedStore::check(tmp.path()));
}

TEST(EmbeddedStore, OpenRejectsNewerSchemaVersion) {
  TempDir tmp;
  { ASSERT_NE(open_store(tmp.path()), nullptr); }
  { RawDb(tmp.db()).exec("PRAGMA user_version=99"); }
  auto r = EmbeddedStore::open(tmp.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "store_open_failed");
  EXPECT_NE(r.error().message.find("newer"), std::string::npos) << r.error().message;
}

// ---- accounts ----

TEST(EmbeddedStore, AccountNeverWrittenIsAbsent) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  auto a = store->account("nobody");
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->has_value());
  auto locked = store->locked_accounts();
  ASSERT_TRUE(locked.ok());
  EXPECT_TRUE(locked->empty());
}

TEST(EmbeddedStore, LockRoundTripsAndListsLockedAccounts) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  store->put_lock("bob", LockInfo{"account_locked", at(2000), true, "operator"});
  expect_ok(store->wait(
      store->put_lock("alice", LockInfo{"brute_force", at(1000), false, "brute_force"})));
  expect_ok(store->wait(store->put_contact("carol", Contact{})));

  auto a = store->account("alice");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->has_value());
  const AccountRecord& rec = **a;
  EXPECT_EQ(rec.account, "alice");
  ASSERT_TRUE(rec.lock.has_value());
  EXPECT_EQ(rec.lock->reason, "brute_force");
  EXPECT_EQ(ms(rec.lock->since), 1000);
  EXPECT_FALSE(rec.lock->password_reset_required);
  EXPECT_EQ(rec.lock->by, "brute_force");
  EXPECT_FALSE(rec.last_login.has_value());
  EXPECT_EQ(rec.contact.lang, "en");  // defaults for a contact never set
  EXPECT_TRUE(rec.contact.notify);

  auto locked = store->locked_accounts();
  ASSERT_TRUE(locked.ok());
  ASSERT_EQ(locked->size(), 2u);
  EXPECT_EQ((*locked)[0].account, "alice");
  EXPECT_EQ((*locked)[1].account, "bob");
  ASSERT_TRUE((*locked)[1].lock.has_value());
  EXPECT_TRUE((*locked)[1].lock->password_reset_required);
  EXPECT_EQ((*locked)[1].lock->by, "operator");
}

TEST(EmbeddedStore, ClearLockUnlocksButKeepsContactAndLastLogin) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  store->put_contact("alice", Contact{"alice@example.jp", "ja", false, ""});
  store->put_last_login("alice", LastLogin{at(500), ip("2001:db8::1"), "JP"});
  store->put_lock("alice", LockInfo{"brute_force", at(1000), true, "brute_force"});
  store->clear_lock("nobody");  // no record: stays absent
  expect_ok(store->wait(store->clear_lock("alice")));

  auto a = store->account("alice");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->has_value());
  EXPECT_FALSE((*a)->lock.has_value());
  EXPECT_EQ((*a)->contact.email, "alice@example.jp");
  EXPECT_EQ((*a)->contact.lang, "ja");
  EXPECT_FALSE((*a)->contact.notify);
  ASSERT_TRUE((*a)->last_login.has_value());
  EXPECT_EQ((*a)->last_login->ip, ip("2001:db8::1"));
  EXPECT_TRUE(store->locked_accounts()->empty());
  EXPECT_FALSE(store->account("nobody")->has_value());
}

TEST(EmbeddedStore, ContactAndLastLoginRoundTripAndReplace) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  store->put_contact("alice", Contact{"old@example.com", "en", true, "Europe/Berlin"});
  store->put_contact("alice", Contact{"alice@example.jp", "ja", false, "Asia/Tokyo"});
  store->put_last_login("alice", LastLogin{at(100), ip("198.51.100.7"), ""});
  expect_ok(
      store->wait(store->put_last_login("alice", LastLogin{at(200), ip("203.0.113.9"), "JP"})));

  auto a = store->account("alice");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->has_value());
  EXPECT_FALSE((*a)->lock.has_value());
  EXPECT_EQ((*a)->contact.email, "alice@example.jp");
  EXPECT_EQ((*a)->contact.lang, "ja");
  EXPECT_FALSE((*a)->contact.notify);
  EXPECT_EQ((*a)->contact.time_zone, "Asia/Tokyo");
  ASSERT_TRUE((*a)->last_login.has_value());
  EXPECT_EQ(ms((*a)->last_login->time), 200);
  EXPECT_EQ((*a)->last_login->ip, ip("203.0.113.9"));
  EXPECT_TRUE((*a)->last_login->ip.is_v4());
  EXPECT_EQ((*a)->last_login->country, "JP");
}

// ---- lists ----

TEST(EmbeddedStore, ListEntriesRoundTripReplaceAndDelete) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  store->put_list_entry(
      ListEntry{"l1", ListKind::kDeny, "203.0.113.0/24", "abuse", at(10), at(99)});
  store->put_list_entry(ListEntry{"l2", ListKind::kAllow, "account:ops", "", at(20), std::nullopt});
  store->put_list_entry(ListEntry{"l3", ListKind::kDeny, "country:XX", "", at(30), std::nullopt});
  store->put_list_entry(ListEntry{"l1", ListKind::kDeny, "2001:db8::/32", "moved", at(5), at(77)});
  expect_ok(store->wait(store->delete_list_entry("l3")));

  auto entries = store->list_entries();
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 2u);
  const ListEntry& e1 = (*entries)[0];
  EXPECT_EQ(e1.id, "l1");
  EXPECT_EQ(e1.kind, ListKind::kDeny);
  EXPECT_EQ(e1.target, "2001:db8::/32");
  EXPECT_EQ(e1.reason, "moved");
  EXPECT_EQ(ms(e1.created), 5);
  ASSERT_TRUE(e1.expires.has_value());
  EXPECT_EQ(ms(*e1.expires), 77);
  const ListEntry& e2 = (*entries)[1];
  EXPECT_EQ(e2.id, "l2");
  EXPECT_EQ(e2.kind, ListKind::kAllow);
  EXPECT_EQ(e2.target, "account:ops");
  EXPECT_FALSE(e2.expires.has_value());
}

TEST(EmbeddedStore, OperatorsRoundTripReplaceDeleteAndSurviveReopen) {
  TempDir tmp;
  {
    auto store = open_store(tmp.path());
    ASSERT_NE(store, nullptr);
    OperatorRecord bob{"bob", "$argon2id$bob", {1, 2, 3}, -1, at(10), std::nullopt};
    OperatorRecord alice{"alice", "$argon2id$a1", {4, 5}, 7, at(20), at(30)};
    store->put_operator(bob);
    store->put_operator(alice);
    alice.password_hash = "$argon2id$a2";
    alice.last_step = 9;
    alice.last_sign_in = at(40);
    store->put_operator(alice);
    OperatorRecord carol{"carol", "$argon2id$c", {6}, -1, at(50), std::nullopt};
    store->put_operator(carol);
    expect_ok(store->wait(store->delete_operator("carol")));
  }
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  auto all = store->operator_accounts();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  const OperatorRecord& a = (*all)[0];
  EXPECT_EQ(a.name, "alice");
  EXPECT_EQ(a.password_hash, "$argon2id$a2");
  EXPECT_EQ(a.sealed_secret, (std::vector<std::uint8_t>{4, 5}));
  EXPECT_EQ(a.last_step, 9);
  EXPECT_EQ(ms(a.created), 20);
  ASSERT_TRUE(a.last_sign_in.has_value());
  EXPECT_EQ(ms(*a.last_sign_in), 40);
  EXPECT_EQ((*all)[1].name, "bob");
  EXPECT_FALSE((*all)[1].last_sign_in.has_value());
  auto one = store->operator_account("bob");
  ASSERT_TRUE(one.ok() && one->has_value());
  EXPECT_EQ((*one)->sealed_secret, (std::vector<std::uint8_t>{1, 2, 3}));
  EXPECT_EQ((*one)->last_step, -1);
  auto none = store->operator_account("carol");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

// ---- activity ----

TEST(EmbeddedStore, ActivityRoundTripsEveryField) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  ActivityRecord r;
  r.event_id = "e1";
  r.time = at(1'700'000'000'123);
  r.account = "alice";
  r.type = EventType::kLoginResult;
  r.ip = ip("2001:db8::42");
  r.country = "JP";
  r.city = "東京";
  r.user_agent = "Mozilla/5.0, with a comma";
  r.device_id = "dev-1";
  r.protocol = "web";
  r.success = true;
  r.action = Action::kChallenge;
  r.reasons = {"brute_force", "credential_stuffing"};
  ActivityRecord bare = activity_record("e2", "alice", 1'700'000'000'000);
  bare.type = EventType::kPasswordChanged;
  bare.success = std::nullopt;
  bare.reasons.clear();
  bare.action = Action::kAllow;
  store->append_activity(r);
  expect_ok(store->wait(store->append_activity(bare)));

  auto rows = store->activity("alice", at(0), 10);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  const ActivityRecord& got = (*rows)[0];
  EXPECT_EQ(got.event_id, "e1");
  EXPECT_EQ(ms(got.time), 1'700'000'000'123);
  EXPECT_EQ(got.account, "alice");
  EXPECT_EQ(got.type, EventType::kLoginResult);
  EXPECT_EQ(got.ip, r.ip);
  EXPECT_EQ(got.country, "JP");
  EXPECT_EQ(got.city, "東京");
  EXPECT_EQ(got.user_agent, r.user_agent);
  EXPECT_EQ(got.device_id, "dev-1");
  EXPECT_EQ(got.protocol, "web");
  EXPECT_EQ(got.success, std::optional<bool>(true));
  EXPECT_EQ(got.action, Action::kChallenge);
  EXPECT_EQ(got.reasons, r.reasons);
  const ActivityRecord& got2 = (*rows)[1];
  EXPECT_EQ(got2.type, EventType::kPasswordChanged);
  EXPECT_FALSE(got2.success.has_value());
  EXPECT_TRUE(got2.reasons.empty());
  EXPECT_EQ(got2.action, Action::kAllow);
  EXPECT_EQ(got2.ip, ip("203.0.113.5"));
}

TEST(EmbeddedStore, ActivityIsNewestFirstSinceAndLimited) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  store->append_activity(activity_record("a3", "alice", 300));
  store->append_activity(activity_record("a1", "alice", 100));
  store->append_activity(activity_record("b1", "bob", 250));
  store->append_activity(activity_record("a2", "alice", 200));
  store->append_activity(activity_record("a4", "alice", 300));  // same time: later write first
  expect_ok(store->wait(store->append_activity(activity_record("a0", "alice", 50))));

  auto all = store->activity("alice", at(0), 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(event_ids(*all), (std::vector<std::string>{"a4", "a3", "a2", "a1", "a0"}));
  auto since = store->activity("alice", at(200), 100);
  ASSERT_TRUE(since.ok());
  EXPECT_EQ(event_ids(*since), (std::vector<std::string>{"a4", "a3", "a2"}));
  auto limited = store->activity("alice", at(0), 2);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(event_ids(*limited), (std::vector<std::string>{"a4", "a3"}));
  EXPECT_TRUE(store->activity("alice", at(0), 0)->empty());
  EXPECT_TRUE(store->activity("carol", at(0), 10)->empty());
}

TEST(EmbeddedStore, FailedLoginsSinceAreTheNewestFailedResultsOldestFirst) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  auto write = [&](std::string account, std::int64_t time_ms, EventType type,
                   std::optional<bool> success, std::string_view from = "203.0.113.5") {
    ActivityRecord r = activity_record("e-" + account, std::move(account), time_ms);
    r.type = type;
    r.success = success;
    r.ip = ip(from);
    return store->append_activity(r);
  };
  write("old", 50, EventType::kLoginResult, false);  // before `since`
  write("f300", 300, EventType::kLoginResult, false, "2001:db8::7");
  write("ok", 150, EventType::kLoginResult, true);
  write("attempt", 160, EventType::kLoginAttempt, std::nullopt);
  write("changed", 170, EventType::kPasswordChanged, std::nullopt);
  write("f100", 100, EventType::kLoginResult, false);
  write("f200a", 200, EventType::kLoginResult, false);
  expect_ok(store->wait(write("f200b", 200, EventType::kLoginResult, false)));

  auto read = [&](std::size_t limit) {
    std::vector<std::string> got;
    Status s = store->failed_logins_since(at(100), limit, [&](const ActivityRecord& r) {
      EXPECT_EQ(r.type, EventType::kLoginResult);
      EXPECT_EQ(r.success, std::optional<bool>(false));
      got.push_back(r.account + "@" + std::to_string(ms(r.time)) + "/" + r.ip.to_string());
    });
    expect_ok(s);
    return got;
  };
  EXPECT_EQ(read(100), (std::vector<std::string>{"f100@100/203.0.113.5", "f200a@200/203.0.113.5",
                                                 "f200b@200/203.0.113.5", "f300@300/2001:db8::7"}));
  // The newest three, still oldest first (ties in the order they were written).
  EXPECT_EQ(read(3), (std::vector<std::string>{"f200a@200/203.0.113.5", "f200b@200/203.0.113.5",
                                               "f300@300/2001:db8::7"}));
  EXPECT_TRUE(read(0).empty());
}

// ---- incidents ----

Incident incident(std::string id, std::int64_t started, std::int64_t last_seen) {
  Incident i;
  i.id = std::move(id);
  i.kind = IncidentKind::kCredentialStuffing;
  i.started = at(started);
  i.last_seen = at(last_seen);
  i.sources = {"203.0.113.0/24", "2001:db8::/64"};
  i.accounts_targeted = 40;
  i.accounts_compromised = 2;
  return i;
}

TEST(EmbeddedStore, IncidentRoundTripsAndPutReplacesHeader) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  store->put_incident(incident("inc1", 100, 200));
  Incident updated = incident("inc1", 100, 900);
  updated.kind = IncidentKind::kPasswordSpray;
  updated.sources = {"198.51.100.1"};
  updated.accounts_targeted = 500;
  updated.accounts_compromised = 0;
  expect_ok(store->wait(store->put_incident(updated)));

  auto got = store->incident("inc1");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->id, "inc1");
  EXPECT_EQ((*got)->kind, IncidentKind::kPasswordSpray);
  EXPECT_EQ(ms((*got)->started), 100);
  EXPECT_EQ(ms((*got)->last_seen), 900);
  EXPECT_EQ((*got)->sources, (std::vector<std::string>{"198.51.100.1"}));
  EXPECT_EQ((*got)->accounts_targeted, 500);
  EXPECT_EQ((*got)->accounts_compromised, 0);
  auto missing = store->incident("nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST(EmbeddedStore, IncidentsAreNewestFirstByLastSeenSince) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  store->put_incident(incident("old", 10, 100));
  store->put_incident(incident("newest", 20, 500));
  expect_ok(store->wait(store->put_incident(incident("middle", 5, 300))));

  auto all = store->incidents(at(0));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(incident_ids(*all), (std::vector<std::string>{"newest", "middle", "old"}));
  EXPECT_EQ((*all)[0].sources, (std::vector<std::string>{"203.0.113.0/24", "2001:db8::/64"}));
  auto recent = store->incidents(at(300));
  ASSERT_TRUE(recent.ok());
  EXPECT_EQ(incident_ids(*recent), (std::vector<std::string>{"newest", "middle"}));
}

TEST(EmbeddedStore, IncidentAccountUpsertKeepsEarliestLatestAndOrsSuccess) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  store->put_incident_account("inc1", IncidentAccount{"alice", at(200), at(300), false});
  store->put_incident_account("inc1", IncidentAccount{"alice", at(100), at(250), true});
  store->put_incident_account("inc1", IncidentAccount{"alice", at(150), at(400), false});
  store->put_incident_account("inc1", IncidentAccount{"bob", at(500), at(500), false});
  expect_ok(store->wait(
      store->put_incident_account("inc2", IncidentAccount{"alice", at(1), at(2), false})));

  auto rows = store->incident_accounts("inc1");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].account, "alice");
  EXPECT_EQ(ms((*rows)[0].first_seen), 100);
  EXPECT_EQ(ms((*rows)[0].last_seen), 400);
  EXPECT_TRUE((*rows)[0].login_succeeded);
  EXPECT_EQ((*rows)[1].account, "bob");
  EXPECT_FALSE((*rows)[1].login_succeeded);
  EXPECT_EQ(store->incident_accounts("inc2")->size(), 1u);
  EXPECT_TRUE(store->incident_accounts("none")->empty());
}

TEST(EmbeddedStore, IncidentAndAccountAreWrittenTogether) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  Incident inc{"inc1",      IncidentKind::kCredentialStuffing, at(1), at(5), {"203.0.113.7"}, 1, 1,
               std::nullopt};
  store->put_incident(inc);
  expect_ok(store->wait(store->put_incident_counts({"inc1", at(5), 1, 1},
                                                   IncidentAccount{"alice", at(5), at(5), true})));
  // An existing account is upserted as put_incident_account does.
  expect_ok(store->wait(store->put_incident_counts({"inc1", at(9), 1, 1},
                                                   IncidentAccount{"alice", at(2), at(9), false})));
  // The counts alone; the sources stay as put_incident wrote them.
  expect_ok(store->wait(store->put_incident_counts({"inc1", at(11), 2, 1}, std::nullopt)));
  auto header = store->incident("inc1");
  ASSERT_TRUE(header.ok() && header->has_value());
  EXPECT_EQ(ms((*header)->last_seen), 11);
  EXPECT_EQ((*header)->accounts_targeted, 2);
  EXPECT_EQ((*header)->accounts_compromised, 1);
  EXPECT_EQ((*header)->sources, std::vector<std::string>{"203.0.113.7"});
  EXPECT_EQ(ms((*header)->started), 1);
  auto rows = store->incident_accounts("inc1");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(ms((*rows)[0].first_seen), 2);
  EXPECT_TRUE((*rows)[0].login_succeeded);
}

TEST(EmbeddedStore, IncidentsForAccountJoinsTouchedAccountsNewestFirst) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  store->put_incident(incident("inc_old", 10, 100));
  store->put_incident(incident("inc_new", 20, 900));
  store->put_incident(incident("inc_other", 30, 500));
  store->put_incident_account("inc_old", IncidentAccount{"alice", at(10), at(20), false});
  store->put_incident_account("inc_new", IncidentAccount{"alice", at(20), at(30), true});
  expect_ok(store->wait(
      store->put_incident_account("inc_other", IncidentAccount{"bob", at(30), at(40), false})));

  auto alice = store->incidents_for_account("alice");
  ASSERT_TRUE(alice.ok());
  EXPECT_EQ(incident_ids(*alice), (std::vector<std::string>{"inc_new", "inc_old"}));
  EXPECT_EQ((*alice)[0].accounts_targeted, 40);
  EXPECT_EQ(incident_ids(*store->incidents_for_account("bob")),
            (std::vector<std::string>{"inc_other"}));
  EXPECT_TRUE(store->incidents_for_account("carol")->empty());
}

// ---- blocks ----

TEST(EmbeddedStore, BlockRoundTripsAndReplacesSameScopeAndKey) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  store->put_block(
      Block{"ip", "203.0.113.5", Reason::kIpFailures, Action::kDelay, at(100), at(1000), ""});
  store->put_block(Block{"account_ip", "alice|203.0.113.5", Reason::kBruteForce, Action::kDeny,
                         at(150), at(2000), ""});
  expect_ok(store->wait(store->put_block(Block{"ip", "203.0.113.5", Reason::kCredentialStuffing,
                                               Action::kDeny, at(200), at(5000), "inc1"})));

  auto rows = store->blocks(at(0));
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  const Block& b1 = (*rows)[0];
  EXPECT_EQ(b1.scope, "account_ip");
  EXPECT_EQ(b1.key, "alice|203.0.113.5");
  EXPECT_EQ(b1.reason, Reason::kBruteForce);
  EXPECT_EQ(b1.action, Action::kDeny);
  EXPECT_EQ(ms(b1.since), 150);
  EXPECT_EQ(ms(b1.until), 2000);
  EXPECT_EQ(b1.incident_id, "");
  const Block& b2 = (*rows)[1];
  EXPECT_EQ(b2.scope, "ip");
  EXPECT_EQ(b2.reason, Reason::kCredentialStuffing);
  EXPECT_EQ(ms(b2.since), 200);
  EXPECT_EQ(ms(b2.until), 5000);
  EXPECT_EQ(b2.incident_id, "inc1");
}

TEST(EmbeddedStore, BlocksReturnsOnlyThoseEndingAfterNowAndDeleteRemoves) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  store->put_block(Block{"ip", "a", Reason::kIpFailures, Action::kDeny, at(0), at(100), ""});
  store->put_block(Block{"ip", "b", Reason::kIpFailures, Action::kDeny, at(1), at(200), ""});
  expect_ok(store->wait(store->put_block(
      Block{"network", "c", Reason::kIpFailures, Action::kDeny, at(2), at(300), ""})));

  auto at_200 = store->blocks(at(200));  // until > now: "b" has ended exactly now
  ASSERT_TRUE(at_200.ok());
  ASSERT_EQ(at_200->size(), 1u);
  EXPECT_EQ((*at_200)[0].key, "c");
  EXPECT_EQ(store->blocks(at(99))->size(), 3u);

  expect_ok(store->wait(store->delete_block("ip", "b")));
  auto left = store->blocks(at(0));
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 2u);
  EXPECT_EQ((*left)[0].key, "a");
  EXPECT_EQ((*left)[1].key, "c");
}

// ---- prune ----

constexpr std::int64_t kDayMs = 24 * 3600 * 1000;

// Activity goes by whole UTC days: a day that ends at or before the cut is
// dropped, the day the cut falls in is kept whole.
TEST(EmbeddedStore, PruneDropsWholeDaysOfActivityAndEndedBlocks) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  store->append_activity(activity_record("old", "alice", kDayMs - 1));
  store->append_activity(activity_record("edge", "alice", kDayMs));
  store->append_activity(activity_record("new", "bob", 2 * kDayMs + 150));
  store->put_block(Block{"ip", "ended", Reason::kIpFailures, Action::kDeny, at(0), at(99), ""});
  store->put_block(Block{"ip", "edge", Reason::kIpFailures, Action::kDeny, at(0), at(100), ""});
  store->put_block(Block{"ip", "live", Reason::kIpFailures, Action::kDeny, at(0), at(500), ""});
  expect_ok(
      store->wait(store->put_lock("alice", LockInfo{"brute_force", at(1), false, "brute_force"})));
  EXPECT_EQ(store->activity_journal().partition_names().size(), 3u);
  expect_ok(store->wait(store->prune_activity(at(kDayMs + kDayMs / 2))));
  store->drain();
  // The drop runs on the writer after its batch: the next batch follows it.
  expect_ok(store->wait(store->put_contact("carol", Contact{})));
  EXPECT_EQ(event_ids(*store->activity("alice", at(0), 100)), (std::vector<std::string>{"edge"}));
  EXPECT_EQ(event_ids(*store->activity("bob", at(0), 100)), (std::vector<std::string>{"new"}));
  EXPECT_EQ(store->activity_journal().partition_names(),
            (std::vector<std::string>{"19700102", "19700103"}));
  EXPECT_FALSE(std::filesystem::exists(tmp.path() + "/activity/19700101"));
  EXPECT_EQ(store->blocks(at(0))->size(), 3u);  // each role prunes its own

  expect_ok(store->wait(store->prune_blocks(at(100))));
  EXPECT_EQ(failed_logins(*store), 2u);
  auto blocks = store->blocks(at(0));
  ASSERT_TRUE(blocks.ok());
  ASSERT_EQ(blocks->size(), 2u);
  EXPECT_EQ((*blocks)[0].key, "edge");
  EXPECT_EQ((*blocks)[1].key, "live");
  EXPECT_EQ(store->locked_accounts()->size(), 1u);  // neither touches the accounts
  std::string metrics;
  store->render_metrics(metrics);
  EXPECT_NE(metrics.find("mamori_store_activity_partitions_dropped_total 1\n"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("mamori_store_activity_partitions 2\n"), std::string::npos) << metrics;
}

// ---- durability ----

TEST(EmbeddedStore, LockSurvivesReopen) {
  TempDir tmp;
  {
    auto store = open_store(tmp.path());
    ASSERT_NE(store, nullptr);
    expect_ok(store->wait(
        store->put_lock("alice", LockInfo{"account_locked", at(42), true, "operator"})));
  }
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  auto a = store->account("alice");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->has_value());
  ASSERT_TRUE((*a)->lock.has_value());
  EXPECT_EQ((*a)->lock->reason, "account_locked");
  EXPECT_EQ(ms((*a)->lock->since), 42);
  EXPECT_TRUE((*a)->lock->password_reset_required);
}

TEST(EmbeddedStore, ReopenKeepsEveryRecordTypeAndNewTicketsCarryOn) {
  TempDir tmp;
  {
    auto store = open_store(tmp.path());
    ASSERT_NE(store, nullptr);
    store->put_lock("alice", LockInfo{"brute_force", at(1), false, "brute_force"});
    store->put_contact("alice", Contact{"a@example.com", "ja", true, ""});
    store->put_last_login("alice", LastLogin{at(2), ip("192.0.2.1"), "JP"});
    store->put_list_entry(
        ListEntry{"l1", ListKind::kDeny, "192.0.2.0/24", "", at(3), std::nullopt});
    store->append_activity(activity_record("e1", "alice", 4));
    store->put_incident(incident("inc1", 5, 6));
    store->put_incident_account("inc1", IncidentAccount{"alice", at(5), at(6), true});
    expect_ok(store->wait(store->put_block(
        Block{"account", "alice", Reason::kBruteForce, Action::kLock, at(7), at(8000), "inc1"})));
  }
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  auto a = store->account("alice");
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_TRUE((*a)->lock.has_value());
  EXPECT_EQ((*a)->contact.email, "a@example.com");
  ASSERT_TRUE((*a)->last_login.has_value());
  EXPECT_EQ((*a)->last_login->ip, ip("192.0.2.1"));
  EXPECT_EQ(store->list_entries()->size(), 1u);
  EXPECT_EQ(event_ids(*store->activity("alice", at(0), 10)), (std::vector<std::string>{"e1"}));
  EXPECT_EQ(incident_ids(*store->incidents_for_account("alice")),
            (std::vector<std::string>{"inc1"}));
  EXPECT_TRUE(store->incident_accounts("inc1")->at(0).login_succeeded);
  ASSERT_EQ(store->blocks(at(0))->size(), 1u);
  EXPECT_EQ(store->blocks(at(0))->at(0).action, Action::kLock);
  // Tickets are per open store and start again at 1.
  const WriteTicket t = store->clear_lock("alice");
  EXPECT_EQ(t, 1u);
  expect_ok(store->wait(t));
  EXPECT_TRUE(store->locked_accounts()->empty());
}

TEST(EmbeddedStore, DestructorCommitsEverythingQueued) {
  TempDir tmp;
  constexpr int kWrites = 500;
  {
    auto store = open_store(tmp.path());
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < kWrites; ++i)
      store->append_activity(activity_record("e" + std::to_string(i), "alice", i));
  }  // no wait(): destruction must drain the queue
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  auto rows = store->activity("alice", at(0), 10'000);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), static_cast<size_t>(kWrites));
  EXPECT_EQ(rows->front().event_id, "e" + std::to_string(kWrites - 1));
  EXPECT_EQ(rows->back().event_id, "e0");
}

TEST(EmbeddedStore, CommittedWritesSurviveKill9) {
  TempDir tmp;
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: no gtest assertions here; report trouble through the exit code.
    auto opened = EmbeddedStore::open(tmp.path());
    if (!opened) _exit(2);
    EmbeddedStore& store = **opened;
    store.put_lock("alice", LockInfo{"brute_force", at(1234), true, "brute_force"});
    store.put_list_entry(
        ListEntry{"deny1", ListKind::kDeny, "203.0.113.0/24", "abuse", at(1), std::nullopt});
    const WriteTicket t = store.append_activity(activity_record("e1", "alice", 1234));
    if (!store.wait(t)) _exit(3);
    raise(SIGKILL);
    _exit(4);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  ASSERT_EQ(WTERMSIG(status), SIGKILL);

  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  auto a = store->account("alice");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->has_value());
  ASSERT_TRUE((*a)->lock.has_value());
  EXPECT_EQ(ms((*a)->lock->since), 1234);
  EXPECT_TRUE((*a)->lock->password_reset_required);
  auto entries = store->list_entries();
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].id, "deny1");
  EXPECT_EQ((*entries)[0].target, "203.0.113.0/24");
  EXPECT_EQ(event_ids(*store->activity("alice", at(0), 10)), (std::vector<std::string>{"e1"}));
}

// ---- tickets and failed commits (the queue itself: commit_queue_test.cc) ----

TEST(EmbeddedStore, ConcurrentWritersAllCommitWithUniqueOrderedTickets) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::vector<std::vector<WriteTicket>> tickets(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string account = "user" + std::to_string(t);
      for (int i = 0; i < kPerThread; ++i) {
        const WriteTicket ticket =
            store->append_activity(activity_record(account + "_" + std::to_string(i), account, i));
        tickets[t].push_back(ticket);
        if (i % 10 == 9 && !store->wait(ticket).ok()) ++failures;
        // Every ticket up to one that has been waited for reads as committed.
        if (i % 10 == 9 && store->committed() < ticket) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);

  std::set<WriteTicket> all;
  for (const auto& ts : tickets) {
    EXPECT_TRUE(std::is_sorted(ts.begin(), ts.end()));
    EXPECT_EQ(std::adjacent_find(ts.begin(), ts.end()), ts.end());
    all.insert(ts.begin(), ts.end());
  }
  constexpr WriteTicket kTotal = kThreads * kPerThread;
  ASSERT_EQ(all.size(), kTotal);
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(*all.rbegin(), kTotal);
  EXPECT_EQ(store->committed(), kTotal);
  EXPECT_LE(store->batches_committed(), kTotal);
  EXPECT_EQ(store->batches_failed(), 0u);

  for (int t = 0; t < kThreads; ++t) {
    auto rows = store->activity("user" + std::to_string(t), at(0), 1000);
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), static_cast<size_t>(kPerThread));
    // Per account, writes landed in the order they were queued.
    EXPECT_EQ(rows->front().event_id,
              "user" + std::to_string(t) + "_" + std::to_string(kPerThread - 1));
  }
  EXPECT_EQ(failed_logins(*store), static_cast<size_t>(kTotal));
}

TEST(EmbeddedStore, FailedCommitCarriesStoreWriteFailedAndWriterGoesOn) {
  TempDir tmp;
  EmbeddedStoreOptions options;
  options.sqlite.busy_timeout = std::chrono::milliseconds(20);
  auto store = open_store(tmp.path(), options);
  ASSERT_NE(store, nullptr);
  RawDb raw(tmp.db());
  raw.exec("BEGIN IMMEDIATE");  // the writer's transaction times out on this lock
  const WriteTicket failed = store->put_lock("alice", LockInfo{"brute_force", at(1), false, "x"});
  std::promise<Status> callback;
  store->on_committed(failed, [&](const Status& s) { callback.set_value(s); });
  Status s = store->wait(failed);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "store_write_failed");
  Status cs = callback.get_future().get();
  ASSERT_FALSE(cs.ok());
  EXPECT_EQ(cs.error().code, "store_write_failed");
  EXPECT_GE(store->batches_failed(), 1u);
  raw.exec("ROLLBACK");

  const WriteTicket next = store->put_lock("bob", LockInfo{"brute_force", at(2), false, "x"});
  expect_ok(store->wait(next));
  EXPECT_TRUE(store->account("bob")->has_value());
  EXPECT_FALSE(store->account("alice")->has_value());  // the failed batch left nothing
  // Asked again later, the failed ticket still reports its error.
  EXPECT_EQ(store->wait(failed).error().code, "store_write_failed");
  Status late;
  store->on_committed(failed, [&](const Status& st) { late = st; });
  EXPECT_EQ(late.error().code, "store_write_failed");
}

TEST(EmbeddedStore, SpanFailsWhenAnyOfItsWritesFailedAndAvailabilityReturnsByItself) {
  TempDir tmp;
  EmbeddedStoreOptions options;
  options.sqlite.busy_timeout = std::chrono::milliseconds(20);
  auto store = open_store(tmp.path(), options);
  ASSERT_NE(store, nullptr);
  std::vector<WriteSpan> heard;
  std::mutex heard_mu;
  const std::uint64_t listener = store->on_failed_commit([&](const WriteSpan& s, const Error& e) {
    std::lock_guard lock(heard_mu);
    heard.push_back(s);
    EXPECT_EQ(e.code, "store_write_failed");
  });
  const WriteTicket before = store->put_lock("a", LockInfo{"x", at(1), false, "x"});
  expect_ok(store->wait(before));
  EXPECT_TRUE(store->available());

  RawDb raw(tmp.db());
  raw.exec("BEGIN IMMEDIATE");
  const WriteTicket f1 = store->put_lock("b", LockInfo{"x", at(1), false, "x"});
  (void)store->wait(f1);
  const WriteTicket f2 = store->put_lock("c", LockInfo{"x", at(1), false, "x"});
  (void)store->wait(f2);
  EXPECT_FALSE(store->available());
  raw.exec("ROLLBACK");
  const WriteTicket after = store->put_lock("d", LockInfo{"x", at(1), false, "x"});
  expect_ok(store->wait(after));
  EXPECT_TRUE(store->available()) << "commits succeed again without a restart";

  expect_ok(store->status(WriteSpan{before, before}));
  expect_ok(store->status(WriteSpan{after, after}));
  expect_ok(store->status(WriteSpan{}));
  EXPECT_EQ(store->status(WriteSpan{f1, f1}).error().code, "store_write_failed");
  EXPECT_EQ(store->status(WriteSpan{f2, f2}).error().code, "store_write_failed");
  // A span is stored only when all of it is: one failed write in its middle fails it.
  EXPECT_FALSE(store->status(WriteSpan{before, after}).ok());
  EXPECT_EQ(store->batches_failed(), 2u);
  EXPECT_EQ(store->writes_failed(), 2u);
  {
    std::lock_guard lock(heard_mu);
    ASSERT_EQ(heard.size(), 2u);
    EXPECT_EQ(heard[0].first, f1);
    EXPECT_EQ(heard[1].last, f2);
  }
  std::string metrics;
  store->render_metrics(metrics);
  EXPECT_NE(metrics.find("mamori_store_writes_failed_total 2"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("mamori_store_available 1"), std::string::npos) << metrics;

  // A removed listener hears no more failures.
  store->remove_failure_listener(listener);
  raw.exec("BEGIN IMMEDIATE");
  (void)store->wait(store->put_lock("e", LockInfo{"x", at(1), false, "x"}));
  raw.exec("ROLLBACK");
  std::lock_guard lock(heard_mu);
  EXPECT_EQ(heard.size(), 2u);
}

// A writer that never pauses still gets its WAL copied into the database and
// started over: the log stays near the checkpoint size instead of growing
// with every commit.
TEST(EmbeddedStore, WalIsCheckpointedAndWrapsUnderContinuousWrites) {
  TempDir tmp;
  EmbeddedStoreOptions options;
  options.sqlite.checkpoint_pages = 64;  // 256 KiB
  auto store = open_store(tmp.path(), options);
  ASSERT_NE(store, nullptr);
  const std::string wal = tmp.db() + "-wal";
  std::uintmax_t largest_wal = 0;
  WriteTicket last = 0;
  for (int i = 0; i < 40'000; ++i) {
    // SQLite's writes (the activity log is the journal's), appended in key
    // order as activity rows were.
    ListEntry e;
    char id[16];
    std::snprintf(id, sizeof id, "e%08d", i);
    e.id = id;
    e.target = "10." + std::to_string(i / 65536) + "." + std::to_string(i / 256 % 256) + "." +
               std::to_string(i % 256);
    e.reason = "load " + std::string(200, 'r');  // about an activity row's size and its indexes'
    e.created = at(i);
    last = store->put_list_entry(std::move(e));
    if (i % 500 == 499) {
      expect_ok(store->wait(last));
      std::error_code ec;
      largest_wal = std::max(largest_wal, std::filesystem::file_size(wal, ec));
    }
    // Readers keep their snapshot between reads while nothing commits: that
    // must not keep the log from starting over. (An account read: a profile
    // read of an account without one would not query.)
    if (i % 100 == 0) {
      ASSERT_TRUE(store->account("user" + std::to_string(i)).ok());
    }
  }
  expect_ok(store->wait(last));
  // The writer finishes a checkpoint between two batches, once the
  // checkpoint thread's passes are done: on busy cores those may end after
  // the last batch above, so a few more writes give it its turn (bounded).
  const auto turn = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (int n = 0; store->sqlite().checkpoints() == 0 && std::chrono::steady_clock::now() < turn;
       ++n) {
    expect_ok(store->wait(store->put_contact("poke" + std::to_string(n), Contact{})));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GT(store->sqlite().checkpoints(), 0u);
  // Without a checkpoint that lets it start over, the log of these 80 small
  // commits grows past 60 MiB; with one, it stays at a few MiB, how many
  // depending on how far the checkpoint thread lags behind the writer (up
  // to 26 MiB seen with the machine's cores busy with other work).
  EXPECT_LT(largest_wal, std::uintmax_t{40} << 20);
  // The checkpoint thread copies the log into the database in passes of its
  // own, which may lag the writer on busy cores: wait (bounded) for them to
  // reach the database rather than reading its size at once.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::filesystem::file_size(tmp.db()) <= (std::uintmax_t{1} << 20) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GT(std::filesystem::file_size(tmp.db()), std::uintmax_t{1} << 20);
  auto entries = store->list_entries();
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(entries->size(), 40'000u);
}

// ---- reads ----

TEST(EmbeddedStore, AReadAfterACommitSeesItThoughTheReaderKeptASnapshot) {
  TempDir tmp;
  EmbeddedStoreOptions options;
  options.sqlite.max_idle_readers = 1;  // every read below uses the same connection
  auto store = open_store(tmp.path(), options);
  ASSERT_NE(store, nullptr);
  for (int round = 1; round <= 5; ++round) {
    // Two reads with nothing committed between them share a snapshot...
    ASSERT_TRUE(store->profile("alice").ok());
    auto before = store->profile("alice");
    ASSERT_TRUE(before.ok());
    EXPECT_EQ(before->countries.size(), std::size_t(round - 1));
    // ...and a read after a commit sees it.
    AccountProfile p = *before;
    p.countries.push_back("C" + std::to_string(round));
    expect_ok(store->wait(store->put_profile("alice", p)));
    auto after = store->profile("alice");
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(after->countries.size(), std::size_t(round)) << "round " << round;
  }
}

// Profiles are the profile journal's, read latest-wins, before and after an
// index pass and after a reopen (the filter of accounts with a profile is
// rebuilt from the journal's runs and its tail); an account that never had
// one reads empty, without a journal read.
TEST(EmbeddedStore, ProfilesReadBackLatestAfterReopenAndUnknownAccountsAreEmpty) {
  TempDir tmp;
  auto device_of = [](int i) { return "id:device-" + std::to_string(i); };
  int known = 3000;
  auto check = [&](EmbeddedStore& store) {
    for (int i = 0; i < known; ++i) {
      auto p = store.profile("known" + std::to_string(i));
      ASSERT_TRUE(p.ok());
      ASSERT_EQ(p->devices.size(), 1u) << i;
      EXPECT_EQ(p->devices[0].key, device_of(i + (i < 3000 && i % 3 == 0 ? 1 : 0)));
    }
    const std::uint64_t skipped = store.profile_reads_skipped();
    for (int i = 0; i < 1000; ++i) {
      auto p = store.profile("unknown" + std::to_string(i));
      ASSERT_TRUE(p.ok());
      EXPECT_TRUE(p->empty());
    }
    EXPECT_GE(store.profile_reads_skipped() - skipped, 990u);  // false positives only read
  };
  EmbeddedStoreOptions still;  // index passes only when the test runs them
  still.profiles.background_indexer = false;
  {
    auto store = open_store(tmp.path(), still);
    ASSERT_NE(store, nullptr);
    WriteTicket last = 0;
    for (int i = 0; i < 3000; ++i) {
      AccountProfile p;
      p.devices.push_back(KnownDevice{device_of(i), "", "", at(i), at(i)});
      last = store->put_profile("known" + std::to_string(i), p);
    }
    for (int i = 0; i < 3000; i += 3) {  // a later version replaces the first
      AccountProfile p;
      p.devices.push_back(KnownDevice{device_of(i + 1), "", "", at(i), at(i)});
      last = store->put_profile("known" + std::to_string(i), p);
    }
    expect_ok(store->wait(last));
    check(*store);
    expect_ok(store->profile_journal().index());
    check(*store);
    // Half of them indexed, half in the tail at the reopen.
    for (int i = 3000; i < 4000; ++i) {
      AccountProfile p;
      p.devices.push_back(KnownDevice{device_of(i), "", "", at(i), at(i)});
      last = store->put_profile("known" + std::to_string(i), p);
    }
    expect_ok(store->wait(last));
    std::string metrics;
    store->render_metrics(metrics);
    EXPECT_NE(metrics.find("mamori_store_profiles_appended_total 5000\n"), std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find("mamori_store_profile_reads_skipped_total " +
                           std::to_string(store->profile_reads_skipped()) + "\n"),
              std::string::npos);
  }
  known = 4000;
  auto reopened = open_store(tmp.path(), still);
  ASSERT_NE(reopened, nullptr);
  EXPECT_GT(reopened->profile_journal().stats().runs, 0u);
  EXPECT_GT(reopened->profile_journal().stats().tail_entries, 0u);
  check(*reopened);
}

TEST(EmbeddedStore, ReadersRunConcurrentlyWithWritesAndSeeCommittedData) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  expect_ok(store->wait(store->put_lock("alice", LockInfo{"brute_force", at(1), false, "x"})));
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  std::thread writer([&] {
    for (int i = 0; i < 300; ++i) {
      const WriteTicket t =
          store->append_activity(activity_record("e" + std::to_string(i), "alice", i));
      if (i % 30 == 29) {
        if (!store->wait(t).ok()) ++errors;
        // A write that has been waited for is visible to every reader.
        auto rows = store->activity("alice", at(0), 1000);
        if (!rows.ok() || rows->size() < static_cast<size_t>(i + 1)) ++errors;
      }
    }
    stop = true;
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto a = store->account("alice");
        if (!a.ok() || !a->has_value() || !(*a)->lock.has_value()) ++errors;
        if (!store->activity("alice", at(0), 50).ok()) ++errors;
      }
    });
  }
  writer.join();
  for (auto& th : readers) th.join();
  EXPECT_EQ(errors.load(), 0);
}

// ---- the composition: one batch over SQLite and the journals ----

// Queues `second` and `third` from the on_committed callback of a first
// write: the writer is between two batches then, so both go into the next
// batch together. Returns the tickets of the two.
std::pair<WriteTicket, WriteTicket> queue_together(EmbeddedStore& store,
                                                   const std::function<WriteTicket()>& second,
                                                   const std::function<WriteTicket()>& third) {
  std::promise<std::pair<WriteTicket, WriteTicket>> queued;
  const WriteTicket first = store.put_contact("someone", Contact{"s@example.com", "en", true, ""});
  store.on_committed(first, [&](const Status&) {
    const WriteTicket a = second();
    const WriteTicket b = third();
    queued.set_value({a, b});
  });
  return queued.get_future().get();
}

std::uintmax_t journal_size(const std::string& data_dir, const char* day) {
  std::error_code ec;
  return std::filesystem::file_size(data_dir + "/activity/" + day + "/journal", ec);
}

EmbeddedStoreOptions without_indexers() {
  EmbeddedStoreOptions o;
  o.activity.background_indexer = false;
  o.profiles.background_indexer = false;
  return o;
}

// The SQLite part of a batch fails at COMMIT (its WAL cannot grow) after the
// journal wrote its part: the journal is truncated back and nothing of the
// batch is read, neither the entry nor the lock.
TEST(EmbeddedStoreBatch, ABatchWhoseSqlitePartFailsLeavesNoJournalEntryAndTheFileTruncated) {
  TempDir tmp;
  auto store = open_store(tmp.path(), without_indexers());
  ASSERT_NE(store, nullptr);
  // A WAL well past the limit below, a journal well under it.
  for (int i = 0; i < 100; ++i)
    expect_ok(store->wait(
        store->put_last_login("user" + std::to_string(i), LastLogin{at(i), ip("192.0.2.1"), ""})));
  expect_ok(store->wait(store->append_activity(activity_record("kept", "alice", 1000))));
  const std::uintmax_t before = journal_size(tmp.path(), "19700101");
  ASSERT_GT(before, 0u);
  std::error_code ec;
  ASSERT_GT(std::filesystem::file_size(tmp.db() + "-wal", ec), std::uintmax_t{256} << 10);
  std::pair<WriteTicket, WriteTicket> t;
  {
    FileSizeLimit limit(64 << 10);
    t = queue_together(
        *store, [&] { return store->append_activity(activity_record("lost", "alice", 2000)); },
        [&] {
          return store->put_lock("alice", LockInfo{"brute_force", at(2), false, "x"});
        });
    EXPECT_EQ(store->wait(t.second).error().code, "store_write_failed");
  }
  EXPECT_EQ(store->wait(t.first).error().code, "store_write_failed");
  EXPECT_EQ(journal_size(tmp.path(), "19700101"), before) << "the journal was not truncated back";
  EXPECT_EQ(event_ids(*store->activity("alice", at(0), 100)), (std::vector<std::string>{"kept"}));
  EXPECT_FALSE(store->account("alice")->has_value());
  // The writer goes on, and the next entry follows the kept one in the file.
  expect_ok(store->wait(store->append_activity(activity_record("after", "alice", 3000))));
  EXPECT_EQ(event_ids(*store->activity("alice", at(0), 100)),
            (std::vector<std::string>{"after", "kept"}));
  expect_ok(store->activity_journal().index());
  store.reset();
  auto reopened = open_store(tmp.path());
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(event_ids(*reopened->activity("alice", at(0), 100)),
            (std::vector<std::string>{"after", "kept"}));
}

// The journal's write fails (the file cannot grow) while SQLite's could
// have succeeded: the SQLite part is rolled back with it.
TEST(EmbeddedStoreBatch, ABatchWhoseJournalWriteFailsRollsTheSqlitePartBack) {
  TempDir tmp;
  auto store = open_store(tmp.path(), without_indexers());
  ASSERT_NE(store, nullptr);
  // A journal file far larger than the WAL will be.
  WriteTicket last = 0;
  for (int i = 0; i < 3000; ++i)
    last = store->append_activity(activity_record("e" + std::to_string(i), "bob", 1000 + i));
  expect_ok(store->wait(last));
  const std::uintmax_t before = journal_size(tmp.path(), "19700101");
  ASSERT_GT(before, std::uintmax_t{128} << 10);
  std::pair<WriteTicket, WriteTicket> t;
  {
    FileSizeLimit limit(before);
    t = queue_together(
        *store, [&] { return store->append_activity(activity_record("lost", "alice", 2000)); },
        [&] {
          return store->put_lock("alice", LockInfo{"brute_force", at(2), false, "x"});
        });
    const Status s = store->wait(t.second);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, "store_write_failed");
    // Under the same limit SQLite alone commits: it was the journal.
    expect_ok(store->wait(store->put_lock("carol", LockInfo{"brute_force", at(3), false, "x"})));
  }
  EXPECT_FALSE(store->wait(t.first).ok());
  EXPECT_FALSE(store->account("alice")->has_value()) << "the SQLite part was not rolled back";
  EXPECT_TRUE(store->account("carol")->has_value());
  EXPECT_TRUE(store->activity("alice", at(0), 100)->empty());
  EXPECT_EQ(journal_size(tmp.path(), "19700101"), before);
  expect_ok(store->wait(store->append_activity(activity_record("after", "alice", 3000))));
  EXPECT_EQ(event_ids(*store->activity("alice", at(0), 100)), (std::vector<std::string>{"after"}));
}

// A batch of journal writes alone (a login result's) takes no SQLite
// transaction; when the journal's write fails, every write of it fails,
// the file is truncated back and none of it is read.
TEST(EmbeddedStoreBatch, AJournalOnlyBatchWhoseWriteFailsFailsEveryWriteOfIt) {
  TempDir tmp;
  auto store = open_store(tmp.path(), without_indexers());
  ASSERT_NE(store, nullptr);
  expect_ok(store->wait(store->append_activity(activity_record("kept", "bob", 1000))));
  const std::uintmax_t before = journal_size(tmp.path(), "19700101");
  ASSERT_GT(before, 0u);
  std::pair<WriteTicket, WriteTicket> t;
  {
    FileSizeLimit limit(before);
    t = queue_together(
        *store, [&] { return store->append_activity(activity_record("lost1", "alice", 2000)); },
        [&] { return store->append_activity(activity_record("lost2", "bob", 2001)); });
    EXPECT_EQ(store->wait(t.second).error().code, "store_write_failed");
  }
  EXPECT_EQ(store->wait(t.first).error().code, "store_write_failed");
  EXPECT_EQ(journal_size(tmp.path(), "19700101"), before);
  EXPECT_TRUE(store->activity("alice", at(0), 100)->empty());
  EXPECT_EQ(event_ids(*store->activity("bob", at(0), 100)), (std::vector<std::string>{"kept"}));
  // The writer goes on.
  expect_ok(store->wait(store->append_activity(activity_record("after", "alice", 3000))));
  EXPECT_EQ(event_ids(*store->activity("alice", at(0), 100)), (std::vector<std::string>{"after"}));
}

// One span over the three parts: an entry, a profile and a lock committed
// by one batch are read back together, at once, before any index pass.
TEST(EmbeddedStoreBatch, AnAcknowledgedEntryAndProfileAreReadBeforeAnyIndexPass) {
  TempDir tmp;
  auto store = open_store(tmp.path(), without_indexers());
  ASSERT_NE(store, nullptr);
  AccountProfile p;
  p.devices.push_back(KnownDevice{"id:phone", "", "", at(5), at(5)});
  store->append_activity(activity_record("e1", "alice", 5));
  store->put_profile("alice", p);
  expect_ok(store->wait(store->put_lock("alice", LockInfo{"x", at(5), false, "x"})));
  EXPECT_EQ(store->activity_journal().stats().runs, 0u);
  EXPECT_EQ(store->activity_journal().stats().tail_entries, 1u);
  EXPECT_EQ(event_ids(*store->activity("alice", at(0), 10)), (std::vector<std::string>{"e1"}));
  EXPECT_EQ(store->profile("alice")->devices.size(), 1u);
  EXPECT_TRUE((*store->account("alice"))->lock.has_value());
  EXPECT_EQ(failed_logins(*store), 1u);
}

}  // namespace
}  // namespace mamori::store
