#include "store/sqlite/data_dir_tools.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "store/embedded/embedded_store.h"
#include "store/profile_codec.h"
#include "testing/temp_dir.h"

namespace mamori::store {
namespace {

namespace fs = std::filesystem;
using mamori::testing::TempDir;

std::unique_ptr<EmbeddedStore> open_store(const std::string& dir) {
  auto r = EmbeddedStore::open(dir);
  if (!r) {
    ADD_FAILURE() << r.error().code << ": " << r.error().message;
    return nullptr;
  }
  return std::move(*r);
}

TimePoint at(std::int64_t s) { return TimePoint{} + std::chrono::seconds(s); }

ListEntry entry(int i) {
  ListEntry e;
  e.id = "e" + std::to_string(i);
  e.target = "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256);
  e.reason = "r";
  e.created = at(i);
  return e;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::set<std::string> entry_ids(EmbeddedStore& store) {
  auto entries = store.list_entries();
  EXPECT_TRUE(entries) << entries.error().message;
  std::set<std::string> ids;
  if (entries)
    for (const ListEntry& e : *entries) ids.insert(e.id);
  return ids;
}

TEST(DataDirBackup, CopyHoldsEveryWriteCommittedBeforeItWhileWritesGoOn) {
  TempDir dir, out_parent, restored;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  for (int i = 0; i < 200; ++i) store->put_list_entry(entry(i));
  ASSERT_TRUE(store->wait(store->put_lock("alice", LockInfo{"r", at(1), true, "admin"})));
  // An incident and its accounts, written together, grow while the copy runs.
  std::atomic<bool> stop{false}, failed{false};
  std::atomic<int> written{200};
  std::thread writer([&] {
    Incident inc;
    inc.id = "inc1";
    inc.started = inc.last_seen = at(1);
    store->put_incident(inc);  // as the tracker opens it; then counts with each account
    for (int i = 200; !stop.load(); ++i) {
      store->put_list_entry(entry(i));
      inc.accounts_targeted++;
      const WriteTicket t = store->put_incident_counts(
          {inc.id, inc.last_seen, inc.accounts_targeted, inc.accounts_compromised},
          IncidentAccount{"a" + std::to_string(i), at(i), at(i), false});
      // Counted once committed: the backup must hold every entry counted before it.
      if (i % 8 != 0) continue;
      if (!store->wait(t)) {
        failed = true;
        return;
      }
      written.store(i + 1);
    }
  });
  while (written.load() < 400 && !failed.load()) std::this_thread::yield();
  const int before = written.load();
  const std::string out = out_parent.path() + "/backup";
  auto report = backup_data_dir(DataDirFiles{dir.path(), "", ""}, out, BackupOptions{});
  stop = true;
  writer.join();
  ASSERT_FALSE(failed.load());
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->schema_version, EmbeddedStore::kSchemaVersion);
  EXPECT_EQ(report->data_dir_id, read_file(dir.path() + "/mamori.id").substr(0, 32));
  EXPECT_EQ(read_file(out + "/mamori.id"), report->data_dir_id + "\n");
  EXPECT_FALSE(report->key_copied);
  EXPECT_FALSE(fs::exists(out + "/totp.key"));

  auto r = restore_data_dir(out, DataDirFiles{restored.path(), "", ""}, RestoreOptions{});
  ASSERT_TRUE(r) << r.error().message;
  auto copy = open_store(restored.path());
  ASSERT_TRUE(copy);
  const std::set<std::string> ids = entry_ids(*copy);
  // Every entry written before the copy began, and a prefix of the writer's.
  int n = 0;
  while (ids.count("e" + std::to_string(n))) ++n;
  EXPECT_GE(n, before);
  EXPECT_EQ(ids.size(), std::size_t(n));
  auto locked = copy->account("alice");
  ASSERT_TRUE(locked && *locked);
  EXPECT_TRUE((*locked)->lock.has_value());
  auto inc = copy->incident("inc1");
  ASSERT_TRUE(inc && *inc);
  auto accounts = copy->incident_accounts("inc1");
  ASSERT_TRUE(accounts);
  EXPECT_EQ((*inc)->accounts_targeted, std::int64_t(accounts->size()));
}

TEST(DataDirBackup, CopiesTheConfiguredKeyAndThePwnedStoreWhenAsked) {
  TempDir dir, elsewhere, out_parent, restored, restored_keys;
  { ASSERT_TRUE(open_store(dir.path())); }
  write_file(elsewhere.path() + "/key", "secret key\n");
  write_file(dir.path() + "/pwned.bin", "pwned");
  DataDirFiles files{dir.path(), elsewhere.path() + "/key", ""};
  const std::string out = out_parent.path() + "/b";
  BackupOptions options;
  options.include_pwned = true;
  auto report = backup_data_dir(files, out, options);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->key_copied && report->pwned_copied);
  EXPECT_EQ(read_file(out + "/totp.key"), "secret key\n");
  EXPECT_EQ(read_file(out + "/pwned.bin"), "pwned");
  struct stat st {};
  ASSERT_EQ(::stat((out + "/totp.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  // Into the data dir by default; to the configured places when given.
  ASSERT_TRUE(restore_data_dir(out, DataDirFiles{restored.path(), "", ""}, RestoreOptions{}));
  EXPECT_EQ(read_file(restored.path() + "/totp.key"), "secret key\n");
  EXPECT_EQ(read_file(restored.path() + "/pwned.bin"), "pwned");
  DataDirFiles configured{restored_keys.path() + "/data", restored_keys.path() + "/k",
                          restored_keys.path() + "/p"};
  auto r = restore_data_dir(out, configured, RestoreOptions{});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->key_restored && r->pwned_restored);
  EXPECT_EQ(read_file(restored_keys.path() + "/k"), "secret key\n");
  EXPECT_EQ(read_file(restored_keys.path() + "/p"), "pwned");
  EXPECT_TRUE(open_store(configured.data_dir));
}

TEST(DataDirBackup, RefusesAnExistingTargetAndADataDirWithoutDatabase) {
  TempDir dir, out_parent;
  { ASSERT_TRUE(open_store(dir.path())); }
  fs::create_directory(out_parent.path() + "/there");
  auto r = backup_data_dir(DataDirFiles{dir.path(), "", ""}, out_parent.path() + "/there", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "backup_failed");
  EXPECT_NE(r.error().message.find("exists already"), std::string::npos);
  TempDir empty;
  r = backup_data_dir(DataDirFiles{empty.path(), "", ""}, out_parent.path() + "/new", {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no database"), std::string::npos);
  // Nothing left behind, not even the temporary directory.
  EXPECT_EQ(std::distance(fs::directory_iterator(out_parent.path()), fs::directory_iterator()), 1);
}

TEST(DataDirRestore, RefusesADataDirInUseAndChangesNothing) {
  TempDir dir, out_parent, target;
  {
    auto s = open_store(dir.path());
    ASSERT_TRUE(s->wait(s->put_list_entry(entry(1))));
  }
  const std::string out = out_parent.path() + "/b";
  ASSERT_TRUE(backup_data_dir(DataDirFiles{dir.path(), "", ""}, out, {}));
  auto running = open_store(target.path());
  ASSERT_TRUE(running->wait(running->put_list_entry(entry(2))));
  const std::string before = read_file(target.path() + "/mamori.id");
  RestoreOptions replace;
  replace.replace = true;
  auto r = restore_data_dir(out, DataDirFiles{target.path(), "", ""}, replace);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "data_dir_in_use");
  EXPECT_EQ(read_file(target.path() + "/mamori.id"), before);
  EXPECT_EQ(entry_ids(*running), std::set<std::string>{"e2"});
  running.reset();

  // Stopped: refused without `replace`, replaced with it (the old WAL gone too).
  r = restore_data_dir(out, DataDirFiles{target.path(), "", ""}, RestoreOptions{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "restore_failed");
  write_file(target.path() + "/mamori.db-wal", "stale");
  r = restore_data_dir(out, DataDirFiles{target.path(), "", ""}, replace);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(fs::exists(target.path() + "/mamori.db-wal"));
  auto restored = open_store(target.path());
  ASSERT_TRUE(restored);
  EXPECT_EQ(entry_ids(*restored), std::set<std::string>{"e1"});
}

TEST(DataDirRestore, RefusesABackupWhoseIdIsNotItsDatabases) {
  TempDir dir, out_parent, target;
  { ASSERT_TRUE(open_store(dir.path())); }
  const std::string out = out_parent.path() + "/b";
  ASSERT_TRUE(backup_data_dir(DataDirFiles{dir.path(), "", ""}, out, {}));
  write_file(out + "/mamori.id", "0123456789abcdef0123456789abcdef\n");
  auto r = restore_data_dir(out, DataDirFiles{target.path() + "/d", "", ""}, RestoreOptions{});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("does not belong"), std::string::npos) << r.error().message;
  EXPECT_FALSE(fs::exists(target.path() + "/d"));
}

// ---- schema versions: tests/data/schema/vN.sql, made by generate.py ----

std::string schema_dump(int version) {
  return std::string(MAMORI_TEST_DATA) + "/schema/v" + std::to_string(version) + ".sql";
}

void create_from_dump(const std::string& dump, const std::string& db_path) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, read_file(dump).c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << dump << ": " << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

// Each table's and index's definition as SQLite reports it: columns with
// their types, defaults and keys; index columns.
std::map<std::string, std::string> schema_of(const std::string& db_path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  std::map<std::string, std::string> out;
  auto rows = [&](const std::string& sql) {
    std::string text;
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    while (sqlite3_step(st) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const unsigned char* t = sqlite3_column_text(st, c);
        text += (t ? reinterpret_cast<const char*>(t) : "NULL") + std::string("|");
      }
      text += "\n";
    }
    sqlite3_finalize(st);
    return text;
  };
  std::vector<std::pair<std::string, std::string>> objects;
  {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
                       -1, &st, nullptr);
    while (sqlite3_step(st) == SQLITE_ROW)
      objects.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                           reinterpret_cast<const char*>(sqlite3_column_text(st, 1)));
    sqlite3_finalize(st);
  }
  for (const auto& [type, name] : objects)
    out[type + " " + name] = type == "table" ? rows("PRAGMA table_xinfo(" + name + ")")
                                             : rows("PRAGMA index_xinfo(" + name + ")");
  sqlite3_close(db);
  return out;
}

TEST(SchemaMigration, EveryOlderVersionOpensWithEveryRecordAndTheCurrentSchema) {
  TempDir fresh;
  { ASSERT_TRUE(open_store(fresh.path())); }
  const auto current = schema_of(fresh.db());
  // The dumps are of the versions that kept everything in SQLite (1 to 5);
  // from 6 on the activity log and the profiles are journals beside the
  // database (6 to 7: test_operator_actions.py's schema 6 data dir).
  for (int version = 1; version <= 5; ++version) {
    SCOPED_TRACE("schema version " + std::to_string(version));
    ASSERT_TRUE(fs::exists(schema_dump(version)))
        << "add the dump of schema version " << version << " (tests/data/schema/generate.py)";
    TempDir dir;
    create_from_dump(schema_dump(version), dir.db());
    // From 6 on the journals are directories beside the database; the dumps
    // hold the database alone.
    if (version >= 6)
      for (const char* journal : {"activity", "profiles"})
        fs::create_directories(fs::path(dir.path()) / journal);
    auto migrated = migrate_data_dir(dir.path());
    ASSERT_TRUE(migrated) << migrated.error().message;
    EXPECT_EQ(migrated->from_version, version);
    EXPECT_EQ(migrated->to_version, EmbeddedStore::kSchemaVersion);
    EXPECT_EQ(schema_of(dir.db()), current);

    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    auto alice = store->account("alice");
    ASSERT_TRUE(alice && *alice);
    ASSERT_TRUE((*alice)->lock.has_value());
    EXPECT_EQ((*alice)->lock->reason, "fixture lock");
    EXPECT_TRUE((*alice)->lock->password_reset_required);
    auto bob = store->account("bob");
    ASSERT_TRUE(bob && *bob);
    EXPECT_EQ((*bob)->contact.email, "bob@example.com");
    // Columns added later read as their defaults.
    EXPECT_EQ((*bob)->contact.time_zone, version >= 4 ? "Asia/Tokyo" : "");
    auto entries = store->list_entries();
    ASSERT_TRUE(entries);
    EXPECT_EQ(entries->size(), 3u);
    auto incidents = store->incidents(TimePoint{});
    ASSERT_TRUE(incidents);
    ASSERT_EQ(incidents->size(), 1u);
    auto accounts = store->incident_accounts(incidents->front().id);
    ASSERT_TRUE(accounts);
    EXPECT_EQ(accounts->size(), 6u);
    EXPECT_EQ(incidents->front().accounts_targeted, 6);
    // (From version 6 on the activity and the profiles are in the journals,
    // which the dumps do not hold.)
    const bool in_sqlite = version < 6;
    auto activity = store->activity("bob", TimePoint{}, 100);
    ASSERT_TRUE(activity);
    if (in_sqlite) {
      EXPECT_GE(activity->size(), 2u);
    }
    auto blocks = store->blocks(TimePoint{});
    ASSERT_TRUE(blocks);
    EXPECT_FALSE(blocks->empty());
    auto profile = store->profile("bob");
    ASSERT_TRUE(profile);
    if (in_sqlite) {
      EXPECT_EQ(profile->devices.size(), version >= 2 ? 2u : 0u);
    }
    auto totp = store->totp("carol");
    ASSERT_TRUE(totp);
    EXPECT_EQ(totp->has_value(), version >= 3);
    if (*totp) {
      EXPECT_TRUE((*totp)->confirmed);
    }
    auto outbox = store->outbox_counts();
    ASSERT_TRUE(outbox);
  }
}

TEST(SchemaMigration, MigrateRefusesADataDirInUseAndANewerSchema) {
  TempDir dir;
  create_from_dump(schema_dump(1), dir.db());
  {
    auto running = open_store(dir.path());
    ASSERT_TRUE(running);
    auto r = migrate_data_dir(dir.path());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, "data_dir_in_use");
  }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(dir.db().c_str(), &db), SQLITE_OK);
    const std::string set =
        "PRAGMA user_version=" + std::to_string(EmbeddedStore::kSchemaVersion + 1);
    ASSERT_EQ(sqlite3_exec(db, set.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto r = migrate_data_dir(dir.path());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "migrate_failed");
  EXPECT_NE(r.error().message.find("newer than this build"), std::string::npos);
}

// The rows of a schema 5 database as the old store read them: each
// account's activity newest first (its ORDER BY), and each profile's text.
struct LegacyContent {
  std::map<std::string, std::vector<std::string>> activity;  // account -> rows, newest first
  std::map<std::string, std::string> profiles;
};

LegacyContent legacy_content(const std::string& db_path) {
  LegacyContent out;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db,
                               "SELECT account, event_id, time_ms, type, ip, country, city,"
                               " user_agent, device_id, protocol, ifnull(success, 'null'), action,"
                               " reasons FROM activity ORDER BY time_ms DESC, seq DESC",
                               -1, &st, nullptr),
            SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW) {
    std::string row;
    for (int c = 1; c < sqlite3_column_count(st); ++c)
      row += reinterpret_cast<const char*>(sqlite3_column_text(st, c)) + std::string("|");
    out.activity[reinterpret_cast<const char*>(sqlite3_column_text(st, 0))].push_back(row);
  }
  sqlite3_finalize(st);
  EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT account, data FROM profiles", -1, &st, nullptr),
            SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW)
    out.profiles[reinterpret_cast<const char*>(sqlite3_column_text(st, 0))] =
        reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

// The same rows as the store reads them now.
LegacyContent store_content(EmbeddedStore& store, const LegacyContent& accounts) {
  LegacyContent out;
  for (const auto& [account, rows] : accounts.activity) {
    auto got = store.activity(account, TimePoint{}, 1000);
    EXPECT_TRUE(got) << got.error().message;
    if (!got) continue;
    auto& list = out.activity[account];
    for (const ActivityRecord& r : *got) {
      std::string reasons;
      for (const auto& reason : r.reasons) reasons += (reasons.empty() ? "" : ",") + reason;
      list.push_back(r.event_id + "|" + std::to_string(to_unix_ms(r.time)) + "|" +
                     std::string(to_string(r.type)) + "|" + r.ip.to_string() + "|" + r.country +
                     "|" + r.city + "|" + r.user_agent + "|" + r.device_id + "|" + r.protocol +
                     "|" + (r.success ? (*r.success ? "1" : "0") : "null") + "|" +
                     std::string(to_string(r.action)) + "|" + reasons + "|");
    }
  }
  for (const auto& [account, text] : accounts.profiles) {
    auto p = store.profile(account);
    EXPECT_TRUE(p) << p.error().message;
    if (p) out.profiles[account] = encode_profile(*p);
  }
  return out;
}

std::string user_version(const std::string& db_path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr);
  std::string v = sqlite3_step(st) == SQLITE_ROW
                      ? reinterpret_cast<const char*>(sqlite3_column_text(st, 0))
                      : "";
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

TEST(SchemaMigration, Schema5ActivityAndProfilesMoveIntoTheJournalsAndReadBackTheSame) {
  TempDir dir;
  create_from_dump(schema_dump(5), dir.db());
  const LegacyContent before = legacy_content(dir.db());
  std::size_t entries = 0;
  for (const auto& [account, rows] : before.activity) entries += rows.size();
  ASSERT_GE(entries, 10u);
  ASSERT_FALSE(before.profiles.empty());
  auto migrated = migrate_data_dir(dir.path());
  ASSERT_TRUE(migrated) << migrated.error().message;
  EXPECT_EQ(migrated->from_version, 5);
  EXPECT_EQ(user_version(dir.db()), std::to_string(EmbeddedStore::kSchemaVersion));
  EXPECT_TRUE(fs::is_directory(dir.path() + "/activity"));
  EXPECT_TRUE(fs::is_directory(dir.path() + "/profiles"));
  const auto schema = schema_of(dir.db());
  EXPECT_EQ(schema.count("table activity"), 0u);
  EXPECT_EQ(schema.count("table profiles"), 0u);
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  const LegacyContent after = store_content(*store, before);
  EXPECT_EQ(after.activity, before.activity);
  // A profile re-encodes to the same text it was stored as.
  for (const auto& [account, text] : before.profiles) {
    auto decoded = decode_profile(text);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(after.profiles.at(account), encode_profile(*decoded)) << account;
  }
}

// kill -9 in the middle of the move: the tables are still the truth, the
// half-made journals are thrown away and the move done again, once.
TEST(SchemaMigration, AMoveKilledHalfwayIsDoneAgainAtTheNextOpen) {
  TempDir dir;
  create_from_dump(schema_dump(5), dir.db());
  const LegacyContent before = legacy_content(dir.db());
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    EmbeddedStoreOptions options;
    // Half the activity staged, an earlier chunk written: a journal file
    // exists with part of the rows.
    options.on_migrated_row = [](std::uint64_t rows) {
      if (rows == 6) ::raise(SIGKILL);
    };
    auto r = EmbeddedStore::open(dir.path(), options);
    ::_exit(r ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  EXPECT_EQ(user_version(dir.db()), "5");
  EXPECT_TRUE(fs::is_directory(dir.path() + "/activity"));
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(user_version(dir.db()), std::to_string(EmbeddedStore::kSchemaVersion));
  EXPECT_EQ(store_content(*store, before).activity, before.activity);
}

}  // namespace
}  // namespace mamori::store
