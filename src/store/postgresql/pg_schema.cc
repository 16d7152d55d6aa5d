#include "store/postgresql/pg_schema.h"

#include <array>
#include <charconv>
#include <cstdio>
#include <memory>

namespace mamori::store::postgresql {

namespace {

constexpr std::array<const char*, kPgSchemaVersion> kMigrations = {
    // 0 -> 1: every record of the SQLite store's schema 6, the profiles,
    // and the activity log partitioned by day.
    R"sql(
CREATE TABLE accounts (
  account TEXT NOT NULL PRIMARY KEY,
  locked BOOLEAN NOT NULL DEFAULT false,
  lock_reason TEXT NOT NULL DEFAULT '',
  lock_since_ms BIGINT NOT NULL DEFAULT 0,
  lock_password_reset BOOLEAN NOT NULL DEFAULT false,
  lock_by TEXT NOT NULL DEFAULT '',
  email TEXT NOT NULL DEFAULT '',
  lang TEXT NOT NULL DEFAULT 'en',
  notify BOOLEAN NOT NULL DEFAULT true,
  has_last_login BOOLEAN NOT NULL DEFAULT false,
  last_login_ms BIGINT NOT NULL DEFAULT 0,
  last_login_ip TEXT NOT NULL DEFAULT '',
  last_login_country TEXT NOT NULL DEFAULT '',
  time_zone TEXT NOT NULL DEFAULT ''
);
CREATE INDEX accounts_locked ON accounts(account) WHERE locked;

CREATE TABLE list_entries (
  id TEXT NOT NULL PRIMARY KEY,
  kind TEXT NOT NULL,
  target TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  expires_ms BIGINT
);

CREATE TABLE incidents (
  id TEXT NOT NULL PRIMARY KEY,
  kind TEXT NOT NULL,
  started_ms BIGINT NOT NULL,
  last_seen_ms BIGINT NOT NULL,
  sources TEXT NOT NULL,
  accounts_targeted BIGINT NOT NULL,
  accounts_compromised BIGINT NOT NULL
);
CREATE INDEX incidents_last_seen ON incidents(last_seen_ms);

CREATE TABLE incident_accounts (
  incident_id TEXT NOT NULL,
  account TEXT NOT NULL,
  first_seen_ms BIGINT NOT NULL,
  last_seen_ms BIGINT NOT NULL,
  login_succeeded BOOLEAN NOT NULL,
  PRIMARY KEY (incident_id, account)
);
CREATE INDEX incident_accounts_account ON incident_accounts(account);

CREATE TABLE blocks (
  scope TEXT NOT NULL,
  block_key TEXT NOT NULL,
  reason TEXT NOT NULL,
  action TEXT NOT NULL,
  since_ms BIGINT NOT NULL,
  until_ms BIGINT NOT NULL,
  incident_id TEXT NOT NULL,
  PRIMARY KEY (scope, block_key)
);
CREATE INDEX blocks_until ON blocks(until_ms);

CREATE TABLE totp (
  account TEXT NOT NULL PRIMARY KEY,
  sealed_secret BYTEA NOT NULL,
  confirmed BOOLEAN NOT NULL,
  last_step BIGINT NOT NULL,
  created_ms BIGINT NOT NULL,
  confirmed_ms BIGINT,
  recovery_codes TEXT NOT NULL,
  failures TEXT NOT NULL
);

CREATE TABLE outbox (
  id TEXT NOT NULL PRIMARY KEY,
  channel TEXT NOT NULL,
  destination TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  attempts BIGINT NOT NULL DEFAULT 0,
  next_attempt_ms BIGINT NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL DEFAULT 'pending',
  done_ms BIGINT
);
CREATE INDEX outbox_state_next ON outbox(state, next_attempt_ms);
CREATE INDEX outbox_done ON outbox(done_ms) WHERE state <> 'pending';

CREATE TABLE profiles (
  account TEXT NOT NULL PRIMARY KEY,
  data TEXT NOT NULL
);

CREATE TABLE activity (
  seq BIGINT GENERATED ALWAYS AS IDENTITY,
  event_id TEXT NOT NULL,
  at TIMESTAMPTZ NOT NULL,
  account TEXT NOT NULL,
  type TEXT NOT NULL,
  ip TEXT NOT NULL,
  country TEXT NOT NULL,
  city TEXT NOT NULL,
  user_agent TEXT NOT NULL,
  device_id TEXT NOT NULL,
  protocol TEXT NOT NULL,
  success BOOLEAN,
  action TEXT NOT NULL,
  reasons TEXT NOT NULL
) PARTITION BY RANGE (at);
CREATE INDEX activity_account_at ON activity(account, at);
CREATE INDEX activity_failed_at ON activity(at) WHERE type = 'login_result' AND success = false;
)sql",
    // 1 -> 2: what owners' links and incident notices did, once (the
    // SQLite store's schema 7).
    R"sql(
CREATE TABLE owner_actions (
  action_key TEXT NOT NULL PRIMARY KEY,
  account TEXT NOT NULL,
  at_ms BIGINT NOT NULL
);
)sql",
    // 2 -> 3: the audit log of operator actions, incidents an operator
    // closed, and the actor and note of operator actions in the activity
    // log (the SQLite store's schema 8).
    R"sql(
CREATE TABLE audit (
  id TEXT NOT NULL PRIMARY KEY,
  time_ms BIGINT NOT NULL,
  actor TEXT NOT NULL,
  actor_kind TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  note TEXT NOT NULL,
  details TEXT NOT NULL
);
CREATE INDEX audit_time ON audit(time_ms, id);
CREATE INDEX audit_target ON audit(target, time_ms);
ALTER TABLE incidents ADD COLUMN closed_ms BIGINT;
ALTER TABLE activity ADD COLUMN actor TEXT NOT NULL DEFAULT '',
  ADD COLUMN note TEXT NOT NULL DEFAULT '';
)sql",
    // 3 -> 4: the console's operator accounts (the SQLite store's schema 9).
    R"sql(
CREATE TABLE operators (
  name TEXT NOT NULL PRIMARY KEY,
  password_hash TEXT NOT NULL,
  sealed_secret BYTEA NOT NULL,
  last_step BIGINT NOT NULL,
  created_ms BIGINT NOT NULL,
  last_sign_in_ms BIGINT
);
)sql",
    // 4 -> 5: the version of each profile's stored write, for the writes
    // conditional on it (ProfileStore): profiles stored before have version
    // 1, the nodes' writes store random 63-bit versions. And owner actions
    // claimed but not yet kept (RecordStore::claim_owner_action_for_writes).
    R"sql(
ALTER TABLE profiles ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE owner_actions ADD COLUMN confirmed BOOLEAN NOT NULL DEFAULT true;
)sql",
};

// pg_advisory_xact_lock key of migrations and partition changes ("mamori").
constexpr const char* kLockSql = "SELECT pg_advisory_xact_lock(7164559018)";

Error open_error(const std::string& where, const std::string& what) {
  return make_error("store_open_failed", "cannot open store " + where + ": " + what);
}

std::string message_of(PGconn* conn) {
  std::string m = PQerrorMessage(conn);
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

using ResultPtr = std::unique_ptr<PGresult, void (*)(PGresult*)>;

Result<std::string> query_value(PGconn* conn, const char* sql) {
  ResultPtr r(PQexec(conn, sql), PQclear);
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) return make_error("pg", message_of(conn));
  if (PQntuples(r.get()) == 0 || PQgetisnull(r.get(), 0, 0)) return std::string();
  return std::string(PQgetvalue(r.get(), 0, 0));
}

// Days since 1970-01-01 -> civil date (Howard Hinnant's algorithm).
void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(yoe + era * 400) + (m <= 2);
}

std::int64_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::string day_literal(std::int64_t day) {
  int y;
  unsigned m, d;
  civil_from_days(day, y, m, d);
  char buf[48];
  std::snprintf(buf, sizeof buf, "'%04d-%02u-%02u 00:00:00+00'", y, m, d);
  return buf;
}

}  // namespace

std::span<const char* const> pg_migrations() { return kMigrations; }

Status exec_command(PGconn* conn, const std::string& sql, const char* code) {
  ResultPtr r(PQexec(conn, sql.c_str()), PQclear);
  const auto st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return make_error(code, message_of(conn));
  return {};
}

Result<int> schema_version(PGconn* conn, const std::string& where) {
  auto exists = query_value(conn, "SELECT to_regclass('schema_version') IS NOT NULL");
  if (!exists) return open_error(where, exists.error().message);
  if (*exists != "t") return 0;
  auto v = query_value(conn, "SELECT coalesce(max(version), 0) FROM schema_version");
  if (!v) return open_error(where, v.error().message);
  return std::atoi(v->c_str());
}

Result<MigrationOutcome> migrate(PGconn* conn, const std::string& where) {
  auto fail = [&](const std::string& what) -> Error {
    (void)exec_command(conn, "ROLLBACK", "pg");  // the migration fails anyway
    return open_error(where, what);
  };
  if (Status s = exec_command(conn, "BEGIN", "pg"); !s) return open_error(where, s.error().message);
  if (Status s = exec_command(conn, kLockSql, "pg"); !s) return fail(s.error().message);
  if (Status s = exec_command(conn,
                              "CREATE TABLE IF NOT EXISTS schema_version ("
                              " version INTEGER NOT NULL PRIMARY KEY,"
                              " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                              "pg");
      !s)
    return fail(s.error().message);
  auto v = query_value(conn, "SELECT coalesce(max(version), 0) FROM schema_version");
  if (!v) return fail(v.error().message);
  MigrationOutcome out;
  out.from = std::atoi(v->c_str());
  if (out.from > kPgSchemaVersion)
    return fail("schema version " + std::to_string(out.from) + " is newer than this build's " +
                std::to_string(kPgSchemaVersion));
  for (int version = out.from; version < kPgSchemaVersion; ++version) {
    if (Status s = exec_command(conn, kMigrations[static_cast<std::size_t>(version)], "pg"); !s)
      return fail("schema upgrade to version " + std::to_string(version + 1) + ": " +
                  s.error().message);
    if (Status s = exec_command(
            conn,
            "INSERT INTO schema_version (version) VALUES (" + std::to_string(version + 1) + ")",
            "pg");
        !s)
      return fail(s.error().message);
  }
  if (Status s = exec_command(conn, "COMMIT", "pg"); !s) return fail(s.error().message);
  out.to = kPgSchemaVersion;
  return out;
}

std::int64_t utc_day(TimePoint t) {
  const std::int64_t ms = to_unix_ms(t);
  return (ms >= 0 ? ms : ms - 86'399'999) / 86'400'000;
}

std::string activity_partition_name(std::int64_t day) {
  int y;
  unsigned m, d;
  civil_from_days(day, y, m, d);
  char buf[40];
  std::snprintf(buf, sizeof buf, "activity_p%04d%02u%02u", y, m, d);
  return buf;
}

std::optional<std::int64_t> activity_partition_day(std::string_view name) {
  constexpr std::string_view kPrefix = "activity_p";
  if (!name.starts_with(kPrefix) || name.size() != kPrefix.size() + 8) return std::nullopt;
  name.remove_prefix(kPrefix.size());
  int y = 0;
  unsigned m = 0, d = 0;
  auto num = [](std::string_view s, auto& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
  };
  if (!num(name.substr(0, 4), y) || !num(name.substr(4, 2), m) || !num(name.substr(6, 2), d))
    return std::nullopt;
  if (m < 1 || m > 12 || d < 1 || d > 31) return std::nullopt;
  const std::int64_t day = days_from_civil(y, m, d);
  if (activity_partition_name(day) != std::string("activity_p") + std::string(name))
    return std::nullopt;  // e.g. February 30
  return day;
}

std::string create_activity_partition_sql(std::int64_t day) {
  return "CREATE TABLE IF NOT EXISTS " + activity_partition_name(day) +
         " PARTITION OF activity FOR VALUES FROM (" + day_literal(day) + ") TO (" +
         day_literal(day + 1) + ")";
}

}  // namespace mamori::store::postgresql
