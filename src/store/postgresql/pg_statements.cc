#include "store/postgresql/pg_statements.h"

#include <array>
#include <charconv>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string_view>
#include <system_error>

#include "store/postgresql/pg_connection.h"

namespace mamori::store::postgresql {

namespace {

#define MAMORI_ACCOUNT_COLUMNS                                                              \
  "account, locked, lock_reason, lock_since_ms, lock_password_reset, lock_by, email, lang," \
  " notify, has_last_login, last_login_ms, last_login_ip, last_login_country, time_zone"
#define MAMORI_INCIDENT_COLUMNS                                                           \
  "id, kind, started_ms, last_seen_ms, sources, accounts_targeted, accounts_compromised," \
  " closed_ms"
#define MAMORI_AUDIT_COLUMNS "id, time_ms, actor, actor_kind, action, target, note, details"
#define MAMORI_BLOCK_COLUMNS "scope, block_key, reason, action, since_ms, until_ms, incident_id"
#define MAMORI_OPERATOR_COLUMNS \
  "name, password_hash, sealed_secret, last_step, created_ms, last_sign_in_ms"
#define MAMORI_OPERATOR_SELECT \
  "name, password_hash, encode(sealed_secret, 'hex'), last_step, created_ms, last_sign_in_ms"
#define MAMORI_MS(t) "to_timestamp(" t "::bigint / 1000.0)"

constexpr std::array<const char*, kStatementCount> kSql = {
    // kPutLockStmt
    "INSERT INTO accounts (account, locked, lock_reason, lock_since_ms, lock_password_reset,"
    " lock_by) VALUES ($1, true, $2, $3::bigint, $4::boolean, $5)"
    " ON CONFLICT (account) DO UPDATE SET locked = true, lock_reason = excluded.lock_reason,"
    " lock_since_ms = excluded.lock_since_ms,"
    " lock_password_reset = excluded.lock_password_reset, lock_by = excluded.lock_by",
    // kClearLockStmt
    "UPDATE accounts SET locked = false, lock_reason = '', lock_since_ms = 0,"
    " lock_password_reset = false, lock_by = '' WHERE account = $1",
    // kPutContactStmt
    "INSERT INTO accounts (account, email, lang, notify, time_zone)"
    " VALUES ($1, $2, $3, $4::boolean, $5)"
    " ON CONFLICT (account) DO UPDATE SET email = excluded.email, lang = excluded.lang,"
    " notify = excluded.notify, time_zone = excluded.time_zone",
    // kPutLastLoginStmt
    "INSERT INTO accounts (account, has_last_login, last_login_ms, last_login_ip,"
    " last_login_country) VALUES ($1, true, $2::bigint, $3, $4)"
    " ON CONFLICT (account) DO UPDATE SET has_last_login = true,"
    " last_login_ms = excluded.last_login_ms, last_login_ip = excluded.last_login_ip,"
    " last_login_country = excluded.last_login_country",
    // kPutListEntryStmt
    "INSERT INTO list_entries (id, kind, target, reason, created_ms, expires_ms)"
    " VALUES ($1, $2, $3, $4, $5::bigint, $6::bigint)"
    " ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, target = excluded.target,"
    " reason = excluded.reason, created_ms = excluded.created_ms,"
    " expires_ms = excluded.expires_ms",
    // kDeleteListEntryStmt
    "DELETE FROM list_entries WHERE id = $1",
    // kPutIncidentStmt
    "INSERT INTO incidents (" MAMORI_INCIDENT_COLUMNS ")"
    " VALUES ($1, $2, $3::bigint, $4::bigint, $5, $6::bigint, $7::bigint, $8::bigint)"
    " ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, started_ms = excluded.started_ms,"
    " last_seen_ms = excluded.last_seen_ms, sources = excluded.sources,"
    " accounts_targeted = excluded.accounts_targeted,"
    " accounts_compromised = excluded.accounts_compromised, closed_ms = excluded.closed_ms",
    // kPutIncidentAccountStmt
    "INSERT INTO incident_accounts (incident_id, account, first_seen_ms, last_seen_ms,"
    " login_succeeded) VALUES ($1, $2, $3::bigint, $4::bigint, $5::boolean)"
    " ON CONFLICT (incident_id, account) DO UPDATE SET"
    " first_seen_ms = least(incident_accounts.first_seen_ms, excluded.first_seen_ms),"
    " last_seen_ms = greatest(incident_accounts.last_seen_ms, excluded.last_seen_ms),"
    " login_succeeded = (incident_accounts.login_succeeded OR excluded.login_succeeded)",
    // kPutIncidentCountsStmt
    "UPDATE incidents SET last_seen_ms = $2::bigint, accounts_targeted = $3::bigint,"
    " accounts_compromised = $4::bigint WHERE id = $1",
    // kPutBlockStmt
    "INSERT INTO blocks (" MAMORI_BLOCK_COLUMNS ")"
    " VALUES ($1, $2, $3, $4, $5::bigint, $6::bigint, $7)"
    " ON CONFLICT (scope, block_key) DO UPDATE SET reason = excluded.reason,"
    " action = excluded.action, since_ms = excluded.since_ms, until_ms = excluded.until_ms,"
    " incident_id = excluded.incident_id",
    // kDeleteBlockStmt
    "DELETE FROM blocks WHERE scope = $1 AND block_key = $2",
    // kPruneBlocksStmt
    "DELETE FROM blocks WHERE until_ms < $1::bigint",
    // kPutTotpStmt
    "INSERT INTO totp (account, sealed_secret, confirmed, last_step, created_ms, confirmed_ms,"
    " recovery_codes, failures) VALUES ($1, decode($2, 'hex'), $3::boolean, $4::bigint,"
    " $5::bigint, $6::bigint, $7, $8)"
    " ON CONFLICT (account) DO UPDATE SET sealed_secret = excluded.sealed_secret,"
    " confirmed = excluded.confirmed, last_step = excluded.last_step,"
    " created_ms = excluded.created_ms, confirmed_ms = excluded.confirmed_ms,"
    " recovery_codes = excluded.recovery_codes, failures = excluded.failures",
    // kDeleteTotpStmt
    "DELETE FROM totp WHERE account = $1",
    // kPutOwnerActionStmt: a key done before keeps its first record.
    "INSERT INTO owner_actions (action_key, account, at_ms) VALUES ($1, $2, $3::bigint)"
    " ON CONFLICT (action_key) DO NOTHING",
    // kAppendAuditStmt
    "INSERT INTO audit (" MAMORI_AUDIT_COLUMNS ")"
    " VALUES ($1, $2::bigint, $3, $4, $5, $6, $7, $8)",
    // kPutOperatorStmt
    "INSERT INTO operators (" MAMORI_OPERATOR_COLUMNS ")"
    " VALUES ($1, $2, decode($3, 'hex'), $4::bigint, $5::bigint, $6::bigint)"
    " ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash,"
    " sealed_secret = excluded.sealed_secret, last_step = excluded.last_step,"
    " created_ms = excluded.created_ms, last_sign_in_ms = excluded.last_sign_in_ms",
    // kDeleteOperatorStmt
    "DELETE FROM operators WHERE name = $1",
    // kEnqueueOutboxStmt
    "INSERT INTO outbox (id, channel, destination, payload, created_ms, attempts,"
    " next_attempt_ms, last_error, state)"
    " VALUES ($1, $2, $3, $4, $5::bigint, $6::bigint, $7::bigint, $8, 'pending')"
    " ON CONFLICT (id) DO NOTHING",
    // kOutboxDeliveredStmt
    "UPDATE outbox SET state = 'delivered', done_ms = $2::bigint, last_error = ''"
    " WHERE id = $1 AND state = 'pending'",
    // kOutboxRetryStmt
    "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = $2::bigint, last_error = $3"
    " WHERE id = $1 AND state = 'pending'",
    // kOutboxFailedStmt
    "UPDATE outbox SET state = 'failed', attempts = attempts + 1, done_ms = $2::bigint,"
    " last_error = $3 WHERE id = $1 AND state = 'pending'",
    // kPruneOutboxStmt
    "DELETE FROM outbox WHERE state <> 'pending' AND done_ms < $1::bigint",
    // kAppendActivityStmt
    "INSERT INTO activity (event_id, at, account, type, ip, country, city, user_agent,"
    " device_id, protocol, success, action, reasons, actor, note)"
    " VALUES ($1, " MAMORI_MS("$2") ", $3, $4, $5, $6, $7, $8, $9, $10, $11::boolean, $12, $13,"
    " $14, $15)",
    // kPutProfileStmt: unconditional (`mamori store copy`); a replaced
    // profile gets a version of its own, so no node's copy of the one
    // replaced is written over it.
    "INSERT INTO profiles (account, data) VALUES ($1, $2)"
    " ON CONFLICT (account) DO UPDATE SET data = excluded.data, version = profiles.version + 1",
    // kPutProfileIfStmt: $3 the version stored, $4 the one it was built on
    // (0: none). Changes no row when another write came in between.
    "INSERT INTO profiles (account, data, version) VALUES ($1, $2, $3::bigint)"
    " ON CONFLICT (account) DO UPDATE SET data = excluded.data, version = excluded.version"
    " WHERE profiles.version = $4::bigint",
    // kConfirmOwnerActionStmt: the claim made at $2 kept.
    "UPDATE owner_actions SET confirmed = true WHERE action_key = $1 AND at_ms = $2::bigint",
    // kReleaseOwnerActionStmt: the claim made at $2, not kept, undone.
    "DELETE FROM owner_actions WHERE action_key = $1 AND at_ms = $2::bigint AND NOT confirmed",
    // kNotifyStmt
    "SELECT pg_notify('mamori_records', $1)",
    // kAccountStmt
    "SELECT " MAMORI_ACCOUNT_COLUMNS " FROM accounts WHERE account = $1",
    // kLockedAccountsStmt
    "SELECT " MAMORI_ACCOUNT_COLUMNS " FROM accounts WHERE locked ORDER BY account",
    // kListEntriesStmt
    "SELECT id, kind, target, reason, created_ms, expires_ms FROM list_entries"
    " ORDER BY created_ms, id",
    // kIncidentsStmt
    "SELECT " MAMORI_INCIDENT_COLUMNS " FROM incidents WHERE last_seen_ms >= $1::bigint"
    " ORDER BY last_seen_ms DESC, id",
    // kIncidentStmt
    "SELECT " MAMORI_INCIDENT_COLUMNS " FROM incidents WHERE id = $1",
    // kIncidentAccountsStmt
    "SELECT account, first_seen_ms, last_seen_ms, login_succeeded FROM incident_accounts"
    " WHERE incident_id = $1 ORDER BY first_seen_ms, account",
    // kIncidentsForAccountStmt
    "SELECT i.id, i.kind, i.started_ms, i.last_seen_ms, i.sources, i.accounts_targeted,"
    " i.accounts_compromised, i.closed_ms FROM incidents i JOIN incident_accounts a ON a.incident_id = i.id"
    " WHERE a.account = $1 ORDER BY i.last_seen_ms DESC, i.id",
    // kBlocksStmt
    "SELECT " MAMORI_BLOCK_COLUMNS " FROM blocks WHERE until_ms > $1::bigint"
    " ORDER BY since_ms, scope, block_key",
    // kBlockStmt
    "SELECT " MAMORI_BLOCK_COLUMNS " FROM blocks WHERE scope = $1 AND block_key = $2",
    // kTotpStmt
    "SELECT account, encode(sealed_secret, 'hex'), confirmed, last_step, created_ms,"
    " confirmed_ms, recovery_codes, failures FROM totp WHERE account = $1",
    // kOwnerActionStmt: a claim not kept counts until $2.
    "SELECT at_ms FROM owner_actions WHERE action_key = $1 AND (confirmed OR at_ms >= $2::bigint)",
    // kClaimOwnerActionStmt: one statement, its own transaction: of several
    // nodes inserting one key, the unique key lets exactly one row back.
    "INSERT INTO owner_actions (action_key, account, at_ms) VALUES ($1, $2, $3::bigint)"
    " ON CONFLICT (action_key) DO NOTHING RETURNING at_ms",
    // kClaimOwnerActionForWritesStmt: as kClaimOwnerActionStmt, the claim
    // not kept yet; one another node made and never kept (its node died
    // before its batch) is taken over once made before $4.
    "INSERT INTO owner_actions (action_key, account, at_ms, confirmed)"
    " VALUES ($1, $2, $3::bigint, false) ON CONFLICT (action_key) DO UPDATE"
    " SET account = excluded.account, at_ms = excluded.at_ms"
    " WHERE NOT owner_actions.confirmed AND owner_actions.at_ms < $4::bigint RETURNING at_ms",
    // kAuditStmt: $1..$2: the time range; $3..$5: actor, action, target
    // ('': any); $6: the id of the last record of the page before ('': from
    // the newest); $7: limit.
    "SELECT " MAMORI_AUDIT_COLUMNS " FROM audit"
    " WHERE time_ms >= $1::bigint AND time_ms < $2::bigint AND ($3 = '' OR actor = $3)"
    " AND ($4 = '' OR action = $4) AND ($5 = '' OR target = $5)"
    " AND ($6 = '' OR (time_ms, id) < (SELECT time_ms, id FROM audit WHERE id = $6))"
    " ORDER BY time_ms DESC, id DESC LIMIT $7::bigint",
    // kOperatorStmt
    "SELECT " MAMORI_OPERATOR_SELECT " FROM operators WHERE name = $1",
    // kOperatorsStmt
    "SELECT " MAMORI_OPERATOR_SELECT " FROM operators ORDER BY name",
    // kDueOutboxStmt: the due items are claimed (their next attempt moved
    // 10 minutes on, rows locked by another node's claim skipped), so each is
    // handed to one node's dispatcher, which marks it delivered or
    // reschedules it; an item whose node died first is sent by another once
    // the claim runs out. The items are returned as they were before it.
    "WITH due AS (SELECT id, next_attempt_ms FROM outbox"
    " WHERE state = 'pending' AND next_attempt_ms <= $1::bigint"
    " ORDER BY next_attempt_ms, id LIMIT $2::bigint FOR UPDATE SKIP LOCKED),"
    " claimed AS (UPDATE outbox o SET next_attempt_ms = $1::bigint + 600000 FROM due"
    " WHERE o.id = due.id RETURNING o.id, o.channel, o.destination, o.payload, o.created_ms,"
    " o.attempts, due.next_attempt_ms AS was_next, o.last_error, o.state, o.done_ms)"
    " SELECT * FROM claimed ORDER BY was_next, id",
    // kOutboxCountsStmt
    "SELECT state, channel, count(*), min(next_attempt_ms) FROM outbox"
    " WHERE state IN ('pending', 'failed') GROUP BY state, channel",
    // kActivityStmt
    "SELECT event_id, (extract(epoch FROM at) * 1000)::bigint, account, type, ip, country,"
    " city, user_agent, device_id, protocol, success, action, reasons, actor, note FROM activity"
    " WHERE account = $1 AND at >= " MAMORI_MS("$2") " ORDER BY at DESC, seq DESC"
    " LIMIT $3::bigint",
    // kFailedLoginsStmt
    "SELECT (extract(epoch FROM at) * 1000)::bigint, account, ip FROM ("
    " SELECT at, seq, account, ip FROM activity WHERE type = 'login_result'"
    " AND success = false AND at >= " MAMORI_MS("$1") " ORDER BY at DESC, seq DESC"
    " LIMIT $2::bigint) newest ORDER BY at, seq",
    // kProfileStmt
    "SELECT data, version FROM profiles WHERE account = $1",
    // kProfilesStmt
    "SELECT account, data, version FROM profiles WHERE account = ANY($1::text[])",
    // kPartitionsStmt
    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
    " WHERE i.inhparent = 'activity'::regclass ORDER BY c.relname",
};

#undef MAMORI_ACCOUNT_COLUMNS
#undef MAMORI_INCIDENT_COLUMNS
#undef MAMORI_BLOCK_COLUMNS
#undef MAMORI_AUDIT_COLUMNS
#undef MAMORI_OPERATOR_COLUMNS
#undef MAMORI_OPERATOR_SELECT
#undef MAMORI_MS

constexpr std::array<const char*, kStatementCount> kNames = [] {
  std::array<const char*, kStatementCount> names{};
  constexpr const char* kAll[] = {
      "s0",  "s1",  "s2",  "s3",  "s4",  "s5",  "s6",  "s7",  "s8",  "s9",  "s10", "s11",
      "s12", "s13", "s14", "s15", "s16", "s17", "s18", "s19", "s20", "s21", "s22", "s23",
      "s24", "s25", "s26", "s27", "s28", "s29", "s30", "s31", "s32", "s33", "s34", "s35",
      "s36", "s37", "s38", "s39", "s40", "s41", "s42", "s43", "s44", "s45", "s46", "s47",
      "s48", "s49", "s50", "s51", "s52", "s53", "s54", "s55", "s56", "s57", "s58", "s59"};
  static_assert(std::size(kAll) >= kStatementCount);
  for (std::size_t i = 0; i < kStatementCount; ++i) names[i] = kAll[i];
  return names;
}();

Error bad(const std::string& what) {
  return make_error("store_read_failed", "store read failed (postgresql): bad " + what);
}

// Reads the columns of one row left to right.
class Row {
 public:
  Row(const PGresult* r, int i) : r_(r), i_(i) {}
  std::string text() { return PQgetvalue(r_, i_, next_++); }
  std::int64_t int64() { return std::atoll(PQgetvalue(r_, i_, next_++)); }
  TimePoint time() { return from_unix_ms(int64()); }
  bool boolean() { return PQgetvalue(r_, i_, next_++)[0] == 't'; }
  bool next_is_null() const { return PQgetisnull(r_, i_, next_) != 0; }
  void skip() { ++next_; }

 private:
  const PGresult* r_;
  int i_;
  int next_ = 0;
};

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += ',';
    out += parts[i];
  }
  return out;
}

std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  for (;;) {
    const std::size_t comma = s.find(',');
    out.emplace_back(s.substr(0, comma));
    if (comma == std::string_view::npos) return out;
    s.remove_prefix(comma + 1);
  }
}

std::optional<Action> action_from_text(std::string_view s) {
  for (int i = 0; i < kActionCount; ++i)
    if (to_string(static_cast<Action>(i)) == s) return static_cast<Action>(i);
  return std::nullopt;
}

std::string ms(TimePoint t) { return std::to_string(to_unix_ms(t)); }

constexpr char kHex[] = "0123456789abcdef";

std::string hex(const std::vector<std::uint8_t>& bytes) {
  std::string out;
  for (std::uint8_t b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

bool unhex(std::string_view s, std::vector<std::uint8_t>& out) {
  if (s.size() % 2 != 0) return false;
  for (std::size_t i = 0; i < s.size(); i += 2) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data() + i, s.data() + i + 2, v, 16);
    if (ec != std::errc() || p != s.data() + i + 2) return false;
    out.push_back(static_cast<std::uint8_t>(v));
  }
  return true;
}

}  // namespace

const char* statement_name(int id) { return kNames.at(static_cast<std::size_t>(id)); }
const char* statement_sql(int id) { return kSql.at(static_cast<std::size_t>(id)); }

Status prepare_statements(PGconn* conn, const char* code) {
  for (int id = 0; id < kStatementCount; ++id) {
    PgResult r(PQprepare(conn, statement_name(id), statement_sql(id), 0, nullptr));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK)
      return make_error(code,
                        "preparing statement " + std::to_string(id) + ": " + error_message(conn));
  }
  return {};
}

std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const std::string& item : items) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (const char ch : item) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string limit_text(std::size_t limit) {
  constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  return std::to_string(limit > kMax ? kMax : limit);
}

Params activity_params(const ActivityRecord& r) {
  std::optional<std::string> success;
  if (r.success) success = bool_text(*r.success);
  return {r.event_id,       ms(r.time), r.account, std::string(to_string(r.type)),
          r.ip.to_string(), r.country,  r.city,    r.user_agent,
          r.device_id,      r.protocol, success,   std::string(to_string(r.action)),
          join(r.reasons),  r.actor,    r.note};
}

Params incident_params(const Incident& i) {
  return {i.id,
          std::string(to_string(i.kind)),
          ms(i.started),
          ms(i.last_seen),
          join(i.sources),
          std::to_string(i.accounts_targeted),
          std::to_string(i.accounts_compromised),
          i.closed ? std::optional<std::string>(ms(*i.closed)) : std::nullopt};
}

Params audit_params(const AuditRecord& r) {
  return {r.id, ms(r.time), r.actor, r.actor_kind, r.action, r.target, r.note, r.details};
}

Params audit_query_params(const AuditQuery& q) {
  return {std::to_string(q.since ? to_unix_ms(*q.since) : std::numeric_limits<std::int64_t>::min()),
          std::to_string(q.until ? to_unix_ms(*q.until) : std::numeric_limits<std::int64_t>::max()),
          q.actor,
          q.action,
          q.target,
          q.before,
          limit_text(q.limit)};
}

Params incident_account_params(const std::string& incident_id, const IncidentAccount& a) {
  return {incident_id, a.account, ms(a.first_seen), ms(a.last_seen), bool_text(a.login_succeeded)};
}

Params operator_params(const OperatorRecord& r) {
  return {r.name,
          r.password_hash,
          hex(r.sealed_secret),
          std::to_string(r.last_step),
          ms(r.created),
          r.last_sign_in ? std::optional<std::string>(ms(*r.last_sign_in)) : std::nullopt};
}

Params totp_params(const TotpRecord& r) {
  std::vector<std::string> codes, failures;
  for (const TotpRecoveryCode& c : r.recovery_codes)
    codes.push_back(hex(c.hash) + ':' + std::to_string(c.used ? to_unix_ms(*c.used) : 0));
  for (TimePoint t : r.recent_failures) failures.push_back(ms(t));
  std::optional<std::string> confirmed;
  if (r.confirmed_at) confirmed = ms(*r.confirmed_at);
  return {r.account,
          hex(r.sealed_secret),
          bool_text(r.confirmed),
          std::to_string(r.last_step),
          ms(r.created),
          confirmed,
          join(codes),
          join(failures)};
}

Result<AccountRecord> read_account(const PGresult* r, int i) {
  Row row(r, i);
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
    if (!parsed) return bad("last login ip '" + ip + "' for account " + a.account);
    login.ip = *parsed;
    a.last_login = std::move(login);
  }
  a.contact.time_zone = row.text();
  return a;
}

Result<ListEntry> read_list_entry(const PGresult* r, int i) {
  Row row(r, i);
  ListEntry e;
  e.id = row.text();
  const std::string kind = row.text();
  auto k = list_kind_from_string(kind);
  if (!k) return bad("list kind '" + kind + "' in list entry " + e.id);
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

Result<Incident> read_incident(const PGresult* r, int i) {
  Row row(r, i);
  Incident inc;
  inc.id = row.text();
  const std::string kind = row.text();
  auto k = incident_kind_from_string(kind);
  if (!k) return bad("incident kind '" + kind + "' in incident " + inc.id);
  inc.kind = *k;
  inc.started = row.time();
  inc.last_seen = row.time();
  inc.sources = split(row.text());
  inc.accounts_targeted = row.int64();
  inc.accounts_compromised = row.int64();
  if (row.next_is_null()) {
    row.skip();
  } else {
    inc.closed = row.time();
  }
  return inc;
}

Result<IncidentAccount> read_incident_account(const PGresult* r, int i) {
  Row row(r, i);
  IncidentAccount a;
  a.account = row.text();
  a.first_seen = row.time();
  a.last_seen = row.time();
  a.login_succeeded = row.boolean();
  return a;
}

Result<Block> read_block(const PGresult* r, int i) {
  Row row(r, i);
  Block b;
  b.scope = row.text();
  b.key = row.text();
  const std::string reason = row.text();
  auto rs = reason_from_string(reason);
  if (!rs) return bad("reason '" + reason + "' in block " + b.scope + " " + b.key);
  b.reason = *rs;
  const std::string action = row.text();
  auto a = action_from_text(action);
  if (!a) return bad("action '" + action + "' in block " + b.scope + " " + b.key);
  b.action = *a;
  b.since = row.time();
  b.until = row.time();
  b.incident_id = row.text();
  return b;
}

Result<OperatorRecord> read_operator(const PGresult* r, int i) {
  Row row(r, i);
  OperatorRecord o;
  o.name = row.text();
  o.password_hash = row.text();
  if (!unhex(row.text(), o.sealed_secret)) return bad("sealed secret of operator " + o.name);
  o.last_step = row.int64();
  o.created = row.time();
  if (row.next_is_null()) {
    row.skip();
  } else {
    o.last_sign_in = row.time();
  }
  return o;
}

Result<TotpRecord> read_totp(const PGresult* r, int i) {
  Row row(r, i);
  TotpRecord t;
  t.account = row.text();
  if (!unhex(row.text(), t.sealed_secret)) return bad("sealed secret in totp of " + t.account);
  t.confirmed = row.boolean();
  t.last_step = row.int64();
  t.created = row.time();
  if (row.next_is_null()) {
    row.skip();
  } else {
    t.confirmed_at = row.time();
  }
  for (const std::string& part : split(row.text())) {
    const auto colon = part.find(':');
    TotpRecoveryCode c;
    if (colon == std::string::npos || !unhex(std::string_view(part).substr(0, colon), c.hash))
      return bad("recovery codes in totp of " + t.account);
    std::int64_t used = 0;
    auto [p, ec] = std::from_chars(part.data() + colon + 1, part.data() + part.size(), used);
    if (ec != std::errc() || p != part.data() + part.size())
      return bad("recovery codes in totp of " + t.account);
    if (used != 0) c.used = from_unix_ms(used);
    t.recovery_codes.push_back(std::move(c));
  }
  for (const std::string& part : split(row.text())) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (ec != std::errc() || p != part.data() + part.size())
      return bad("failures in totp of " + t.account);
    t.recent_failures.push_back(from_unix_ms(v));
  }
  return t;
}

Result<OutboxItem> read_outbox_item(const PGresult* r, int i) {
  Row row(r, i);
  OutboxItem o;
  o.id = row.text();
  const std::string channel = row.text();
  auto c = outbox_channel_from_string(channel);
  if (!c) return bad("channel '" + channel + "' in outbox item " + o.id);
  o.channel = *c;
  o.destination = row.text();
  o.payload = row.text();
  o.created = row.time();
  o.attempts = row.int64();
  o.next_attempt = row.time();
  o.last_error = row.text();
  const std::string state = row.text();
  auto s = outbox_state_from_string(state);
  if (!s) return bad("state '" + state + "' in outbox item " + o.id);
  o.state = *s;
  if (row.next_is_null()) {
    row.skip();
  } else {
    o.done = row.time();
  }
  return o;
}

Result<ActivityRecord> read_activity(const PGresult* r, int i) {
  Row row(r, i);
  ActivityRecord a;
  a.event_id = row.text();
  a.time = row.time();
  a.account = row.text();
  const std::string type = row.text();
  auto t = event_type_from_string(type);
  if (!t) return bad("event type '" + type + "' in the activity of " + a.account);
  a.type = *t;
  const std::string ip = row.text();
  auto parsed = IpAddress::parse(ip);
  if (!parsed) return bad("ip '" + ip + "' in the activity of " + a.account);
  a.ip = *parsed;
  a.country = row.text();
  a.city = row.text();
  a.user_agent = row.text();
  a.device_id = row.text();
  a.protocol = row.text();
  if (row.next_is_null()) {
    row.skip();
  } else {
    a.success = row.boolean();
  }
  const std::string action = row.text();
  auto act = action_from_text(action);
  if (!act) return bad("action '" + action + "' in the activity of " + a.account);
  a.action = *act;
  a.reasons = split(row.text());
  a.actor = row.text();
  a.note = row.text();
  return a;
}

Result<AuditRecord> read_audit(const PGresult* r, int i) {
  Row row(r, i);
  AuditRecord a;
  a.id = row.text();
  a.time = row.time();
  a.actor = row.text();
  a.actor_kind = row.text();
  a.action = row.text();
  a.target = row.text();
  a.note = row.text();
  a.details = row.text();
  return a;
}

}  // namespace mamori::store::postgresql
