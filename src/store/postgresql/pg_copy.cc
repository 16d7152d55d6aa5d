#include "store/postgresql/pg_copy.h"

#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <set>

#include "store/embedded/embedded_store.h"
#include "store/postgresql/pg_connection.h"
#include "store/postgresql/pg_schema.h"
#include "store/postgresql/pg_statements.h"
#include "store/profile_codec.h"

namespace mamori::store::postgresql {

namespace {

// A table both stores hold with the same columns; `hex` names the column
// read as hex from SQLite and decoded by PostgreSQL (the TOTP blob).
struct TableCopy {
  const char* name;
  std::vector<const char*> columns;
  std::vector<const char*> key;
  const char* hex = nullptr;
};

const std::vector<TableCopy>& tables() {
  static const std::vector<TableCopy> kTables = {
      {"accounts",
       {"account", "locked", "lock_reason", "lock_since_ms", "lock_password_reset", "lock_by",
        "email", "lang", "notify", "has_last_login", "last_login_ms", "last_login_ip",
        "last_login_country", "time_zone"},
       {"account"}},
      {"list_entries", {"id", "kind", "target", "reason", "created_ms", "expires_ms"}, {"id"}},
      {"incidents",
       {"id", "kind", "started_ms", "last_seen_ms", "sources", "accounts_targeted",
        "accounts_compromised", "closed_ms"},
       {"id"}},
      {"incident_accounts",
       {"incident_id", "account", "first_seen_ms", "last_seen_ms", "login_succeeded"},
       {"incident_id", "account"}},
      {"blocks",
       {"scope", "block_key", "reason", "action", "since_ms", "until_ms", "incident_id"},
       {"scope", "block_key"}},
      {"totp",
       {"account", "sealed_secret", "confirmed", "last_step", "created_ms", "confirmed_ms",
        "recovery_codes", "failures"},
       {"account"},
       "sealed_secret"},
      {"outbox",
       {"id", "channel", "destination", "payload", "created_ms", "attempts", "next_attempt_ms",
        "last_error", "state", "done_ms"},
       {"id"}},
      {"owner_actions", {"action_key", "account", "at_ms"}, {"action_key"}},
      {"audit",
       {"id", "time_ms", "actor", "actor_kind", "action", "target", "note", "details"},
       {"id"}},
      {"operators",
       {"name", "password_hash", "sealed_secret", "last_step", "created_ms", "last_sign_in_ms"},
       {"name"},
       "sealed_secret"},
  };
  return kTables;
}

Error write_failed(const std::string& why) {
  return make_error("store_write_failed", "copy into PostgreSQL failed: " + why);
}

Error read_failed(const std::string& why) {
  return make_error("store_read_failed", "reading the data dir failed: " + why);
}

std::string insert_sql(const TableCopy& t) {
  std::string cols, values, set, key;
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    const std::string c = t.columns[i];
    const std::string p = "$" + std::to_string(i + 1);
    cols += (i ? ", " : "") + c;
    values += (i ? ", " : "") + (t.hex != nullptr && c == t.hex ? "decode(" + p + ", 'hex')" : p);
    set += (i ? ", " : "") + c + " = excluded." + c;
  }
  for (std::size_t i = 0; i < t.key.size(); ++i) key += (i ? ", " : "") + std::string(t.key[i]);
  return "INSERT INTO " + std::string(t.name) + " (" + cols + ") VALUES (" + values +
         ") ON CONFLICT (" + key + ") DO UPDATE SET " + set;
}

std::string select_sql(const TableCopy& t) {
  std::string cols;
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    const std::string c = t.columns[i];
    cols += (i ? ", " : "") + (t.hex != nullptr && c == t.hex ? "lower(hex(" + c + "))" : c);
  }
  return "SELECT " + cols + " FROM " + std::string(t.name);
}

// Runs `sql` with `params` on `c`; fails with store_write_failed.
Status exec(PGconn* c, const char* sql, const Params& params) {
  std::vector<const char*> v;
  for (const auto& p : params) v.push_back(p ? p->c_str() : nullptr);
  PgResult r(
      PQexecParams(c, sql, static_cast<int>(v.size()), nullptr, v.data(), nullptr, nullptr, 0));
  const auto st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return write_failed(error_message(c));
  return {};
}

constexpr const char* kActivityMergeSql =
    "INSERT INTO activity (event_id, at, account, type, ip, country, city, user_agent,"
    " device_id, protocol, success, action, reasons, actor, note)"
    " SELECT $1, to_timestamp($2::bigint / 1000.0), $3, $4, $5, $6, $7, $8, $9, $10,"
    " $11::boolean, $12, $13, $14, $15 WHERE NOT EXISTS (SELECT 1 FROM activity WHERE event_id = $1"
    " AND account = $3 AND at = to_timestamp($2::bigint / 1000.0))";

}  // namespace

Result<MigrateOutcome> migrate_database(const PgUrl& url) {
  auto c = connect(url, "store_open_failed");
  if (!c) return c.error();
  auto m = migrate(c->get(), url.redacted);
  if (!m) return m.error();
  return MigrateOutcome{m->from, m->to};
}

Result<CopyReport> copy_data_dir(const std::string& data_dir, const PgUrl& url,
                                 const CopyOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(fs::path(data_dir) / "mamori.db", ec))
    return make_error("store_open_failed",
                      "cannot open store " + data_dir + ": no mamori.db (not a data dir)");
  auto embedded = EmbeddedStore::open(data_dir);
  if (!embedded) return embedded.error();
  auto conn = connect(url, "store_open_failed");
  if (!conn) return conn.error();
  PGconn* c = conn->get();
  auto migrated = migrate(c, url.redacted);
  if (!migrated) return migrated.error();
  CopyReport report;
  report.schema_from = migrated->from;
  report.schema_to = migrated->to;

  if (Status s = exec(c, "BEGIN", {}); !s) return s.error();
  auto fail = [&](Error e) -> Error {
    PgResult(PQexec(c, "ROLLBACK"));
    return e;
  };
  {
    PgResult r(PQexec(c,
                      "SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM list_entries)"
                      " + (SELECT count(*) FROM incidents) + (SELECT count(*) FROM blocks)"
                      " + (SELECT count(*) FROM totp) + (SELECT count(*) FROM outbox)"
                      " + (SELECT count(*) FROM owner_actions) + (SELECT count(*) FROM audit)"
                      " + (SELECT count(*) FROM operators)"
                      " + (SELECT count(*) FROM profiles) + (SELECT count(*) FROM activity)"));
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) return fail(write_failed(error_message(c)));
    const std::string n = PQgetvalue(r.get(), 0, 0);
    if (n != "0" && !options.merge)
      return fail(make_error("store_not_empty",
                             url.redacted + " already holds " + n +
                                 " records: copy into an empty database, or give --force to "
                                 "merge into it (the data dir's records replace those with "
                                 "the same key)"));
  }
  auto progress = [&](std::string_view table, std::uint64_t rows, bool done) {
    if (options.progress) options.progress(table, rows, done);
  };

  // The SQLite tables, read on a read-only connection beside the store.
  sqlite3* raw = nullptr;
  const std::string db_path = (fs::path(data_dir) / "mamori.db").string();
  if (sqlite3_open_v2(db_path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string why = raw != nullptr ? sqlite3_errmsg(raw) : "out of memory";
    sqlite3_close_v2(raw);
    return fail(read_failed(db_path + ": " + why));
  }
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close_v2);
  for (const TableCopy& t : tables()) {
    const std::string select = select_sql(t), insert = insert_sql(t);
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db.get(), select.c_str(), -1, &st, nullptr) != SQLITE_OK)
      return fail(read_failed(db_path + ": " + sqlite3_errmsg(db.get())));
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(st, sqlite3_finalize);
    std::uint64_t rows = 0;
    Params params(t.columns.size());
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      for (std::size_t i = 0; i < t.columns.size(); ++i) {
        const int col = static_cast<int>(i);
        if (sqlite3_column_type(st, col) == SQLITE_NULL) {
          params[i].reset();
        } else {
          const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, col));
          params[i] = std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(st, col)));
        }
      }
      if (Status s = exec(c, insert.c_str(), params); !s) return fail(s.error());
      if (++rows % 10000 == 0) progress(t.name, rows, false);
    }
    if (rc != SQLITE_DONE) return fail(read_failed(db_path + ": " + sqlite3_errmsg(db.get())));
    report.rows.emplace_back(t.name, rows);
    progress(t.name, rows, true);
  }

  // The profiles.
  {
    std::uint64_t rows = 0;
    Status s = (*embedded)->profile_journal().for_each([&](std::string_view account,
                                                           const AccountProfile& p) -> Status {
      if (Status w =
              exec(c, statement_sql(kPutProfileStmt), {std::string(account), encode_profile(p)});
          !w)
        return w;
      if (++rows % 10000 == 0) progress("profiles", rows, false);
      return {};
    });
    if (!s) return fail(s.error());
    report.rows.emplace_back("profiles", rows);
    progress("profiles", rows, true);
  }

  // The activity log, each day's partition made as its first entry comes.
  {
    std::uint64_t rows = 0;
    std::set<std::int64_t> days;
    const char* sql = options.merge ? kActivityMergeSql : statement_sql(kAppendActivityStmt);
    Status s = (*embedded)->activity_journal().for_each([&](const ActivityRecord& r) -> Status {
      const std::int64_t day = utc_day(r.time);
      if (days.insert(day).second) {
        if (Status p = exec_command(c, create_activity_partition_sql(day), "store_write_failed");
            !p)
          return write_failed(p.error().message);
      }
      if (Status w = exec(c, sql, activity_params(r)); !w) return w;
      if (++rows % 10000 == 0) progress("activity", rows, false);
      return {};
    });
    if (!s) return fail(s.error());
    report.rows.emplace_back("activity", rows);
    progress("activity", rows, true);
  }
  if (Status s = exec(c, "COMMIT", {}); !s) return fail(s.error());
  return report;
}

}  // namespace mamori::store::postgresql
