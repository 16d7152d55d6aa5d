#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include "core/hash.h"
#include "core/log.h"
#include "store/profile_codec.h"
#include "store/sqlite/data_dir_lock.h"

namespace mamori::store {

namespace {

// ---- schema ----

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
};

// ---- writer statements ----

enum WriterStmt : int {
  kBegin,
  kCommit,
  kRollback,
  kInsertActivity,
  kPutLock,
  kClearLock,
  kPutContact,
  kPutLastLogin,
  kPutListEntry,
  kDeleteListEntry,
  kPutIncident,
  kPutIncidentAccount,
  kPutBlock,
  kDeleteBlock,
  kPruneActivity,
  kPruneBlocks,
  kPutProfile,
  kPutTotp,
  kDeleteTotp,
  kEnqueueOutbox,
  kOutboxDelivered,
  kOutboxRetry,
  kOutboxFailed,
  kPruneOutbox,
  kWriterStmtCount
};

constexpr std::array<const char*, kWriterStmtCount> kWriterSql = {
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
    "INSERT INTO activity (event_id, time_ms, account, type, ip, country, city, user_agent,"
    " device_id, protocol, success, action, reasons)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "INSERT INTO accounts (account, locked, lock_reason, lock_since_ms, lock_password_reset,"
    " lock_by) VALUES (?1, 1, ?2, ?3, ?4, ?5)"
    " ON CONFLICT (account) DO UPDATE SET locked = 1, lock_reason = excluded.lock_reason,"
    " lock_since_ms = excluded.lock_since_ms,"
    " lock_password_reset = excluded.lock_password_reset, lock_by = excluded.lock_by",
    "UPDATE accounts SET locked = 0, lock_reason = '', lock_since_ms = 0,"
    " lock_password_reset = 0, lock_by = '' WHERE account = ?",
    "INSERT INTO accounts (account, email, lang, notify, time_zone) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (account) DO UPDATE SET email = excluded.email, lang = excluded.lang,"
    " notify = excluded.notify, time_zone = excluded.time_zone",
    "INSERT INTO accounts (account, has_last_login, last_login_ms, last_login_ip,"
    " last_login_country) VALUES (?1, 1, ?2, ?3, ?4)"
    " ON CONFLICT (account) DO UPDATE SET has_last_login = 1,"
    " last_login_ms = excluded.last_login_ms, last_login_ip = excluded.last_login_ip,"
    " last_login_country = excluded.last_login_country",
    "INSERT OR REPLACE INTO list_entries (id, kind, target, reason, created_ms, expires_ms)"
    " VALUES (?, ?, ?, ?, ?, ?)",
    "DELETE FROM list_entries WHERE id = ?",
    "INSERT OR REPLACE INTO incidents (id, kind, started_ms, last_seen_ms, sources,"
    " accounts_targeted, accounts_compromised) VALUES (?, ?, ?, ?, ?, ?, ?)",
    "INSERT INTO incident_accounts (incident_id, account, first_seen_ms, last_seen_ms,"
    " login_succeeded) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (incident_id, account) DO UPDATE SET"
    " first_seen_ms = min(first_seen_ms, excluded.first_seen_ms),"
    " last_seen_ms = max(last_seen_ms, excluded.last_seen_ms),"
    " login_succeeded = (login_succeeded OR excluded.login_succeeded)",
    "INSERT OR REPLACE INTO blocks (scope, block_key, reason, action, since_ms, until_ms,"
    " incident_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
    "DELETE FROM blocks WHERE scope = ? AND block_key = ?",
    "DELETE FROM activity WHERE time_ms < ?",
    "DELETE FROM blocks WHERE until_ms < ?",
    "INSERT OR REPLACE INTO profiles (account, data) VALUES (?, ?)",
    "INSERT OR REPLACE INTO totp (account, sealed_secret, confirmed, last_step, created_ms,"
    " confirmed_ms, recovery_codes, failures) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "DELETE FROM totp WHERE account = ?",
    "INSERT OR IGNORE INTO outbox (id, channel, destination, payload, created_ms, attempts,"
    " next_attempt_ms, last_error, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
    "UPDATE outbox SET state = 'delivered', done_ms = ?2, last_error = ''"
    " WHERE id = ?1 AND state = 'pending'",
    "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?2, last_error = ?3"
    " WHERE id = ?1 AND state = 'pending'",
    "UPDATE outbox SET state = 'failed', attempts = attempts + 1, done_ms = ?2, last_error = ?3"
    " WHERE id = ?1 AND state = 'pending'",
    "DELETE FROM outbox WHERE state != 'pending' AND done_ms < ?",
};

// ---- read statements ----

enum ReadStmt : int {
  kAccount,
  kLockedAccounts,
  kActivity,
  kFailedLoginsSince,
  kListEntries,
  kIncidents,
  kIncident,
  kIncidentAccounts,
  kIncidentsForAccount,
  kBlocks,
  kProfile,
  kTotp,
  kDueOutbox,
  kOutboxCounts,
  kReadStmtCount
};

#define MAMORI_ACCOUNT_COLUMNS                                                              \
  "account, locked, lock_reason, lock_since_ms, lock_password_reset, lock_by, email, lang," \
  " notify, has_last_login, last_login_ms, last_login_ip, last_login_country, time_zone"
#define MAMORI_ACTIVITY_COLUMNS                                                           \
  "event_id, time_ms, account, type, ip, country, city, user_agent, device_id, protocol," \
  " success, action, reasons"
#define MAMORI_INCIDENT_COLUMNS(p)                                                                \
  p "id, " p "kind, " p "started_ms, " p "last_seen_ms, " p "sources, " p "accounts_targeted, " p \
    "accounts_compromised"

constexpr std::array<const char*, kReadStmtCount> kReadSql = {
    "SELECT " MAMORI_ACCOUNT_COLUMNS " FROM accounts WHERE account = ?",
    "SELECT " MAMORI_ACCOUNT_COLUMNS " FROM accounts WHERE locked = 1 ORDER BY account",
    "SELECT " MAMORI_ACTIVITY_COLUMNS " FROM activity WHERE account = ? AND time_ms >= ?"
    " ORDER BY time_ms DESC, seq DESC LIMIT ?",
    // The newest ?2, oldest first: SQLite sorts them (spilling to a temp
    // file past its cache), the caller holds one row at a time.
    "SELECT time_ms, account, ip FROM (SELECT seq, time_ms, account, ip FROM activity"
    " WHERE time_ms >= ?1 AND type = 'login_result' AND success = 0"
    " ORDER BY time_ms DESC, seq DESC LIMIT ?2) ORDER BY time_ms, seq",
    "SELECT id, kind, target, reason, created_ms, expires_ms FROM list_entries"
    " ORDER BY created_ms, id",
    "SELECT " MAMORI_INCIDENT_COLUMNS("") " FROM incidents WHERE last_seen_ms >= ?"
    " ORDER BY last_seen_ms DESC, id",
    "SELECT " MAMORI_INCIDENT_COLUMNS("") " FROM incidents WHERE id = ?",
    "SELECT account, first_seen_ms, last_seen_ms, login_succeeded FROM incident_accounts"
    " WHERE incident_id = ? ORDER BY first_seen_ms, account",
    "SELECT " MAMORI_INCIDENT_COLUMNS("i.") " FROM incidents i"
    " JOIN incident_accounts a ON a.incident_id = i.id WHERE a.account = ?"
    " ORDER BY i.last_seen_ms DESC, i.id",
    "SELECT scope, block_key, reason, action, since_ms, until_ms, incident_id FROM blocks"
    " WHERE until_ms > ? ORDER BY since_ms, scope, block_key",
    "SELECT data FROM profiles WHERE account = ?",
    "SELECT account, sealed_secret, confirmed, last_step, created_ms, confirmed_ms,"
    " recovery_codes, failures FROM totp WHERE account = ?",
    "SELECT id, channel, destination, payload, created_ms, attempts, next_attempt_ms, last_error,"
    " state, done_ms FROM outbox WHERE state = 'pending' AND next_attempt_ms <= ?"
    " ORDER BY next_attempt_ms, id LIMIT ?",
    "SELECT state, channel, count(*), min(next_attempt_ms) FROM outbox"
    " WHERE state IN ('pending', 'failed') GROUP BY state, channel",
};

#undef MAMORI_ACCOUNT_COLUMNS
#undef MAMORI_ACTIVITY_COLUMNS
#undef MAMORI_INCIDENT_COLUMNS

// ---- errors ----

std::string db_message(sqlite3* db, int rc) {
  const char* msg = db != nullptr ? sqlite3_errmsg(db) : nullptr;
  return msg != nullptr ? std::string(msg) : std::string(sqlite3_errstr(rc));
}

Error open_error(const std::string& path, const std::string& what) {
  return make_error("store_open_failed", "cannot open store " + path + ": " + what);
}

Error write_error(sqlite3* db, int rc, std::string_view doing) {
  return make_error("store_write_failed",
                    "store commit failed (" + std::string(doing) + "): " + db_message(db, rc));
}

Error read_error(std::string what) { return make_error("store_read_failed", std::move(what)); }

Error read_error(sqlite3* db, int rc) {
  return read_error("store read failed: " + db_message(db, rc));
}

// ---- values <-> text ----

// Appends `parts` comma-joined to `out`.
void append_joined(std::string& out, const std::vector<std::string>& parts) {
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += ',';
    out += parts[i];
  }
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  append_joined(out, parts);
  return out;
}

std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  for (;;) {
    const size_t comma = s.find(',');
    out.emplace_back(s.substr(0, comma));
    if (comma == std::string_view::npos) return out;
    s.remove_prefix(comma + 1);
  }
}

std::optional<Action> action_from_string(std::string_view s) {
  for (int i = 0; i < kActionCount; ++i)
    if (to_string(static_cast<Action>(i)) == s) return static_cast<Action>(i);
  return std::nullopt;
}

// Binds parameters left to right; remembers the first failure. Text is bound
// without a copy: the caller keeps it alive until the statement is reset and
// its bindings cleared.
class Binder {
 public:
  explicit Binder(sqlite3_stmt* st) : st_(st) {}
  Binder& text(std::string_view s) {
    const char* data = s.data() != nullptr ? s.data() : "";
    return check(sqlite3_bind_text64(st_, next_++, data, s.size(), SQLITE_STATIC, SQLITE_UTF8));
  }
  Binder& int64(std::int64_t v) { return check(sqlite3_bind_int64(st_, next_++, v)); }
  Binder& time(TimePoint t) { return int64(to_unix_ms(t)); }
  Binder& boolean(bool b) { return int64(b ? 1 : 0); }
  Binder& null() { return check(sqlite3_bind_null(st_, next_++)); }
  Binder& blob(const std::vector<std::uint8_t>& v) {
    return check(sqlite3_bind_blob64(st_, next_++, v.empty() ? "" : static_cast<const void*>(v.data()),
                                     v.size(), SQLITE_STATIC));
  }
  int rc() const { return rc_; }

 private:
  Binder& check(int rc) {
    if (rc_ == SQLITE_OK) rc_ = rc;
    return *this;
  }
  sqlite3_stmt* st_;
  int next_ = 1;
  int rc_ = SQLITE_OK;
};

// Reads the columns of the current row left to right.
class Row {
 public:
  explicit Row(sqlite3_stmt* st) : st_(st) {}
  std::string text() { return std::string(text_view()); }
  // Valid until the statement steps on.
  std::string_view text_view() {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st_, next_));
    const int n = sqlite3_column_bytes(st_, next_++);
    return p != nullptr ? std::string_view(p, static_cast<size_t>(n)) : std::string_view();
  }
  std::int64_t int64() { return sqlite3_column_int64(st_, next_++); }
  TimePoint time() { return from_unix_ms(int64()); }
  bool boolean() { return int64() != 0; }
  std::vector<std::uint8_t> blob() {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(st_, next_));
    const int n = sqlite3_column_bytes(st_, next_++);
    return p != nullptr ? std::vector<std::uint8_t>(p, p + n) : std::vector<std::uint8_t>();
  }
  bool next_is_null() const { return sqlite3_column_type(st_, next_) == SQLITE_NULL; }
  void skip() { ++next_; }

 private:
  sqlite3_stmt* st_;
  int next_ = 0;
};

// Resets a statement and clears its bindings when leaving a scope.
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* st) : st_(st) {}
  ~ResetOnExit() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* st_;
};

std::int64_t limit_param(std::size_t limit) {
  constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(limit > kMax ? kMax : limit);
}

// ---- rows -> records ----

Result<AccountRecord> read_account(sqlite3_stmt* st) {
  Row row(st);
  AccountRecord a;
  a.account = row.text();
  const bool locked = row.boolean();
  LockInfo lock;
  lock.reason = row.text();
  lock.since = row.time();
  lock.password_reset_required = row.boolean();
  lock.by = row.text();
  if (locked) a.lock = std::move(lock);
  a.contact.email = row.text();
  a.contact.lang = row.text();
  a.contact.notify = row.boolean();
  const bool has_last_login = row.boolean();
  LastLogin login;
  login.time = row.time();
  const std::string ip = row.text();
  login.country = row.text();
  if (has_last_login) {
    auto parsed = IpAddress::parse(ip);
    if (!parsed) return read_error("bad last login ip '" + ip + "' for account " + a.account);
    login.ip = *parsed;
    a.last_login = std::move(login);
  }
  a.contact.time_zone = row.text();
  return a;
}

Result<ActivityRecord> read_activity(sqlite3_stmt* st) {
  Row row(st);
  ActivityRecord r;
  r.event_id = row.text();
  r.time = row.time();
  r.account = row.text();
  const std::string type = row.text();
  auto t = event_type_from_string(type);
  if (!t) return read_error("unknown event type '" + type + "' in activity");
  r.type = *t;
  const std::string ip = row.text();
  auto parsed = IpAddress::parse(ip);
  if (!parsed) return read_error("bad ip '" + ip + "' in activity");
  r.ip = *parsed;
  r.country = row.text();
  r.city = row.text();
  r.user_agent = row.text();
  r.device_id = row.text();
  r.protocol = row.text();
  if (row.next_is_null()) {
    row.skip();
  } else {
    r.success = row.boolean();
  }
  const std::string action = row.text();
  auto a = action_from_string(action);
  if (!a) return read_error("unknown action '" + action + "' in activity");
  r.action = *a;
  r.reasons = split(row.text());
  return r;
}

Result<ListEntry> read_list_entry(sqlite3_stmt* st) {
  Row row(st);
  ListEntry e;
  e.id = row.text();
  const std::string kind = row.text();
  auto k = list_kind_from_string(kind);
  if (!k) return read_error("unknown list kind '" + kind + "' in list entry " + e.id);
  e.kind = *k;
  e.target = row.text();
  e.reason = row.text();
  e.created = row.time();
  if (row.next_is_null()) {
    row.skip();
  } else {
    e.expires = row.time();
  }
  return e;
}

Result<Incident> read_incident(sqlite3_stmt* st) {
  Row row(st);
  Incident i;
  i.id = row.text();
  const std::string kind = row.text();
  auto k = incident_kind_from_string(kind);
  if (!k) return read_error("unknown incident kind '" + kind + "' in incident " + i.id);
  i.kind = *k;
  i.started = row.time();
  i.last_seen = row.time();
  i.sources = split(row.text());
  i.accounts_targeted = row.int64();
  i.accounts_compromised = row.int64();
  return i;
}

Result<IncidentAccount> read_incident_account(sqlite3_stmt* st) {
  Row row(st);
  IncidentAccount a;
  a.account = row.text();
  a.first_seen = row.time();
  a.last_seen = row.time();
  a.login_succeeded = row.boolean();
  return a;
}

Result<Block> read_block(sqlite3_stmt* st) {
  Row row(st);
  Block b;
  b.scope = row.text();
  b.key = row.text();
  const std::string reason = row.text();
  auto r = reason_from_string(reason);
  if (!r) return read_error("unknown reason '" + reason + "' in block " + b.scope + " " + b.key);
  b.reason = *r;
  const std::string action = row.text();
  auto a = action_from_string(action);
  if (!a) return read_error("unknown action '" + action + "' in block " + b.scope + " " + b.key);
  b.action = *a;
  b.since = row.time();
  b.until = row.time();
  b.incident_id = row.text();
  return b;
}

std::string totp_codes_text(const std::vector<TotpRecoveryCode>& codes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::vector<std::string> parts;
  for (const TotpRecoveryCode& c : codes) {
    std::string p;
    for (std::uint8_t b : c.hash) {
      p += kHex[b >> 4];
      p += kHex[b & 15];
    }
    p += ':' + std::to_string(c.used ? to_unix_ms(*c.used) : 0);
    parts.push_back(std::move(p));
  }
  return join(parts);
}

std::string times_text(const std::vector<TimePoint>& times) {
  std::vector<std::string> parts;
  for (TimePoint t : times) parts.push_back(std::to_string(to_unix_ms(t)));
  return join(parts);
}

Result<TotpRecord> read_totp(sqlite3_stmt* st) {
  Row row(st);
  TotpRecord r;
  r.account = row.text();
  r.sealed_secret = row.blob();
  r.confirmed = row.boolean();
  r.last_step = row.int64();
  r.created = row.time();
  if (row.next_is_null()) {
    row.skip();
  } else {
    r.confirmed_at = row.time();
  }
  auto bad = [&](const char* what) { return read_error(std::string("bad ") + what + " in totp of " + r.account); };
  for (const std::string& part : split(row.text())) {
    const auto colon = part.find(':');
    if (colon == std::string::npos || colon % 2 != 0) return bad("recovery codes");
    TotpRecoveryCode c;
    for (std::size_t i = 0; i < colon; i += 2) {
      unsigned v = 0;
      auto [p, ec] = std::from_chars(part.data() + i, part.data() + i + 2, v, 16);
      if (ec != std::errc() || p != part.data() + i + 2) return bad("recovery codes");
      c.hash.push_back(std::uint8_t(v));
    }
    std::int64_t used = 0;
    auto [p, ec] = std::from_chars(part.data() + colon + 1, part.data() + part.size(), used);
    if (ec != std::errc() || p != part.data() + part.size()) return bad("recovery codes");
    if (used != 0) c.used = from_unix_ms(used);
    r.recovery_codes.push_back(std::move(c));
  }
  for (const std::string& part : split(row.text())) {
    std::int64_t ms = 0;
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), ms);
    if (ec != std::errc() || p != part.data() + part.size()) return bad("failures");
    r.recent_failures.push_back(from_unix_ms(ms));
  }
  return r;
}

Result<OutboxItem> read_outbox_item(sqlite3_stmt* st) {
  Row row(st);
  OutboxItem i;
  i.id = row.text();
  const std::string channel = row.text();
  auto c = outbox_channel_from_string(channel);
  if (!c) return read_error("unknown channel '" + channel + "' in outbox item " + i.id);
  i.channel = *c;
  i.destination = row.text();
  i.payload = row.text();
  i.created = row.time();
  i.attempts = row.int64();
  i.next_attempt = row.time();
  i.last_error = row.text();
  const std::string state = row.text();
  auto s = outbox_state_from_string(state);
  if (!s) return read_error("unknown state '" + state + "' in outbox item " + i.id);
  i.state = *s;
  if (row.next_is_null()) {
    row.skip();
  } else {
    i.done = row.time();
  }
  return i;
}

// Steps `st` to the end, calling on_row(st) for each row; stops at the
// first error, its own or on_row's.
template <typename OnRow>
Status for_each_row(sqlite3_stmt* st, OnRow on_row) {
  for (;;) {
    const int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) return {};
    if (rc != SQLITE_ROW) return read_error(sqlite3_db_handle(st), rc);
    if (Status s = on_row(st); !s) return s;
  }
}

// Steps `st` to the end, appending each row read by `read_row` to `out`.
template <typename T, typename ReadRow>
Status collect(sqlite3_stmt* st, std::vector<T>& out, ReadRow read_row) {
  return for_each_row(st, [&](sqlite3_stmt* row) -> Status {
    Result<T> r = read_row(row);
    if (!r) return r.error();
    out.push_back(std::move(*r));
    return {};
  });
}

// ---- connections ----

void close_db(sqlite3* db) {
  if (db != nullptr) sqlite3_close_v2(db);
}

// Opens a connection to `path` for use by one thread at a time.
Result<sqlite3*> open_db(const std::string& path, int flags, std::chrono::milliseconds busy) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_message(db, rc);
    close_db(db);
    return open_error(path, msg);
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(busy.count()));
  return db;
}

// Runs one statement with no parameters; returns its single-value result (as
// text) when it has one.
Result<std::string> exec_value(sqlite3* db, const char* sql) {
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, nullptr);
  if (rc != SQLITE_OK) return make_error("sqlite", db_message(db, rc));
  std::string value;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_count(st) > 0 && sqlite3_column_type(st, 0) != SQLITE_NULL)
      value = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  std::string msg = rc == SQLITE_DONE ? std::string() : db_message(db, rc);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return make_error("sqlite", msg);
  return value;
}

Status exec_script(sqlite3* db, const char* sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return {};
  std::string msg = err != nullptr ? std::string(err) : db_message(db, rc);
  sqlite3_free(err);
  return make_error("sqlite", msg);
}

// WAL, synchronous=NORMAL, then the schema created or upgraded to
// kSchemaVersion in one transaction.
Status prepare_database(sqlite3* db, const std::string& path) {
  auto mode = exec_value(db, "PRAGMA journal_mode=WAL");
  if (!mode) return open_error(path, mode.error().message);
  if (*mode != "wal") return open_error(path, "cannot switch to WAL mode (mode is " + *mode + ")");
  if (auto s = exec_script(db, "PRAGMA synchronous=NORMAL"); !s)
    return open_error(path, s.error().message);

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
  for (int v = version; v < SqliteStore::kSchemaVersion; ++v) {
    if (auto s = exec_script(db, kMigrations[static_cast<size_t>(v)]); !s)
      return fail("schema upgrade to version " + std::to_string(v + 1) + ": " + s.error().message);
  }
  if (version != SqliteStore::kSchemaVersion) {
    const std::string set = "PRAGMA user_version=" + std::to_string(SqliteStore::kSchemaVersion);
    if (auto s = exec_script(db, set.c_str()); !s) return fail(s.error().message);
  }
  if (auto s = exec_script(db, "COMMIT"); !s) return fail(s.error().message);
  return {};
}

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

// Before the database is opened (and created if missing): a missing or empty
// database in a data dir whose id file says it held one is refused.
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

// After the schema is ready: the database's id and the id file agree; a
// database without one (new, or from before ids) gets one, and so does a
// data dir without the file.
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

template <size_t N>
Status prepare_all(sqlite3* db, const std::array<const char*, N>& sql, sqlite3_stmt** out) {
  for (size_t i = 0; i < N; ++i) {
    const int rc = sqlite3_prepare_v3(db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &out[i], nullptr);
    if (rc != SQLITE_OK) return make_error("sqlite", db_message(db, rc) + " in: " + sql[i]);
  }
  return {};
}

// ---- queued operations ----

// An activity record as queued: its text fields in one buffer (one
// allocation, freed by the writer, instead of one per field), the rest by
// value. `reasons` is stored comma-joined, as the column holds it.
struct AppendActivityOp {
  enum Field : std::size_t {
    kEventId,
    kAccount,
    kCountry,
    kCity,
    kUserAgent,
    kDeviceId,
    kProtocol,
    kReasons,
    kFields
  };
  std::string text;
  std::array<std::uint32_t, kFields> end{};  // where each field ends in `text`
  TimePoint time{};
  IpAddress ip;
  EventType type = EventType::kLoginAttempt;
  std::optional<bool> success;
  Action action = Action::kAllow;

  explicit AppendActivityOp(const ActivityRecord& r)
      : time(r.time), ip(r.ip), type(r.type), success(r.success), action(r.action) {
    const std::array<std::string_view, kReasons> fields = {
        r.event_id, r.account, r.country, r.city, r.user_agent, r.device_id, r.protocol};
    std::size_t size = r.reasons.size();
    for (std::string_view f : fields) size += f.size();
    for (const std::string& reason : r.reasons) size += reason.size();
    text.reserve(size);
    for (std::size_t i = 0; i < fields.size(); ++i) {
      text += fields[i];
      end[i] = static_cast<std::uint32_t>(text.size());
    }
    append_joined(text, r.reasons);
    end[kReasons] = static_cast<std::uint32_t>(text.size());
  }
  std::string_view field(Field f) const {
    const std::uint32_t begin = f == 0 ? 0 : end[f - 1];
    return std::string_view(text).substr(begin, end[f] - begin);
  }
};
struct PutLockOp {
  std::string account;
  LockInfo lock;
};
struct ClearLockOp {
  std::string account;
};
struct PutContactOp {
  std::string account;
  Contact contact;
};
struct PutLastLoginOp {
  std::string account;
  LastLogin login;
};
struct PutListEntryOp {
  ListEntry e;
};
struct DeleteListEntryOp {
  std::string id;
};
struct PutIncidentOp {
  Incident i;
};
struct PutIncidentAccountOp {
  std::string incident_id;
  IncidentAccount a;
};
struct PutIncidentAndAccountOp {
  Incident header;
  IncidentAccount a;
};
struct PutBlockOp {
  Block b;
};
struct DeleteBlockOp {
  std::string scope, key;
};
struct PutProfileOp {
  std::string account;
  std::string data;  // encode_profile's text, made by the caller's thread
};
struct PruneActivityOp {
  TimePoint before;
};
struct PruneBlocksOp {
  TimePoint before;
};
struct PruneOutboxOp {
  TimePoint before;
};
struct PutTotpOp {
  TotpRecord r;
};
struct DeleteTotpOp {
  std::string account;
};
struct EnqueueOutboxOp {
  OutboxItem item;
};
struct OutboxDeliveredOp {
  std::string id;
  TimePoint when;
};
struct OutboxRetryOp {
  std::string id;
  TimePoint next_attempt;
  std::string error;
};
struct OutboxFailedOp {
  std::string id;
  TimePoint when;
  std::string error;
};

}  // namespace

// ---- private types ----

struct SqliteStore::WriteOp
    : std::variant<AppendActivityOp, PutLockOp, ClearLockOp, PutContactOp, PutLastLoginOp,
                   PutListEntryOp, DeleteListEntryOp, PutIncidentOp, PutIncidentAccountOp,
                   PutIncidentAndAccountOp, PutBlockOp, DeleteBlockOp, PruneActivityOp,
                   PruneBlocksOp, PutProfileOp, PutTotpOp, DeleteTotpOp, EnqueueOutboxOp,
                   OutboxDeliveredOp, OutboxRetryOp, OutboxFailedOp, PruneOutboxOp> {
  using variant::variant;
};

// A read connection keeps its read transaction (its snapshot) from one read
// to the next for as long as nothing was committed meanwhile: beginning and
// ending one costs two file-lock calls and the WAL index lookups, more than a
// profile read itself.
struct SqliteStore::ReadConnection {
  sqlite3* db = nullptr;
  std::array<sqlite3_stmt*, kReadStmtCount> stmts{};
  sqlite3_stmt* begin = nullptr;  // BEGIN (deferred: the snapshot is taken by the first read)
  sqlite3_stmt* end = nullptr;    // COMMIT
  bool in_snapshot = false;
  WriteTicket snapshot = 0;  // committed() just before the snapshot began

  // Reads that see every write committed up to `committed`.
  Status use_snapshot(WriteTicket committed) {
    if (in_snapshot && snapshot == committed) return {};
    end_snapshot();
    const int rc = sqlite3_step(begin);
    sqlite3_reset(begin);
    if (rc != SQLITE_DONE) return read_error(db, rc);
    in_snapshot = true;
    snapshot = committed;
    return {};
  }
  void end_snapshot() {
    if (!in_snapshot) return;
    in_snapshot = false;
    (void)sqlite3_step(end);
    sqlite3_reset(end);
    // A failed COMMIT of a read transaction leaves it open; roll it back.
    if (sqlite3_get_autocommit(db) == 0) (void)sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  }

  ReadConnection() = default;
  ReadConnection(const ReadConnection&) = delete;
  ReadConnection& operator=(const ReadConnection&) = delete;
  ~ReadConnection() {
    end_snapshot();
    for (sqlite3_stmt* st : stmts) sqlite3_finalize(st);
    sqlite3_finalize(begin);
    sqlite3_finalize(end);
    close_db(db);
  }
};

// ---- open / close ----

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& data_dir) {
  return open(data_dir, SqliteStoreOptions{});
}

Status SqliteStore::check(const std::string& data_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir(data_dir);
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) return open_error(data_dir, "not a directory");
    if (::access(data_dir.c_str(), W_OK | X_OK) != 0)
      return open_error(data_dir, std::string("not writable: ") + std::strerror(errno));
  } else {
    fs::path parent = fs::absolute(dir, ec).parent_path();
    while (!parent.empty() && !fs::exists(parent, ec) && parent != parent.parent_path())
      parent = parent.parent_path();
    if (::access(parent.c_str(), W_OK | X_OK) != 0)
      return open_error(data_dir, "cannot be created: " + parent.string() + " is not writable (" +
                                      std::strerror(errno) + ")");
    return {};
  }
  const std::string path = (dir / "mamori.db").string();
  if (Status s = check_database_present(data_dir, path); !s) return s;
  if (!fs::exists(path, ec) || fs::file_size(path, ec) == 0) return {};
  auto db = open_db(path, SQLITE_OPEN_READONLY, std::chrono::milliseconds(1000));
  if (!db) return db.error();
  auto fail = [&](const std::string& why) -> Status {
    close_db(*db);
    return open_error(path, why);
  };
  auto version = exec_value(*db, "PRAGMA user_version");
  if (!version) return fail(version.error().message);
  if (std::atoi(version->c_str()) > kSchemaVersion)
    return fail("schema version " + *version + " is newer than this build's " +
                std::to_string(kSchemaVersion));
  auto has_meta = exec_value(*db, "SELECT name FROM sqlite_master WHERE name = 'meta'");
  if (!has_meta) return fail(has_meta.error().message);
  if (!has_meta->empty()) {
    auto id = exec_value(*db, "SELECT value FROM meta WHERE key = 'data_dir_id'");
    if (!id) return fail(id.error().message);
    const std::string id_path = (dir / kIdFile).string();
    const std::string file_id = read_id_file(id_path);
    if (!id->empty() && !file_id.empty() && *id != file_id)
      return fail("the database belongs to another data dir (its id is " + *id + ", " + id_path +
                  " says " + file_id + ")");
  }
  close_db(*db);
  return {};
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& data_dir,
                                                       const SqliteStoreOptions& options) {
  if (sqlite3_threadsafe() == 0)
    return open_error(data_dir, "sqlite3 was built without thread support");
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return open_error(data_dir, "cannot create directory: " + ec.message());
  const std::string path = (std::filesystem::path(data_dir) / "mamori.db").string();
  auto claim = DataDirLock::acquire(data_dir);
  if (!claim) return claim.error();
  if (Status s = check_database_present(data_dir, path); !s) return s.error();

  auto db = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, options.busy_timeout);
  if (!db) return db.error();
  if (Status s = prepare_database(*db, path); !s) {
    close_db(*db);
    return s.error();
  }
  if (Status s = check_identity(*db, data_dir, path); !s) {
    close_db(*db);
    return s.error();
  }
  // The store owns the connection from here; its destructor closes it.
  std::unique_ptr<SqliteStore> store(new SqliteStore(path, options, *db));
  store->claim_.emplace(std::move(*claim));
  // The writer's page cache (32 MiB) holds the index pages that every batch
  // touches. The writer never checkpoints (a checkpoint's writes and fsync
  // would stall every commit behind it): checkpoint_loop does, passively.
  if (Status s = exec_script(*db, "PRAGMA cache_size=-32768; PRAGMA wal_autocheckpoint=0"); !s)
    return open_error(path, s.error().message);
  auto checkpointer = open_db(path, SQLITE_OPEN_READWRITE, options.busy_timeout);
  if (!checkpointer) return checkpointer.error();
  // A connection knows the file is in WAL mode only once it has read it; a
  // checkpoint before that does nothing (and says so only by -1 counts).
  if (auto mode = exec_value(*checkpointer, "PRAGMA journal_mode"); !mode || *mode != "wal") {
    close_db(*checkpointer);
    return open_error(path, "checkpoint connection is not in WAL mode");
  }
  store->checkpoint_thread_ =
      std::thread([s = store.get(), c = *checkpointer] { s->checkpoint_loop(c); });
  // After each commit: wake the checkpointer once the WAL is long enough.
  sqlite3_wal_hook(
      *db,
      [](void* arg, sqlite3*, const char*, int pages) {
        auto* s = static_cast<SqliteStore*>(arg);
        if (pages < s->options_.checkpoint_pages ||
            s->restart_wanted_.load(std::memory_order_acquire))
          return SQLITE_OK;
        {
          std::lock_guard lock(s->checkpoint_mu_);
          if (s->checkpoint_wanted_) return SQLITE_OK;
          s->checkpoint_wanted_ = true;
        }
        s->checkpoint_cv_.notify_one();
        return SQLITE_OK;
      },
      store.get());
  if (Status s = prepare_all(*db, kWriterSql, store->writer_stmts_.data()); !s)
    return open_error(path, s.error().message);
  if (Status s = store->fill_profile_filter(); !s) return open_error(path, s.error().message);
  // A first read connection, so a database readers cannot use fails here.
  Status probe = store->with_read_stmt(kIncident, [](sqlite3_stmt*) { return Status{}; });
  if (!probe) return open_error(path, probe.error().message);
  store->commits_.start(
      [s = store.get()](const std::vector<WriteOp>& batch) { return s->apply_batch(batch); },
      [s = store.get()] { s->between_batches(); });
  return store;
}

// On the writer's connection, before the writer thread starts.
Status SqliteStore::fill_profile_filter() {
  auto rows = exec_value(writer_db_, "SELECT count(*) FROM profiles");
  if (!rows) return rows.error();
  const auto count = std::size_t(std::stoull(*rows));
  profile_filter_ = std::make_unique<BloomFilter>(std::max(kMinProfileFilter, 2 * count));
  sqlite3_stmt* st = nullptr;
  if (int rc = sqlite3_prepare_v2(writer_db_, "SELECT account FROM profiles", -1, &st, nullptr);
      rc != SQLITE_OK)
    return read_error(writer_db_, rc);
  const Status s = for_each_row(st, [&](sqlite3_stmt* row) {
    profile_filter_->add(hash_bytes(Row(row).text_view()));
    return Status{};
  });
  sqlite3_finalize(st);
  if (s && count > 0)
    log_info("store: " + std::to_string(count) + " profiles indexed (" +
             std::to_string(profile_filter_->memory_bytes() >> 10) + " KiB filter)");
  return s;
}

SqliteStore::SqliteStore(std::string path, SqliteStoreOptions options, sqlite3* writer_db)
    : path_(std::move(path)),
      options_(options),
      writer_db_(writer_db),
      writer_stmts_(kWriterStmtCount, nullptr),
      commits_(path_) {}

namespace {
// Flushes the written pages of `db`'s database file (`which`
// SQLITE_FCNTL_FILE_POINTER) or of its WAL (SQLITE_FCNTL_JOURNAL_POINTER)
// through SQLite's own handle of it (the page cache is the file's, whoever
// wrote it). Never through a descriptor opened here: closing it would drop
// every POSIX lock this process holds on the file, SQLite's shared lock on
// the database among them, and another process closing its connection to the
// database (an sqlite3 shell) would then take itself for the last one and
// delete the WAL under the daemon, and the commits in it with it.
void flush_file(sqlite3* db, int which) {
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db, "main", which, &file) != SQLITE_OK || file == nullptr ||
      file->pMethods == nullptr)
    return;
  (void)file->pMethods->xSync(file, SQLITE_SYNC_NORMAL | SQLITE_SYNC_DATAONLY);
}
}  // namespace

void SqliteStore::checkpoint_loop(sqlite3* db) {
  std::unique_lock lock(checkpoint_mu_);
  for (;;) {
    checkpoint_cv_.wait(lock, [&] { return checkpoint_stopping_ || checkpoint_wanted_; });
    if (checkpoint_stopping_) break;
    lock.unlock();
    // Passively, while commits go on, until a pass finds few frames
    // committed since the one before. Then the files' pages are flushed here
    // and one more pass copies what came meanwhile, so the writer's last pass
    // between two batches (finish_checkpoint) has little to copy and flush:
    // commits wait only for that.
    auto pass = [&](int& log_frames) {
      int copied = 0;
      return sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                       &copied);
    };
    int rc = SQLITE_OK;
    for (int n = 0, before = -1, frames = 0; n < kCheckpointPasses; ++n, before = frames) {
      rc = pass(frames);
      if (rc != SQLITE_OK || (before >= 0 && frames - before < kCheckpointTail)) break;
    }
    if (rc == SQLITE_OK) {
      flush_file(db, SQLITE_FCNTL_JOURNAL_POINTER);
      flush_file(db, SQLITE_FCNTL_FILE_POINTER);
      int frames = 0;
      rc = pass(frames);
    }
    if (rc == SQLITE_OK) {
      restart_wanted_.store(true, std::memory_order_release);
    } else if (rc != SQLITE_BUSY) {
      log_warn("store checkpoint of " + path_ + " failed: " + sqlite3_errstr(rc));
    }
    lock.lock();
    checkpoint_wanted_ = false;
  }
  lock.unlock();
  close_db(db);
}

void SqliteStore::render_metrics(std::string& out) const {
  commits_.render_metrics(out);
  out +=
      "# HELP mamori_store_checkpoints_total WAL checkpoints that let the log start over.\n"
      "# TYPE mamori_store_checkpoints_total counter\nmamori_store_checkpoints_total " +
      std::to_string(checkpoints()) +
      "\n# HELP mamori_store_profile_reads_skipped_total Profile reads answered without a "
      "query (the account never had a profile).\n"
      "# TYPE mamori_store_profile_reads_skipped_total counter\n"
      "mamori_store_profile_reads_skipped_total " +
      std::to_string(profile_reads_skipped()) + "\n";
}

// On the writer's thread, between batches, after the checkpoint thread's
// passes: copies the frames committed since, so that the whole log is in the
// database and the next commit starts the log over. A checkpoint on another
// connection never catches up with a writer that never pauses (and one asking
// for RESTART starves on the write lock); the log would grow with every
// commit.
void SqliteStore::finish_checkpoint() {
  // A reader's snapshot keeps the frames after it in the log: one taken
  // during the pass would stop the next commit from starting the log over.
  end_idle_snapshots();
  int log_frames = 0, copied = 0;
  const int rc = sqlite3_wal_checkpoint_v2(writer_db_, nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                           &log_frames, &copied);
  end_idle_snapshots();
  if (rc == SQLITE_OK) {
    checkpoints_.fetch_add(1, std::memory_order_relaxed);
  } else if (rc != SQLITE_BUSY) {
    log_warn("store checkpoint of " + path_ + " failed: " + sqlite3_errstr(rc));
  }
}

// After a commit every snapshot is stale (the next read on its connection
// would end it anyway); ending the idle ones here lets go of the WAL frames
// they hold.
void SqliteStore::end_idle_snapshots() {
  std::lock_guard lock(readers_mu_);
  for (auto& r : idle_readers_) r->end_snapshot();
}

SqliteStore::~SqliteStore() {
  if (checkpoint_thread_.joinable()) {
    {
      std::lock_guard lock(checkpoint_mu_);
      checkpoint_stopping_ = true;
    }
    checkpoint_cv_.notify_one();
    checkpoint_thread_.join();
  }
  commits_.stop();
  idle_readers_.clear();
  for (sqlite3_stmt* st : writer_stmts_) sqlite3_finalize(st);
  close_db(writer_db_);
}

// ---- writes ----

WriteTicket SqliteStore::append_activity(const ActivityRecord& r) {
  return commits_.enqueue(AppendActivityOp(r));
}
WriteTicket SqliteStore::put_lock(std::string account, LockInfo lock) {
  return commits_.enqueue(PutLockOp{std::move(account), std::move(lock)});
}
WriteTicket SqliteStore::clear_lock(std::string account) {
  return commits_.enqueue(ClearLockOp{std::move(account)});
}
WriteTicket SqliteStore::put_contact(std::string account, Contact contact) {
  return commits_.enqueue(PutContactOp{std::move(account), std::move(contact)});
}
WriteTicket SqliteStore::put_last_login(std::string account, LastLogin login) {
  return commits_.enqueue(PutLastLoginOp{std::move(account), std::move(login)});
}
WriteTicket SqliteStore::put_profile(std::string account, const AccountProfile& profile) {
  profile_filter_->add(hash_bytes(account));
  return commits_.enqueue(PutProfileOp{std::move(account), encode_profile(profile)});
}
WriteTicket SqliteStore::put_list_entry(ListEntry e) {
  return commits_.enqueue(PutListEntryOp{std::move(e)});
}
WriteTicket SqliteStore::delete_list_entry(std::string id) {
  return commits_.enqueue(DeleteListEntryOp{std::move(id)});
}
WriteTicket SqliteStore::put_incident(Incident i) {
  return commits_.enqueue(PutIncidentOp{std::move(i)});
}
WriteTicket SqliteStore::put_incident_account(std::string incident_id, IncidentAccount a) {
  return commits_.enqueue(PutIncidentAccountOp{std::move(incident_id), std::move(a)});
}
WriteTicket SqliteStore::put_incident_and_account(Incident header, IncidentAccount a) {
  return commits_.enqueue(PutIncidentAndAccountOp{std::move(header), std::move(a)});
}
WriteTicket SqliteStore::put_block(Block b) { return commits_.enqueue(PutBlockOp{std::move(b)}); }
WriteTicket SqliteStore::delete_block(std::string scope, std::string key) {
  return commits_.enqueue(DeleteBlockOp{std::move(scope), std::move(key)});
}
WriteTicket SqliteStore::prune_activity(TimePoint before) {
  return commits_.enqueue(PruneActivityOp{before});
}
WriteTicket SqliteStore::prune_blocks(TimePoint before) {
  return commits_.enqueue(PruneBlocksOp{before});
}
WriteTicket SqliteStore::prune_outbox(TimePoint before) {
  return commits_.enqueue(PruneOutboxOp{before});
}
WriteTicket SqliteStore::put_totp(TotpRecord r) {
  return commits_.enqueue(PutTotpOp{std::move(r)});
}
WriteTicket SqliteStore::delete_totp(std::string account) {
  return commits_.enqueue(DeleteTotpOp{std::move(account)});
}
WriteTicket SqliteStore::enqueue_outbox(OutboxItem item) {
  return commits_.enqueue(EnqueueOutboxOp{std::move(item)});
}
WriteTicket SqliteStore::outbox_delivered(std::string id, TimePoint when) {
  return commits_.enqueue(OutboxDeliveredOp{std::move(id), when});
}
WriteTicket SqliteStore::outbox_retry(std::string id, TimePoint next_attempt, std::string error) {
  return commits_.enqueue(OutboxRetryOp{std::move(id), next_attempt, std::move(error)});
}
WriteTicket SqliteStore::outbox_failed(std::string id, TimePoint when, std::string error) {
  return commits_.enqueue(OutboxFailedOp{std::move(id), when, std::move(error)});
}

void SqliteStore::between_batches() {
  if (restart_wanted_.exchange(false, std::memory_order_acq_rel)) {
    finish_checkpoint();
  } else {
    end_idle_snapshots();
  }
}

Status SqliteStore::apply_batch(const std::vector<WriteOp>& batch) {
  auto run = [&](int which, std::string_view doing) -> Status {
    sqlite3_stmt* st = writer_stmts_[static_cast<size_t>(which)];
    const int rc = sqlite3_step(st);
    Status s;
    if (rc != SQLITE_DONE) s = write_error(writer_db_, rc, doing);
    sqlite3_reset(st);
    return s;
  };
  if (Status s = run(kBegin, "begin"); !s) return s;
  Status s;
  for (const WriteOp& w : batch) {
    s = apply(w);
    if (!s) break;
  }
  if (s) s = run(kCommit, "commit");
  // A failed COMMIT may leave the transaction open (SQLITE_BUSY); roll it back
  // so the next batch starts clean.
  if (!s && sqlite3_get_autocommit(writer_db_) == 0) (void)run(kRollback, "rollback");
  return s;
}

Status SqliteStore::apply(const WriteOp& w) {
  // Binds one statement with `bind`, runs it to completion, resets it.
  auto exec = [&](int which, std::string_view doing, auto&& bind) -> Status {
    sqlite3_stmt* st = writer_stmts_[static_cast<size_t>(which)];
    ResetOnExit reset(st);
    Binder b(st);
    bind(b);
    if (b.rc() != SQLITE_OK) return write_error(writer_db_, b.rc(), doing);
    const int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) return write_error(writer_db_, rc, doing);
    return {};
  };

  auto put_incident = [&](const Incident& i) {
    const std::string sources = join(i.sources);
    return exec(kPutIncident, "put_incident", [&](Binder& b) {
      b.text(i.id).text(to_string(i.kind)).time(i.started).time(i.last_seen).text(sources);
      b.int64(i.accounts_targeted).int64(i.accounts_compromised);
    });
  };
  auto put_incident_account = [&](const std::string& incident_id, const IncidentAccount& a) {
    return exec(kPutIncidentAccount, "put_incident_account", [&](Binder& b) {
      b.text(incident_id).text(a.account).time(a.first_seen).time(a.last_seen);
      b.boolean(a.login_succeeded);
    });
  };

  return std::visit(
      [&](const auto& op) -> Status {
        using T = std::decay_t<decltype(op)>;
        if constexpr (std::is_same_v<T, AppendActivityOp>) {
          using F = AppendActivityOp;
          const std::string ip = op.ip.to_string();
          return exec(kInsertActivity, "append_activity", [&](Binder& b) {
            b.text(op.field(F::kEventId)).time(op.time).text(op.field(F::kAccount));
            b.text(to_string(op.type)).text(ip).text(op.field(F::kCountry));
            b.text(op.field(F::kCity)).text(op.field(F::kUserAgent));
            b.text(op.field(F::kDeviceId)).text(op.field(F::kProtocol));
            if (op.success) {
              b.boolean(*op.success);
            } else {
              b.null();
            }
            b.text(to_string(op.action)).text(op.field(F::kReasons));
          });
        } else if constexpr (std::is_same_v<T, PutLockOp>) {
          return exec(kPutLock, "put_lock", [&](Binder& b) {
            b.text(op.account).text(op.lock.reason).time(op.lock.since);
            b.boolean(op.lock.password_reset_required).text(op.lock.by);
          });
        } else if constexpr (std::is_same_v<T, ClearLockOp>) {
          return exec(kClearLock, "clear_lock", [&](Binder& b) { b.text(op.account); });
        } else if constexpr (std::is_same_v<T, PutContactOp>) {
          return exec(kPutContact, "put_contact", [&](Binder& b) {
            b.text(op.account).text(op.contact.email).text(op.contact.lang);
            b.boolean(op.contact.notify).text(op.contact.time_zone);
          });
        } else if constexpr (std::is_same_v<T, PutLastLoginOp>) {
          const std::string ip = op.login.ip.to_string();
          return exec(kPutLastLogin, "put_last_login", [&](Binder& b) {
            b.text(op.account).time(op.login.time).text(ip).text(op.login.country);
          });
        } else if constexpr (std::is_same_v<T, PutProfileOp>) {
          return exec(kPutProfile, "put_profile",
                      [&](Binder& b) { b.text(op.account).text(op.data); });
        } else if constexpr (std::is_same_v<T, PutListEntryOp>) {
          const ListEntry& e = op.e;
          return exec(kPutListEntry, "put_list_entry", [&](Binder& b) {
            b.text(e.id).text(to_string(e.kind)).text(e.target).text(e.reason).time(e.created);
            if (e.expires) {
              b.time(*e.expires);
            } else {
              b.null();
            }
          });
        } else if constexpr (std::is_same_v<T, DeleteListEntryOp>) {
          return exec(kDeleteListEntry, "delete_list_entry", [&](Binder& b) { b.text(op.id); });
        } else if constexpr (std::is_same_v<T, PutIncidentOp>) {
          return put_incident(op.i);
        } else if constexpr (std::is_same_v<T, PutIncidentAccountOp>) {
          return put_incident_account(op.incident_id, op.a);
        } else if constexpr (std::is_same_v<T, PutIncidentAndAccountOp>) {
          if (Status s = put_incident(op.header); !s) return s;
          return put_incident_account(op.header.id, op.a);
        } else if constexpr (std::is_same_v<T, PutBlockOp>) {
          const Block& k = op.b;
          return exec(kPutBlock, "put_block", [&](Binder& b) {
            b.text(k.scope).text(k.key).text(to_string(k.reason)).text(to_string(k.action));
            b.time(k.since).time(k.until).text(k.incident_id);
          });
        } else if constexpr (std::is_same_v<T, DeleteBlockOp>) {
          return exec(kDeleteBlock, "delete_block",
                      [&](Binder& b) { b.text(op.scope).text(op.key); });
        } else if constexpr (std::is_same_v<T, PutTotpOp>) {
          const TotpRecord& r = op.r;
          const std::string codes = totp_codes_text(r.recovery_codes);
          const std::string failures = times_text(r.recent_failures);
          return exec(kPutTotp, "put_totp", [&](Binder& b) {
            b.text(r.account).blob(r.sealed_secret).boolean(r.confirmed).int64(r.last_step);
            b.time(r.created);
            if (r.confirmed_at) {
              b.time(*r.confirmed_at);
            } else {
              b.null();
            }
            b.text(codes).text(failures);
          });
        } else if constexpr (std::is_same_v<T, DeleteTotpOp>) {
          return exec(kDeleteTotp, "delete_totp", [&](Binder& b) { b.text(op.account); });
        } else if constexpr (std::is_same_v<T, EnqueueOutboxOp>) {
          const OutboxItem& i = op.item;
          return exec(kEnqueueOutbox, "enqueue_outbox", [&](Binder& b) {
            b.text(i.id).text(to_string(i.channel)).text(i.destination).text(i.payload);
            b.time(i.created).int64(i.attempts).time(i.next_attempt).text(i.last_error);
          });
        } else if constexpr (std::is_same_v<T, OutboxDeliveredOp>) {
          return exec(kOutboxDelivered, "outbox_delivered",
                      [&](Binder& b) { b.text(op.id).time(op.when); });
        } else if constexpr (std::is_same_v<T, OutboxRetryOp>) {
          return exec(kOutboxRetry, "outbox_retry",
                      [&](Binder& b) { b.text(op.id).time(op.next_attempt).text(op.error); });
        } else if constexpr (std::is_same_v<T, OutboxFailedOp>) {
          return exec(kOutboxFailed, "outbox_failed",
                      [&](Binder& b) { b.text(op.id).time(op.when).text(op.error); });
        } else if constexpr (std::is_same_v<T, PruneActivityOp>) {
          return exec(kPruneActivity, "prune", [&](Binder& b) { b.time(op.before); });
        } else if constexpr (std::is_same_v<T, PruneOutboxOp>) {
          return exec(kPruneOutbox, "prune", [&](Binder& b) { b.time(op.before); });
        } else {
          static_assert(std::is_same_v<T, PruneBlocksOp>);
          return exec(kPruneBlocks, "prune", [&](Binder& b) { b.time(op.before); });
        }
      },
      w);
}

// ---- commits ----

Status SqliteStore::wait(WriteTicket t) { return commits_.wait(t); }
WriteTicket SqliteStore::drain() { return commits_.drain(); }
void SqliteStore::on_committed(WriteTicket t, std::function<void(const Status&)> done) {
  commits_.on_committed(t, std::move(done));
}
Status SqliteStore::status(const WriteSpan& span) const { return commits_.status(span); }
std::uint64_t SqliteStore::on_failed_commit(
    std::function<void(const WriteSpan&, const Error&)> fn) {
  return commits_.on_failed_commit(std::move(fn));
}
void SqliteStore::remove_failure_listener(std::uint64_t id) {
  commits_.remove_failure_listener(id);
}

// ---- reads ----

Status SqliteStore::with_read_stmt(int which, const std::function<Status(sqlite3_stmt*)>& fn) {
  std::unique_ptr<ReadConnection> conn;
  {
    std::lock_guard lock(readers_mu_);
    if (!idle_readers_.empty()) {
      conn = std::move(idle_readers_.back());
      idle_readers_.pop_back();
    }
  }
  if (!conn) {
    auto db = open_db(path_, SQLITE_OPEN_READWRITE, options_.busy_timeout);
    if (!db) return read_error(db.error().message);
    conn = std::make_unique<ReadConnection>();
    conn->db = *db;
    if (Status s = exec_script(conn->db, "PRAGMA query_only=1"); !s)
      return read_error("cannot open read connection to " + path_ + ": " + s.error().message);
    if (Status s = prepare_all(conn->db, kReadSql, conn->stmts.data()); !s)
      return read_error("cannot prepare read statements on " + path_ + ": " + s.error().message);
    if (sqlite3_prepare_v2(conn->db, "BEGIN", -1, &conn->begin, nullptr) != SQLITE_OK ||
        sqlite3_prepare_v2(conn->db, "COMMIT", -1, &conn->end, nullptr) != SQLITE_OK)
      return read_error("cannot prepare read transactions on " + path_ + ": " +
                        sqlite3_errmsg(conn->db));
  }
  Status s = conn->use_snapshot(committed());
  if (s) {
    sqlite3_stmt* st = conn->stmts[static_cast<size_t>(which)];
    ResetOnExit reset(st);
    s = fn(st);
  }
  if (!s) conn->end_snapshot();  // the next read starts afresh
  std::lock_guard lock(readers_mu_);
  if (idle_readers_.size() < options_.max_idle_readers) idle_readers_.push_back(std::move(conn));
  return s;
}

Result<std::optional<AccountRecord>> SqliteStore::account(std::string_view account) {
  std::vector<AccountRecord> rows;
  Status s = with_read_stmt(kAccount, [&](sqlite3_stmt* st) -> Status {
    if (int rc = Binder(st).text(account).rc(); rc != SQLITE_OK) return read_error(nullptr, rc);
    return collect(st, rows, read_account);
  });
  if (!s) return s.error();
  if (rows.empty()) return std::optional<AccountRecord>();
  return std::optional<AccountRecord>(std::move(rows.front()));
}

Result<AccountProfile> SqliteStore::profile(std::string_view account) {
  if (!profile_filter_->may_contain(hash_bytes(account))) {
    profile_reads_skipped_.fetch_add(1, std::memory_order_relaxed);
    return AccountProfile{};
  }
  std::vector<std::string> rows;
  Status s = with_read_stmt(kProfile, [&](sqlite3_stmt* st) -> Status {
    if (int rc = Binder(st).text(account).rc(); rc != SQLITE_OK) return read_error(nullptr, rc);
    return collect(st, rows, [](sqlite3_stmt* row) -> Result<std::string> { return Row(row).text(); });
  });
  if (!s) return s.error();
  if (rows.empty()) return AccountProfile{};
  auto p = decode_profile(rows.front());
  if (!p) return read_error("bad profile of account " + std::string(account) + ": " + p.error().message);
  return p;
}

Result<std::vector<AccountRecord>> SqliteStore::locked_accounts() {
  std::vector<AccountRecord> rows;
  Status s = with_read_stmt(kLockedAccounts,
                            [&](sqlite3_stmt* st) { return collect(st, rows, read_account); });
  if (!s) return s.error();
  return rows;
}

Result<std::vector<ActivityRecord>> SqliteStore::activity(std::string_view account, TimePoint since,
                                                          std::size_t limit) {
  std::vector<ActivityRecord> rows;
  Status s = with_read_stmt(kActivity, [&](sqlite3_stmt* st) -> Status {
    const int rc = Binder(st).text(account).time(since).int64(limit_param(limit)).rc();
    if (rc != SQLITE_OK) return read_error(nullptr, rc);
    return collect(st, rows, read_activity);
  });
  if (!s) return s.error();
  return rows;
}

Status SqliteStore::failed_logins_since(TimePoint since, std::size_t limit,
                                        const std::function<void(const ActivityRecord&)>& fn) {
  ActivityRecord r;
  r.type = EventType::kLoginResult;
  r.success = false;
  return with_read_stmt(kFailedLoginsSince, [&](sqlite3_stmt* st) -> Status {
    const int rc = Binder(st).time(since).int64(limit_param(limit)).rc();
    if (rc != SQLITE_OK) return read_error(nullptr, rc);
    return for_each_row(st, [&](sqlite3_stmt* row) -> Status {
      Row cols(row);
      r.time = cols.time();
      r.account = cols.text_view();
      const std::string_view ip = cols.text_view();
      auto parsed = IpAddress::parse(ip);
      if (!parsed) return read_error("bad ip '" + std::string(ip) + "' in activity");
      r.ip = *parsed;
      fn(r);
      return {};
    });
  });
}

Result<std::vector<ListEntry>> SqliteStore::list_entries() {
  std::vector<ListEntry> rows;
  Status s = with_read_stmt(kListEntries,
                            [&](sqlite3_stmt* st) { return collect(st, rows, read_list_entry); });
  if (!s) return s.error();
  return rows;
}

Result<std::vector<Incident>> SqliteStore::incidents(TimePoint since) {
  std::vector<Incident> rows;
  Status s = with_read_stmt(kIncidents, [&](sqlite3_stmt* st) -> Status {
    if (int rc = Binder(st).time(since).rc(); rc != SQLITE_OK) return read_error(nullptr, rc);
    return collect(st, rows, read_incident);
  });
  if (!s) return s.error();
  return rows;
}

Result<std::optional<Incident>> SqliteStore::incident(std::string_view id) {
  std::vector<Incident> rows;
  Status s = with_read_stmt(kIncident, [&](sqlite3_stmt* st) -> Status {
    if (int rc = Binder(st).text(id).rc(); rc != SQLITE_OK) return read_error(nullptr, rc);
    return collect(st, rows, read_incident);
  });
  if (!s) return s.error();
  if (rows.empty()) return std::optional<Incident>();
  return std::optional<Incident>(std::move(rows.front()));
}

Result<std::vector<IncidentAccount>> SqliteStore::incident_accounts(std::string_view id) {
  std::vector<IncidentAccount> rows;
  Status s = with_read_stmt(kIncidentAccounts, [&](sqlite3_stmt* st) -> Status {
    if (int rc = Binder(st).text(id).rc(); rc != SQLITE_OK) return read_error(nullptr, rc);
    return collect(st, rows, read_incident_account);
  });
  if (!s) return s.error();
  return rows;
}

Result<std::vector<Incident>> SqliteStore::incidents_for_account(std::string_view account) {
  std::vector<Incident> rows;
  Status s = with_read_stmt(kIncidentsForAccount, [&](sqlite3_stmt* st) -> Status {
    if (int rc = Binder(st).text(account).rc(); rc != SQLITE_OK) return read_error(nullptr, rc);
    return collect(st, rows, read_incident);
  });
  if (!s) return s.error();
  return rows;
}

Result<std::vector<Block>> SqliteStore::blocks(TimePoint now) {
  std::vector<Block> rows;
  Status s = with_read_stmt(kBlocks, [&](sqlite3_stmt* st) -> Status {
    if (int rc = Binder(st).time(now).rc(); rc != SQLITE_OK) return read_error(nullptr, rc);
    return collect(st, rows, read_block);
  });
  if (!s) return s.error();
  return rows;
}

Result<std::optional<TotpRecord>> SqliteStore::totp(std::string_view account) {
  std::vector<TotpRecord> rows;
  Status s = with_read_stmt(kTotp, [&](sqlite3_stmt* st) -> Status {
    if (int rc = Binder(st).text(account).rc(); rc != SQLITE_OK) return read_error(nullptr, rc);
    return collect(st, rows, read_totp);
  });
  if (!s) return s.error();
  if (rows.empty()) return std::optional<TotpRecord>();
  return std::optional<TotpRecord>(std::move(rows.front()));
}

Result<std::vector<OutboxItem>> SqliteStore::due_outbox(TimePoint now, std::size_t limit) {
  std::vector<OutboxItem> rows;
  Status s = with_read_stmt(kDueOutbox, [&](sqlite3_stmt* st) -> Status {
    const int rc = Binder(st).time(now).int64(limit_param(limit)).rc();
    if (rc != SQLITE_OK) return read_error(nullptr, rc);
    return collect(st, rows, read_outbox_item);
  });
  if (!s) return s.error();
  return rows;
}

Result<OutboxCounts> SqliteStore::outbox_counts() {
  OutboxCounts counts;
  Status s = with_read_stmt(kOutboxCounts, [&](sqlite3_stmt* st) -> Status {
    for (;;) {
      const int rc = sqlite3_step(st);
      if (rc == SQLITE_DONE) return {};
      if (rc != SQLITE_ROW) return read_error(sqlite3_db_handle(st), rc);
      Row row(st);
      const std::string state = row.text();
      const std::string channel = row.text();
      const std::int64_t n = row.int64();
      auto c = outbox_channel_from_string(channel);
      if (!c) return read_error("unknown channel '" + channel + "' in outbox");
      const auto i = static_cast<std::size_t>(*c);
      if (state == "pending") {
        counts.pending[i] = n;
        const TimePoint next = row.time();
        if (!counts.next_attempt || next < *counts.next_attempt) counts.next_attempt = next;
      } else {
        counts.failed[i] = n;
      }
    }
  });
  if (!s) return s.error();
  return counts;
}

}  // namespace mamori::store
