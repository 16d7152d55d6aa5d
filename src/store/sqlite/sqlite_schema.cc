// SqliteStore's schema: creating and upgrading it, and the data dir's
// identity.

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>

#include "store/sqlite/sqlite_internal.h"
#include "store/sqlite/sqlite_store.h"

namespace mamori::store::sqlite {

namespace {

// kMigrations[v] takes the schema from version v to v + 1.
constexpr std::array<const char*, SqliteStore::kSchemaVersion> kMigrations = {
    R"sql(
CREATE TABLE accounts (
  account TEXT NOT NULL PRIMARY KEY,
  locked INTEGER NOT NULL DEFAULT 0,
  lock_reason TEXT NOT NULL DEFAULT '',
  lock_since_ms INTEGER NOT NULL DEFAULT 0,
  lock_password_reset INTEGER NOT NULL DEFAULT 0,
  lock_by TEXT NOT NULL DEFAULT '',
  email TEXT NOT NULL DEFAULT '',
  lang TEXT NOT NULL DEFAULT 'en',
  notify INTEGER NOT NULL DEFAULT 1,
  has_last_login INTEGER NOT NULL DEFAULT 0,
  last_login_ms INTEGER NOT NULL DEFAULT 0,
  last_login_ip TEXT NOT NULL DEFAULT '',
  last_login_country TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX accounts_locked ON accounts(account) WHERE locked = 1;

CREATE TABLE activity (
  seq INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  account TEXT NOT NULL,
  type TEXT NOT NULL,
  ip TEXT NOT NULL,
  country TEXT NOT NULL,
  city TEXT NOT NULL,
  user_agent TEXT NOT NULL,
  device_id TEXT NOT NULL,
  protocol TEXT NOT NULL,
  success INTEGER,
  action TEXT NOT NULL,
  reasons TEXT NOT NULL
);
CREATE INDEX activity_account_time ON activity(account, time_ms);
CREATE INDEX activity_time ON activity(time_ms);

CREATE TABLE list_entries (
  id TEXT NOT NULL PRIMARY KEY,
  kind TEXT NOT NULL,
  target TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER
) WITHOUT ROWID;

CREATE TABLE incidents (
  id TEXT NOT NULL PRIMARY KEY,
  kind TEXT NOT NULL,
  started_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  sources TEXT NOT NULL,
  accounts_targeted INTEGER NOT NULL,
  accounts_compromised INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX incidents_last_seen ON incidents(last_seen_ms);

CREATE TABLE incident_accounts (
  incident_id TEXT NOT NULL,
  account TEXT NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  login_succeeded INTEGER NOT NULL,
  PRIMARY KEY (incident_id, account)
) WITHOUT ROWID;
CREATE INDEX incident_accounts_account ON incident_accounts(account);

CREATE TABLE blocks (
  scope TEXT NOT NULL,
  block_key TEXT NOT NULL,
  reason TEXT NOT NULL,
  action TEXT NOT NULL,
  since_ms INTEGER NOT NULL,
  until_ms INTEGER NOT NULL,
  incident_id TEXT NOT NULL,
  PRIMARY KEY (scope, block_key)
) WITHOUT ROWID;
CREATE INDEX blocks_until ON blocks(until_ms);
)sql",
    // 1 -> 2: account profiles (devices, places), encoded by profile_codec.
    R"sql(
CREATE TABLE profiles (
  account TEXT NOT NULL PRIMARY KEY,
  data TEXT NOT NULL
);
)sql",
    // 2 -> 3: TOTP second factors. recovery_codes: "HASHHEX:USED_MS" comma-joined
    // (USED_MS 0: unused); failures: the wrong codes' times (ms) comma-joined.
    R"sql(
CREATE TABLE totp (
  account TEXT NOT NULL PRIMARY KEY,
  sealed_secret BLOB NOT NULL,
  confirmed INTEGER NOT NULL,
  last_step INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  confirmed_ms INTEGER,
  recovery_codes TEXT NOT NULL,
  failures TEXT NOT NULL
) WITHOUT ROWID;
)sql",
    // 3 -> 4: contacts' time zones; the outbox of notices and webhook alerts.
    R"sql(
ALTER TABLE accounts ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';

CREATE TABLE outbox (
  id TEXT NOT NULL PRIMARY KEY,
  channel TEXT NOT NULL,
  destination TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL DEFAULT 'pending',
  done_ms INTEGER
) WITHOUT ROWID;
CREATE INDEX outbox_state_next ON outbox(state, next_attempt_ms);
CREATE INDEX outbox_done ON outbox(done_ms) WHERE state != 'pending';
)sql",
    // 5: the data dir's identity (see check_identity).
    R"sql(
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
)sql",
    // 5 -> 6: the activity log and the profiles live in journals
    // (store/embedded/embedded_store.h); their rows were moved there first.
    R"sql(
DROP TABLE activity;
DROP TABLE profiles;
)sql",
    // 6 -> 7: what owners' links and incident notices did, once.
    R"sql(
CREATE TABLE owner_actions (
  action_key TEXT NOT NULL PRIMARY KEY,
  account TEXT NOT NULL,
  at_ms INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
    // 7 -> 8: the audit log of operator actions; incidents an operator closed.
    R"sql(
CREATE TABLE audit (
  id TEXT NOT NULL PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,
  actor_kind TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  note TEXT NOT NULL,
  details TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX audit_time ON audit(time_ms, id);
CREATE INDEX audit_target ON audit(target, time_ms);
ALTER TABLE incidents ADD COLUMN closed_ms INTEGER;
)sql",
    // 8 -> 9: the console's operator accounts.
    R"sql(
CREATE TABLE operators (
  name TEXT NOT NULL PRIMARY KEY,
  password_hash TEXT NOT NULL,
  sealed_secret BLOB NOT NULL,
  last_step INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  last_sign_in_ms INTEGER
) WITHOUT ROWID;
)sql",
};

// The last version with the tables that version 6 moved out.
constexpr int kLegacyVersion = 5;
// The version that moved them; later ones change SQLite alone.
constexpr int kJournalVersion = 6;

// ---- the data dir's identity ----
//
// A random id made when the database is created, kept in its `meta` table
// and in `<data_dir>/mamori.id` beside it. A database that was emptied,
// deleted or swapped for another one while the rest of the data dir (the
// id file, the TOTP key) stayed would otherwise start as an empty store
// without a word: every lock, list entry and TOTP secret gone.

constexpr const char* kIdFile = "mamori.id";

std::string read_id_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return "";
  char buf[128] = {};
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  std::string id(buf, n);
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return id;
}

Status write_id_file(const std::string& path, const std::string& id) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return make_error("io", "cannot write " + tmp + ": " + std::strerror(errno));
  const bool ok =
      std::fputs((id + "\n").c_str(), f) >= 0 && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  std::fclose(f);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0)
    return make_error("io", "cannot write " + path + ": " + std::strerror(errno));
  return {};
}

std::string new_data_dir_id() {
  std::random_device rd;
  char out[33];
  for (int i = 0; i < 4; ++i) std::snprintf(out + 8 * i, 9, "%08x", unsigned(rd()));
  return std::string(out, 32);
}

}  // namespace

Status prepare_database(sqlite3* db, const std::string& path, const MoveLegacyRows& move) {
  auto mode = exec_value(db, "PRAGMA journal_mode=WAL");
  if (!mode) return open_error(path, mode.error().message);
  if (*mode != "wal") return open_error(path, "cannot switch to WAL mode (mode is " + *mode + ")");
  if (auto s = exec_script(db, "PRAGMA synchronous=NORMAL"); !s)
    return open_error(path, s.error().message);

  // Runs migrations `from` to `to` - 1 and sets the version, in one
  // transaction; `before_commit` runs inside it.
  auto upgrade = [&](int to) -> Status {
    if (auto s = exec_script(db, "BEGIN IMMEDIATE"); !s) return open_error(path, s.error().message);
    auto fail = [&](const std::string& msg) -> Status {
      (void)exec_script(db, "ROLLBACK");  // the open fails anyway; its result adds nothing
      return open_error(path, msg);
    };
    auto version_text = exec_value(db, "PRAGMA user_version");
    if (!version_text) return fail(version_text.error().message);
    const int version = std::atoi(version_text->c_str());
    if (version > SqliteStore::kSchemaVersion) {
      return fail("schema version " + std::to_string(version) + " is newer than this build's " +
                  std::to_string(SqliteStore::kSchemaVersion));
    }
    for (int v = version; v < to; ++v) {
      if (auto s = exec_script(db, kMigrations[static_cast<size_t>(v)]); !s)
        return fail("schema upgrade to version " + std::to_string(v + 1) + ": " +
                    s.error().message);
    }
    if (version < to) {
      const std::string set = "PRAGMA user_version=" + std::to_string(to);
      if (auto s = exec_script(db, set.c_str()); !s) return fail(s.error().message);
    }
    if (auto s = exec_script(db, "COMMIT"); !s) return fail(s.error().message);
    return {};
  };
  // Up to the last version with the legacy tables, in one transaction.
  if (Status s = upgrade(kLegacyVersion); !s) return s;
  auto version_text = exec_value(db, "PRAGMA user_version");
  if (!version_text) return open_error(path, version_text.error().message);
  if (std::atoi(version_text->c_str()) >= kJournalVersion)
    return upgrade(SqliteStore::kSchemaVersion);
  // To 6: the legacy rows are moved, then their tables dropped. Until that
  // commits the tables are the truth (a move that was cut short is done
  // again at the next open); after it, the journals are.
  auto rows = legacy_rows(db, path);
  if (move) {
    if (Status s = move(*rows); !s) return s;
  } else {
    for (auto count : {rows->activity_count(), rows->profile_count()}) {
      if (!count) return count.error();
      if (*count > 0)
        return open_error(path, "schema upgrade to version 6 needs the journals to move " +
                                    std::to_string(*count) + " rows into (open it as a data dir)");
    }
  }
  return upgrade(SqliteStore::kSchemaVersion);
}

Status check_database_present(const std::string& data_dir, const std::string& db_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool have_db = fs::exists(db_path, ec) && fs::file_size(db_path, ec) > 0;
  const std::string id_path = (fs::path(data_dir) / kIdFile).string();
  if (have_db || !fs::exists(id_path, ec)) return {};
  return open_error(db_path, std::string(fs::exists(db_path, ec) ? "the database is empty (0 bytes)"
                                                                 : "the database is missing") +
                                 ", but " + id_path +
                                 " shows this data dir held one. Restore mamori.db from a "
                                 "backup, or remove " +
                                 id_path + " to start with an empty store");
}

Status check_identity(sqlite3* db, const std::string& data_dir, const std::string& db_path) {
  const std::string id_path = (std::filesystem::path(data_dir) / kIdFile).string();
  auto stored = exec_value(db, "SELECT value FROM meta WHERE key = 'data_dir_id'");
  if (!stored) return open_error(db_path, stored.error().message);
  const std::string file_id = read_id_file(id_path);
  std::string id = *stored;
  if (id.empty()) {
    id = new_data_dir_id();
    const std::string sql = "INSERT INTO meta (key, value) VALUES ('data_dir_id', '" + id + "')";
    if (Status s = exec_script(db, sql.c_str()); !s) return open_error(db_path, s.error().message);
  } else if (!file_id.empty() && file_id != id) {
    return open_error(db_path, "the database belongs to another data dir (its id is " + id + ", " +
                                   id_path + " says " + file_id +
                                   "): it was replaced. Put back this data dir's database, or "
                                   "remove " +
                                   id_path + " to adopt this one");
  }
  if (file_id != id) {
    if (Status s = write_id_file(id_path, id); !s) return open_error(db_path, s.error().message);
  }
  return {};
}

Status check_database(sqlite3* db, const std::string& data_dir, const std::string& db_path) {
  auto version = exec_value(db, "PRAGMA user_version");
  if (!version) return open_error(db_path, version.error().message);
  if (std::atoi(version->c_str()) > SqliteStore::kSchemaVersion)
    return open_error(db_path, "schema version " + *version + " is newer than this build's " +
                                   std::to_string(SqliteStore::kSchemaVersion));
  auto has_meta = exec_value(db, "SELECT name FROM sqlite_master WHERE name = 'meta'");
  if (!has_meta) return open_error(db_path, has_meta.error().message);
  if (has_meta->empty()) return {};
  auto id = exec_value(db, "SELECT value FROM meta WHERE key = 'data_dir_id'");
  if (!id) return open_error(db_path, id.error().message);
  const std::string id_path = (std::filesystem::path(data_dir) / kIdFile).string();
  const std::string file_id = read_id_file(id_path);
  if (!id->empty() && !file_id.empty() && *id != file_id)
    return open_error(db_path, "the database belongs to another data dir (its id is " + *id + ", " +
                                   id_path + " says " + file_id + ")");
  return {};
}

}  // namespace mamori::store::sqlite
