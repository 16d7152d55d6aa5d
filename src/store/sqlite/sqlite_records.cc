// SqliteStore's relational records (RecordStore): the `accounts`,
// `list_entries`, `incidents`, `incident_accounts`, `blocks` and `totp`
// tables.

#include <charconv>
#include <string>
#include <system_error>

#include "store/sqlite/sqlite_internal.h"
#include "store/sqlite/sqlite_store.h"

namespace mamori::store {

namespace sqlite {

namespace {

#define MAMORI_ACCOUNT_COLUMNS                                                              \
  "account, locked, lock_reason, lock_since_ms, lock_password_reset, lock_by, email, lang," \
  " notify, has_last_login, last_login_ms, last_login_ip, last_login_country, time_zone"
#define MAMORI_INCIDENT_COLUMNS                                                           \
  "id, kind, started_ms, last_seen_ms, sources, accounts_targeted, accounts_compromised," \
  " closed_ms"
#define MAMORI_INCIDENT_COLUMNS_OF_I                                            \
  "i.id, i.kind, i.started_ms, i.last_seen_ms, i.sources, i.accounts_targeted," \
  " i.accounts_compromised, i.closed_ms"

constexpr StatementSql kWriterSql[] = {
    {kPutLock,
     "INSERT INTO accounts (account, locked, lock_reason, lock_since_ms, lock_password_reset,"
     " lock_by) VALUES (?1, 1, ?2, ?3, ?4, ?5)"
     " ON CONFLICT (account) DO UPDATE SET locked = 1, lock_reason = excluded.lock_reason,"
     " lock_since_ms = excluded.lock_since_ms,"
     " lock_password_reset = excluded.lock_password_reset, lock_by = excluded.lock_by"},
    {kClearLock,
     "UPDATE accounts SET locked = 0, lock_reason = '', lock_since_ms = 0,"
     " lock_password_reset = 0, lock_by = '' WHERE account = ?"},
    {kPutContact,
     "INSERT INTO accounts (account, email, lang, notify, time_zone) VALUES (?, ?, ?, ?, ?)"
     " ON CONFLICT (account) DO UPDATE SET email = excluded.email, lang = excluded.lang,"
     " notify = excluded.notify, time_zone = excluded.time_zone"},
    {kPutLastLogin,
     "INSERT INTO accounts (account, has_last_login, last_login_ms, last_login_ip,"
     " last_login_country) VALUES (?1, 1, ?2, ?3, ?4)"
     " ON CONFLICT (account) DO UPDATE SET has_last_login = 1,"
     " last_login_ms = excluded.last_login_ms, last_login_ip = excluded.last_login_ip,"
     " last_login_country = excluded.last_login_country"},
    {kPutListEntry,
     "INSERT OR REPLACE INTO list_entries (id, kind, target, reason, created_ms, expires_ms)"
     " VALUES (?, ?, ?, ?, ?, ?)"},
    {kDeleteListEntry, "DELETE FROM list_entries WHERE id = ?"},
    {kPutIncident,
     "INSERT OR REPLACE INTO incidents (id, kind, started_ms, last_seen_ms, sources,"
     " accounts_targeted, accounts_compromised, closed_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"},
    {kPutIncidentAccount,
     "INSERT INTO incident_accounts (incident_id, account, first_seen_ms, last_seen_ms,"
     " login_succeeded) VALUES (?, ?, ?, ?, ?)"
     " ON CONFLICT (incident_id, account) DO UPDATE SET"
     " first_seen_ms = min(first_seen_ms, excluded.first_seen_ms),"
     " last_seen_ms = max(last_seen_ms, excluded.last_seen_ms),"
     " login_succeeded = (login_succeeded OR excluded.login_succeeded)"},
    {kPutIncidentCounts,
     "UPDATE incidents SET last_seen_ms = ?2, accounts_targeted = ?3, accounts_compromised = ?4"
     " WHERE id = ?1"},
    {kPutBlock,
     "INSERT OR REPLACE INTO blocks (scope, block_key, reason, action, since_ms, until_ms,"
     " incident_id) VALUES (?, ?, ?, ?, ?, ?, ?)"},
    {kDeleteBlock, "DELETE FROM blocks WHERE scope = ? AND block_key = ?"},
    {kPruneBlocks, "DELETE FROM blocks WHERE until_ms < ?"},
    {kPutTotp,
     "INSERT OR REPLACE INTO totp (account, sealed_secret, confirmed, last_step, created_ms,"
     " confirmed_ms, recovery_codes, failures) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"},
    {kDeleteTotp, "DELETE FROM totp WHERE account = ?"},
    {kPutOwnerAction,
     "INSERT OR IGNORE INTO owner_actions (action_key, account, at_ms) VALUES (?, ?, ?)"},
    {kAppendAudit,
     "INSERT INTO audit (id, time_ms, actor, actor_kind, action, target, note, details)"
     " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"},
    {kPutOperator,
     "INSERT OR REPLACE INTO operators (name, password_hash, sealed_secret, last_step,"
     " created_ms, last_sign_in_ms) VALUES (?, ?, ?, ?, ?, ?)"},
    {kDeleteOperator, "DELETE FROM operators WHERE name = ?"},
};

constexpr StatementSql kReadSql[] = {
    {kAccount, "SELECT " MAMORI_ACCOUNT_COLUMNS " FROM accounts WHERE account = ?"},
    {kLockedAccounts,
     "SELECT " MAMORI_ACCOUNT_COLUMNS " FROM accounts WHERE locked = 1 ORDER BY account"},
    {kListEntries,
     "SELECT id, kind, target, reason, created_ms, expires_ms FROM list_entries"
     " ORDER BY created_ms, id"},
    {kIncidents, "SELECT " MAMORI_INCIDENT_COLUMNS " FROM incidents WHERE last_seen_ms >= ?"
                 " ORDER BY last_seen_ms DESC, id"},
    {kIncident, "SELECT " MAMORI_INCIDENT_COLUMNS " FROM incidents WHERE id = ?"},
    {kIncidentAccounts,
     "SELECT account, first_seen_ms, last_seen_ms, login_succeeded FROM incident_accounts"
     " WHERE incident_id = ? ORDER BY first_seen_ms, account"},
    {kIncidentsForAccount, "SELECT " MAMORI_INCIDENT_COLUMNS_OF_I " FROM incidents i"
                           " JOIN incident_accounts a ON a.incident_id = i.id WHERE a.account = ?"
                           " ORDER BY i.last_seen_ms DESC, i.id"},
    {kBlocks,
     "SELECT scope, block_key, reason, action, since_ms, until_ms, incident_id FROM blocks"
     // In the primary key's order: one pass over the table (by since_ms, each
     // row was looked up through the until_ms index, then sorted).
     " WHERE until_ms > ? ORDER BY scope, block_key"},
    {kTotp,
     "SELECT account, sealed_secret, confirmed, last_step, created_ms, confirmed_ms,"
     " recovery_codes, failures FROM totp WHERE account = ?"},
    {kOwnerAction, "SELECT at_ms FROM owner_actions WHERE action_key = ?"},
    // ?1..?2: the time range; ?3..?5: actor, action, target ('': any); ?6: the
    // id of the last record of the page before ('': from the newest); ?7: limit.
    {kAudit,
     "SELECT id, time_ms, actor, actor_kind, action, target, note, details FROM audit"
     " WHERE time_ms >= ?1 AND time_ms < ?2 AND (?3 = '' OR actor = ?3)"
     " AND (?4 = '' OR action = ?4) AND (?5 = '' OR target = ?5)"
     " AND (?6 = '' OR (time_ms, id) < (SELECT time_ms, id FROM audit WHERE id = ?6))"
     " ORDER BY time_ms DESC, id DESC LIMIT ?7"},
    {kOperator,
     "SELECT name, password_hash, sealed_secret, last_step, created_ms, last_sign_in_ms"
     " FROM operators WHERE name = ?"},
    {kOperators,
     "SELECT name, password_hash, sealed_secret, last_step, created_ms, last_sign_in_ms"
     " FROM operators ORDER BY name"},
};

#undef MAMORI_ACCOUNT_COLUMNS
#undef MAMORI_INCIDENT_COLUMNS
#undef MAMORI_INCIDENT_COLUMNS_OF_I

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
  if (row.next_is_null())
    row.skip();
  else
    i.closed = row.time();
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
  const std::string_view reason = row.text_view();
  auto r = reason_from_string(reason);
  if (!r)
    return read_error("unknown reason '" + std::string(reason) + "' in block " + b.scope + " " +
                      b.key);
  b.reason = *r;
  const std::string_view action = row.text_view();
  auto a = action_from_string(action);
  if (!a)
    return read_error("unknown action '" + std::string(action) + "' in block " + b.scope + " " +
                      b.key);
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

Result<OperatorRecord> read_operator(sqlite3_stmt* st) {
  Row row(st);
  OperatorRecord r;
  r.name = row.text();
  r.password_hash = row.text();
  r.sealed_secret = row.blob();
  r.last_step = row.int64();
  r.created = row.time();
  if (row.next_is_null()) {
    row.skip();
  } else {
    r.last_sign_in = row.time();
  }
  return r;
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
  auto bad = [&](const char* what) {
    return read_error(std::string("bad ") + what + " in totp of " + r.account);
  };
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

Status put_incident(const Writer& w, const Incident& i) {
  const std::string sources = join(i.sources);
  return w.exec(kPutIncident, "put_incident", [&](Binder& b) {
    b.text(i.id).text(to_string(i.kind)).time(i.started).time(i.last_seen).text(sources);
    b.int64(i.accounts_targeted).int64(i.accounts_compromised);
    if (i.closed)
      b.time(*i.closed);
    else
      b.null();
  });
}

Status put_incident_account(const Writer& w, const std::string& incident_id,
                            const IncidentAccount& a) {
  return w.exec(kPutIncidentAccount, "put_incident_account", [&](Binder& b) {
    b.text(incident_id).text(a.account).time(a.first_seen).time(a.last_seen);
    b.boolean(a.login_succeeded);
  });
}

}  // namespace

RoleSql record_sql() { return {kWriterSql, kReadSql}; }

// ---- accounts ----

Status apply_write(const Writer& w, const PutLockOp& op) {
  return w.exec(kPutLock, "put_lock", [&](Binder& b) {
    b.text(op.account).text(op.lock.reason).time(op.lock.since);
    b.boolean(op.lock.password_reset_required).text(op.lock.by);
  });
}

Status apply_write(const Writer& w, const ClearLockOp& op) {
  return w.exec(kClearLock, "clear_lock", [&](Binder& b) { b.text(op.account); });
}

Status apply_write(const Writer& w, const PutContactOp& op) {
  return w.exec(kPutContact, "put_contact", [&](Binder& b) {
    b.text(op.account).text(op.contact.email).text(op.contact.lang);
    b.boolean(op.contact.notify).text(op.contact.time_zone);
  });
}

Status apply_write(const Writer& w, const PutLastLoginOp& op) {
  const std::string ip = op.login.ip.to_string();
  return w.exec(kPutLastLogin, "put_last_login", [&](Binder& b) {
    b.text(op.account).time(op.login.time).text(ip).text(op.login.country);
  });
}

// ---- lists ----

Status apply_write(const Writer& w, const PutListEntryOp& op) {
  const ListEntry& e = op.e;
  return w.exec(kPutListEntry, "put_list_entry", [&](Binder& b) {
    b.text(e.id).text(to_string(e.kind)).text(e.target).text(e.reason).time(e.created);
    if (e.expires) {
      b.time(*e.expires);
    } else {
      b.null();
    }
  });
}

Status apply_write(const Writer& w, const DeleteListEntryOp& op) {
  return w.exec(kDeleteListEntry, "delete_list_entry", [&](Binder& b) { b.text(op.id); });
}

// ---- audit ----

Status apply_write(const Writer& w, const AppendAuditOp& op) {
  const AuditRecord& r = op.r;
  return w.exec(kAppendAudit, "append_audit", [&](Binder& b) {
    b.text(r.id).time(r.time).text(r.actor).text(r.actor_kind).text(r.action).text(r.target);
    b.text(r.note).text(r.details);
  });
}

// ---- operator accounts ----

Status apply_write(const Writer& w, const PutOperatorOp& op) {
  const OperatorRecord& r = op.r;
  return w.exec(kPutOperator, "put_operator", [&](Binder& b) {
    b.text(r.name).text(r.password_hash).blob(r.sealed_secret).int64(r.last_step);
    b.time(r.created);
    if (r.last_sign_in) {
      b.time(*r.last_sign_in);
    } else {
      b.null();
    }
  });
}

Status apply_write(const Writer& w, const DeleteOperatorOp& op) {
  return w.exec(kDeleteOperator, "delete_operator", [&](Binder& b) { b.text(op.name); });
}

// ---- incidents ----

Status apply_write(const Writer& w, const PutIncidentOp& op) { return put_incident(w, op.i); }

Status apply_write(const Writer& w, const PutIncidentAccountOp& op) {
  return put_incident_account(w, op.incident_id, op.a);
}

Status apply_write(const Writer& w, const PutIncidentCountsOp& op) {
  const IncidentCounts& c = op.counts;
  Status s = w.exec(kPutIncidentCounts, "put_incident_counts", [&](Binder& b) {
    b.text(c.id).time(c.last_seen).int64(c.accounts_targeted).int64(c.accounts_compromised);
  });
  if (!s || !op.a) return s;
  return put_incident_account(w, c.id, *op.a);
}

// ---- blocks ----

Status apply_write(const Writer& w, const PutBlockOp& op) {
  const Block& k = op.b;
  return w.exec(kPutBlock, "put_block", [&](Binder& b) {
    b.text(k.scope).text(k.key).text(to_string(k.reason)).text(to_string(k.action));
    b.time(k.since).time(k.until).text(k.incident_id);
  });
}

Status apply_write(const Writer& w, const DeleteBlockOp& op) {
  return w.exec(kDeleteBlock, "delete_block", [&](Binder& b) { b.text(op.scope).text(op.key); });
}

Status apply_write(const Writer& w, const PruneBlocksOp& op) {
  return w.exec(kPruneBlocks, "prune", [&](Binder& b) { b.time(op.before); });
}

// ---- TOTP ----

Status apply_write(const Writer& w, const PutTotpOp& op) {
  const TotpRecord& r = op.r;
  const std::string codes = totp_codes_text(r.recovery_codes);
  const std::string failures = times_text(r.recent_failures);
  return w.exec(kPutTotp, "put_totp", [&](Binder& b) {
    b.text(r.account).blob(r.sealed_secret).boolean(r.confirmed).int64(r.last_step);
    b.time(r.created);
    if (r.confirmed_at) {
      b.time(*r.confirmed_at);
    } else {
      b.null();
    }
    b.text(codes).text(failures);
  });
}

Status apply_write(const Writer& w, const DeleteTotpOp& op) {
  return w.exec(kDeleteTotp, "delete_totp", [&](Binder& b) { b.text(op.account); });
}

Status apply_write(const Writer& w, const PutOwnerActionOp& op) {
  return w.exec(kPutOwnerAction, "put_owner_action",
                [&](Binder& b) { b.text(op.key).text(op.account).time(op.at); });
}

}  // namespace sqlite

// ---- writes ----

WriteTicket SqliteStore::put_lock(std::string account, LockInfo lock) {
  return commits_.enqueue(sqlite::PutLockOp{std::move(account), std::move(lock)});
}
WriteTicket SqliteStore::clear_lock(std::string account) {
  return commits_.enqueue(sqlite::ClearLockOp{std::move(account)});
}
WriteTicket SqliteStore::put_contact(std::string account, Contact contact) {
  return commits_.enqueue(sqlite::PutContactOp{std::move(account), std::move(contact)});
}
WriteTicket SqliteStore::put_last_login(std::string account, LastLogin login) {
  return commits_.enqueue(sqlite::PutLastLoginOp{std::move(account), std::move(login)});
}
WriteTicket SqliteStore::put_list_entry(ListEntry e) {
  return commits_.enqueue(sqlite::PutListEntryOp{std::move(e)});
}
WriteTicket SqliteStore::delete_list_entry(std::string id) {
  return commits_.enqueue(sqlite::DeleteListEntryOp{std::move(id)});
}
WriteTicket SqliteStore::put_incident(Incident i) {
  return commits_.enqueue(sqlite::PutIncidentOp{std::move(i)});
}
WriteTicket SqliteStore::put_incident_account(std::string incident_id, IncidentAccount a) {
  return commits_.enqueue(sqlite::PutIncidentAccountOp{std::move(incident_id), std::move(a)});
}
WriteTicket SqliteStore::put_incident_counts(IncidentCounts counts,
                                             std::optional<IncidentAccount> a) {
  return commits_.enqueue(sqlite::PutIncidentCountsOp{std::move(counts), std::move(a)});
}
WriteTicket SqliteStore::put_block(Block b) {
  return commits_.enqueue(sqlite::PutBlockOp{std::move(b)});
}
WriteTicket SqliteStore::delete_block(std::string scope, std::string key) {
  return commits_.enqueue(sqlite::DeleteBlockOp{std::move(scope), std::move(key)});
}
WriteTicket SqliteStore::prune_blocks(TimePoint before) {
  return commits_.enqueue(sqlite::PruneBlocksOp{before});
}
WriteTicket SqliteStore::put_totp(TotpRecord r) {
  return commits_.enqueue(sqlite::PutTotpOp{std::move(r)});
}
WriteTicket SqliteStore::delete_totp(std::string account) {
  return commits_.enqueue(sqlite::DeleteTotpOp{std::move(account)});
}
WriteTicket SqliteStore::put_owner_action(std::string key, std::string account, TimePoint at) {
  return commits_.enqueue(sqlite::PutOwnerActionOp{std::move(key), std::move(account), at});
}

WriteTicket SqliteStore::put_operator(OperatorRecord r) {
  return commits_.enqueue(sqlite::PutOperatorOp{std::move(r)});
}
WriteTicket SqliteStore::delete_operator(std::string name) {
  return commits_.enqueue(sqlite::DeleteOperatorOp{std::move(name)});
}

// ---- reads ----

Result<std::optional<AccountRecord>> SqliteStore::account(std::string_view account) {
  std::vector<AccountRecord> rows;
  Status s = with_read_stmt(sqlite::kAccount, [&](sqlite3_stmt* st) -> Status {
    if (int rc = sqlite::Binder(st).text(account).rc(); rc != SQLITE_OK)
      return sqlite::read_error(nullptr, rc);
    return sqlite::collect(st, rows, sqlite::read_account);
  });
  if (!s) return s.error();
  if (rows.empty()) return std::optional<AccountRecord>();
  return std::optional<AccountRecord>(std::move(rows.front()));
}

Result<std::vector<AccountRecord>> SqliteStore::locked_accounts() {
  std::vector<AccountRecord> rows;
  Status s = with_read_stmt(sqlite::kLockedAccounts, [&](sqlite3_stmt* st) {
    return sqlite::collect(st, rows, sqlite::read_account);
  });
  if (!s) return s.error();
  return rows;
}

Result<std::vector<ListEntry>> SqliteStore::list_entries() {
  std::vector<ListEntry> rows;
  Status s = with_read_stmt(sqlite::kListEntries, [&](sqlite3_stmt* st) {
    return sqlite::collect(st, rows, sqlite::read_list_entry);
  });
  if (!s) return s.error();
  return rows;
}

WriteTicket SqliteStore::append_audit(AuditRecord r) {
  return commits_.enqueue(sqlite::AppendAuditOp{std::move(r)});
}

Result<std::vector<AuditRecord>> SqliteStore::audit(const AuditQuery& q) {
  std::vector<AuditRecord> rows;
  Status s = with_read_stmt(sqlite::kAudit, [&](sqlite3_stmt* st) -> Status {
    sqlite::Binder b(st);
    b.int64(q.since ? to_unix_ms(*q.since) : std::numeric_limits<std::int64_t>::min());
    b.int64(q.until ? to_unix_ms(*q.until) : std::numeric_limits<std::int64_t>::max());
    b.text(q.actor).text(q.action).text(q.target).text(q.before).int64(
        sqlite::limit_param(q.limit));
    if (b.rc() != SQLITE_OK) return sqlite::read_error(nullptr, b.rc());
    return sqlite::collect(st, rows, [](sqlite3_stmt* row_st) -> Result<AuditRecord> {
      sqlite::Row row(row_st);
      AuditRecord r;
      r.id = row.text();
      r.time = row.time();
      r.actor = row.text();
      r.actor_kind = row.text();
      r.action = row.text();
      r.target = row.text();
      r.note = row.text();
      r.details = row.text();
      return r;
    });
  });
  if (!s) return s.error();
  return rows;
}

Result<std::vector<Incident>> SqliteStore::incidents(TimePoint since) {
  std::vector<Incident> rows;
  Status s = with_read_stmt(sqlite::kIncidents, [&](sqlite3_stmt* st) -> Status {
    if (int rc = sqlite::Binder(st).time(since).rc(); rc != SQLITE_OK)
      return sqlite::read_error(nullptr, rc);
    return sqlite::collect(st, rows, sqlite::read_incident);
  });
  if (!s) return s.error();
  return rows;
}

Result<std::optional<Incident>> SqliteStore::incident(std::string_view id) {
  std::vector<Incident> rows;
  Status s = with_read_stmt(sqlite::kIncident, [&](sqlite3_stmt* st) -> Status {
    if (int rc = sqlite::Binder(st).text(id).rc(); rc != SQLITE_OK)
      return sqlite::read_error(nullptr, rc);
    return sqlite::collect(st, rows, sqlite::read_incident);
  });
  if (!s) return s.error();
  if (rows.empty()) return std::optional<Incident>();
  return std::optional<Incident>(std::move(rows.front()));
}

Result<std::vector<IncidentAccount>> SqliteStore::incident_accounts(std::string_view id) {
  std::vector<IncidentAccount> rows;
  Status s = with_read_stmt(sqlite::kIncidentAccounts, [&](sqlite3_stmt* st) -> Status {
    if (int rc = sqlite::Binder(st).text(id).rc(); rc != SQLITE_OK)
      return sqlite::read_error(nullptr, rc);
    return sqlite::collect(st, rows, sqlite::read_incident_account);
  });
  if (!s) return s.error();
  return rows;
}

Result<std::vector<Incident>> SqliteStore::incidents_for_account(std::string_view account) {
  std::vector<Incident> rows;
  Status s = with_read_stmt(sqlite::kIncidentsForAccount, [&](sqlite3_stmt* st) -> Status {
    if (int rc = sqlite::Binder(st).text(account).rc(); rc != SQLITE_OK)
      return sqlite::read_error(nullptr, rc);
    return sqlite::collect(st, rows, sqlite::read_incident);
  });
  if (!s) return s.error();
  return rows;
}

Result<std::vector<Block>> SqliteStore::blocks(TimePoint now) {
  std::vector<Block> rows;
  Status s = with_read_stmt(sqlite::kBlocks, [&](sqlite3_stmt* st) -> Status {
    if (int rc = sqlite::Binder(st).time(now).rc(); rc != SQLITE_OK)
      return sqlite::read_error(nullptr, rc);
    return sqlite::collect(st, rows, sqlite::read_block);
  });
  if (!s) return s.error();
  return rows;
}

Result<std::optional<TotpRecord>> SqliteStore::totp(std::string_view account) {
  std::vector<TotpRecord> rows;
  Status s = with_read_stmt(sqlite::kTotp, [&](sqlite3_stmt* st) -> Status {
    if (int rc = sqlite::Binder(st).text(account).rc(); rc != SQLITE_OK)
      return sqlite::read_error(nullptr, rc);
    return sqlite::collect(st, rows, sqlite::read_totp);
  });
  if (!s) return s.error();
  if (rows.empty()) return std::optional<TotpRecord>();
  return std::optional<TotpRecord>(std::move(rows.front()));
}

Result<std::optional<WriteTicket>> SqliteStore::claim_owner_action(std::string key,
                                                                   std::string account,
                                                                   TimePoint at) {
  auto done = owner_action(key);
  if (!done) return done.error();
  if (*done) return std::optional<WriteTicket>();
  return std::optional<WriteTicket>(put_owner_action(std::move(key), std::move(account), at));
}

Result<std::optional<TimePoint>> SqliteStore::owner_action(std::string_view key) {
  std::vector<TimePoint> rows;
  Status s = with_read_stmt(sqlite::kOwnerAction, [&](sqlite3_stmt* st) -> Status {
    if (int rc = sqlite::Binder(st).text(key).rc(); rc != SQLITE_OK)
      return sqlite::read_error(nullptr, rc);
    return sqlite::collect(
        st, rows, [](sqlite3_stmt* row) -> Result<TimePoint> { return sqlite::Row(row).time(); });
  });
  if (!s) return s.error();
  if (rows.empty()) return std::optional<TimePoint>();
  return std::optional<TimePoint>(rows.front());
}

Result<std::optional<OperatorRecord>> SqliteStore::operator_account(std::string_view name) {
  std::vector<OperatorRecord> rows;
  Status s = with_read_stmt(sqlite::kOperator, [&](sqlite3_stmt* st) -> Status {
    if (int rc = sqlite::Binder(st).text(name).rc(); rc != SQLITE_OK)
      return sqlite::read_error(nullptr, rc);
    return sqlite::collect(st, rows, sqlite::read_operator);
  });
  if (!s) return s.error();
  if (rows.empty()) return std::optional<OperatorRecord>();
  return std::optional<OperatorRecord>(std::move(rows.front()));
}

Result<std::vector<OperatorRecord>> SqliteStore::operator_accounts() {
  std::vector<OperatorRecord> rows;
  Status s = with_read_stmt(sqlite::kOperators, [&](sqlite3_stmt* st) {
    return sqlite::collect(st, rows, sqlite::read_operator);
  });
  if (!s) return s.error();
  return rows;
}

}  // namespace mamori::store
