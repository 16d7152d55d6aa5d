#ifndef MAMORI_STORE_SQLITE_SQLITE_INTERNAL_H_
#define MAMORI_STORE_SQLITE_SQLITE_INTERNAL_H_

// What the files of SqliteStore share, and nothing else includes: the
// statements, the queued operations of every role, binding parameters and
// reading rows, errors. sqlite_store.cc opens and closes the store, runs the
// writer's transactions and the read pool; sqlite_schema.cc creates and
// upgrades the schema and checks the data dir's identity; each role's file
// (sqlite_activity.cc, sqlite_profiles.cc, sqlite_records.cc,
// sqlite_outbox.cc) holds its statements' SQL, how the writer applies its
// operations (apply_write) and its reads.

#include <sqlite3.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/result.h"
#include "store/records.h"
#include "store/sqlite/sqlite_store.h"

namespace mamori::store::sqlite {

// ---- statements ----

// The writer's prepared statements, by role.
enum WriterStmt : int {
  kBegin,
  kCommit,
  kRollback,
  // sqlite_records.cc
  kPutLock,
  kClearLock,
  kPutContact,
  kPutLastLogin,
  kPutListEntry,
  kDeleteListEntry,
  kPutIncident,
  kPutIncidentAccount,
  kPutIncidentCounts,
  kPutBlock,
  kDeleteBlock,
  kPruneBlocks,
  kPutTotp,
  kDeleteTotp,
  kPutOwnerAction,
  kAppendAudit,
  kPutOperator,
  kDeleteOperator,
  // sqlite_outbox.cc
  kEnqueueOutbox,
  kOutboxDelivered,
  kOutboxRetry,
  kOutboxFailed,
  kPruneOutbox,
  kWriterStmtCount
};

// Each read connection's prepared statements, by role.
enum ReadStmt : int {
  // sqlite_records.cc
  kAccount,
  kLockedAccounts,
  kListEntries,
  kIncidents,
  kIncident,
  kIncidentAccounts,
  kIncidentsForAccount,
  kBlocks,
  kTotp,
  kOwnerAction,
  kAudit,
  kOperator,
  kOperators,
  // sqlite_outbox.cc
  kDueOutbox,
  kOutboxCounts,
  kReadStmtCount
};

struct StatementSql {
  int id;  // a WriterStmt or a ReadStmt
  const char* sql;
};

// A role's statements, defined in its file.
struct RoleSql {
  std::span<const StatementSql> writer, read;
};
RoleSql record_sql();
RoleSql outbox_sql();

// ---- errors ----

inline std::string db_message(sqlite3* db, int rc) {
  const char* msg = db != nullptr ? sqlite3_errmsg(db) : nullptr;
  return msg != nullptr ? std::string(msg) : std::string(sqlite3_errstr(rc));
}

inline Error open_error(const std::string& path, const std::string& what) {
  return make_error("store_open_failed", "cannot open store " + path + ": " + what);
}

inline Error write_error(sqlite3* db, int rc, std::string_view doing) {
  return make_error("store_write_failed",
                    "store commit failed (" + std::string(doing) + "): " + db_message(db, rc));
}

inline Error read_error(std::string what) {
  return make_error("store_read_failed", std::move(what));
}

inline Error read_error(sqlite3* db, int rc) {
  return read_error("store read failed: " + db_message(db, rc));
}

// ---- values <-> text ----

// Appends `parts` comma-joined to `out`.
inline void append_joined(std::string& out, const std::vector<std::string>& parts) {
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += ',';
    out += parts[i];
  }
}

inline std::string join(const std::vector<std::string>& parts) {
  std::string out;
  append_joined(out, parts);
  return out;
}

inline std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  for (;;) {
    const size_t comma = s.find(',');
    out.emplace_back(s.substr(0, comma));
    if (comma == std::string_view::npos) return out;
    s.remove_prefix(comma + 1);
  }
}

inline std::optional<Action> action_from_string(std::string_view s) {
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
    return check(sqlite3_bind_blob64(st_, next_++,
                                     v.empty() ? "" : static_cast<const void*>(v.data()), v.size(),
                                     SQLITE_STATIC));
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

inline std::int64_t limit_param(std::size_t limit) {
  constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(limit > kMax ? kMax : limit);
}

// ---- connections (sqlite_store.cc) ----

void close_db(sqlite3* db);
// Opens a connection to `path` for use by one thread at a time.
Result<sqlite3*> open_db(const std::string& path, int flags, std::chrono::milliseconds busy);
// Runs one statement with no parameters; returns its single-value result (as
// text) when it has one.
Result<std::string> exec_value(sqlite3* db, const char* sql);
Status exec_script(sqlite3* db, const char* sql);

// ---- schema and identity (sqlite_schema.cc) ----

// Reads the v5 tables `activity` and `profiles` of `db` (sqlite_legacy.cc).
std::unique_ptr<LegacyRows> legacy_rows(sqlite3* db, std::string path);

// WAL, synchronous=NORMAL, then the schema created or upgraded to version 5
// in one transaction; from 5 to SqliteStore::kSchemaVersion, `move` (may be
// empty: then only empty tables may be dropped) is given the rows of the
// tables that leave SQLite, and once it returned ok they are dropped in the
// transaction that sets the version.
Status prepare_database(sqlite3* db, const std::string& path, const MoveLegacyRows& move);
// Before the database is opened (and created if missing): a missing or empty
// database in a data dir whose id file says it held one is refused.
Status check_database_present(const std::string& data_dir, const std::string& db_path);
// After the schema is ready: the database's id and the id file agree; a
// database without one (new, or from before ids) gets one, and so does a
// data dir without the file.
Status check_identity(sqlite3* db, const std::string& data_dir, const std::string& db_path);
// What check_identity and prepare_database would refuse of the database
// `db` (opened read-only at `db_path`), without changing anything: a schema
// newer than this build's, an id that is not the data dir's.
Status check_database(sqlite3* db, const std::string& data_dir, const std::string& db_path);

// ---- reading rows ----

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

// ---- the writer ----

// The writer's connection and prepared statements (indexed by WriterStmt),
// as the roles' apply_write functions use them. On the writer thread only.
struct Writer {
  sqlite3* db;
  sqlite3_stmt* const* stmts;

  // Binds statement `which` with bind(Binder&), runs it to completion and
  // resets it; a failure is a `store_write_failed` error naming `doing`.
  template <typename Bind>
  Status exec(WriterStmt which, std::string_view doing, Bind&& bind) const {
    sqlite3_stmt* st = stmts[static_cast<std::size_t>(which)];
    ResetOnExit reset(st);
    Binder b(st);
    bind(b);
    if (b.rc() != SQLITE_OK) return write_error(db, b.rc(), doing);
    const int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) return write_error(db, rc, doing);
    return {};
  }
};

// ---- queued operations, by role ----

// records (sqlite_records.cc)

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
struct PutIncidentCountsOp {
  IncidentCounts counts;
  std::optional<IncidentAccount> a;
};
struct PutBlockOp {
  Block b;
};
struct DeleteBlockOp {
  std::string scope, key;
};
struct PruneBlocksOp {
  TimePoint before;
};
struct PutTotpOp {
  TotpRecord r;
};
struct DeleteTotpOp {
  std::string account;
};
struct PutOwnerActionOp {
  std::string key, account;
  TimePoint at;
};
struct AppendAuditOp {
  AuditRecord r;
};
struct PutOperatorOp {
  OperatorRecord r;
};
struct DeleteOperatorOp {
  std::string name;
};

// outbox (sqlite_outbox.cc)

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
struct PruneOutboxOp {
  TimePoint before;
};

// How the writer applies each operation, inside the batch's transaction
// (defined in the operation's role file).
Status apply_write(const Writer& w, const PutLockOp& op);
Status apply_write(const Writer& w, const ClearLockOp& op);
Status apply_write(const Writer& w, const PutContactOp& op);
Status apply_write(const Writer& w, const PutLastLoginOp& op);
Status apply_write(const Writer& w, const PutListEntryOp& op);
Status apply_write(const Writer& w, const DeleteListEntryOp& op);
Status apply_write(const Writer& w, const PutIncidentOp& op);
Status apply_write(const Writer& w, const PutIncidentAccountOp& op);
Status apply_write(const Writer& w, const PutIncidentCountsOp& op);
Status apply_write(const Writer& w, const PutBlockOp& op);
Status apply_write(const Writer& w, const DeleteBlockOp& op);
Status apply_write(const Writer& w, const PruneBlocksOp& op);
Status apply_write(const Writer& w, const PutTotpOp& op);
Status apply_write(const Writer& w, const DeleteTotpOp& op);
Status apply_write(const Writer& w, const PutOwnerActionOp& op);
Status apply_write(const Writer& w, const AppendAuditOp& op);
Status apply_write(const Writer& w, const PutOperatorOp& op);
Status apply_write(const Writer& w, const DeleteOperatorOp& op);
Status apply_write(const Writer& w, const EnqueueOutboxOp& op);
Status apply_write(const Writer& w, const OutboxDeliveredOp& op);
Status apply_write(const Writer& w, const OutboxRetryOp& op);
Status apply_write(const Writer& w, const OutboxFailedOp& op);
Status apply_write(const Writer& w, const PruneOutboxOp& op);

}  // namespace mamori::store::sqlite

namespace mamori::store {

// Any role's queued operation, or a participant's (ForeignWrite).
struct SqliteStore::WriteOp
    : std::variant<ForeignWrite, sqlite::PutLockOp, sqlite::ClearLockOp, sqlite::PutContactOp,
                   sqlite::PutLastLoginOp, sqlite::PutListEntryOp, sqlite::DeleteListEntryOp,
                   sqlite::PutIncidentOp, sqlite::PutIncidentAccountOp,
                   sqlite::PutIncidentCountsOp, sqlite::PutBlockOp, sqlite::DeleteBlockOp,
                   sqlite::PruneBlocksOp, sqlite::PutTotpOp, sqlite::DeleteTotpOp,
                   sqlite::PutOwnerActionOp, sqlite::AppendAuditOp, sqlite::EnqueueOutboxOp,
                   sqlite::OutboxDeliveredOp, sqlite::OutboxRetryOp, sqlite::OutboxFailedOp,
                   sqlite::PruneOutboxOp, sqlite::PutOperatorOp, sqlite::DeleteOperatorOp> {
  using variant::variant;
};

}  // namespace mamori::store

#endif  // MAMORI_STORE_SQLITE_SQLITE_INTERNAL_H_
