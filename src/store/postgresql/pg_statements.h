#ifndef MAMORI_STORE_POSTGRESQL_PG_STATEMENTS_H_
#define MAMORI_STORE_POSTGRESQL_PG_STATEMENTS_H_

// PostgresStore's statements (prepared on every connection as s0, s1, ...),
// the parameters its writes queue (text; none: NULL) and how its rows
// become records. The SQL mirrors store/sqlite/sqlite_records.cc and
// sqlite_outbox.cc statement by statement.

#include <libpq-fe.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/records.h"

namespace mamori::store::postgresql {

enum StatementId : int {
  // writes
  kPutLockStmt,
  kClearLockStmt,
  kPutContactStmt,
  kPutLastLoginStmt,
  kPutListEntryStmt,
  kDeleteListEntryStmt,
  kPutIncidentStmt,
  kPutIncidentAccountStmt,
  kPutIncidentCountsStmt,
  kPutBlockStmt,
  kDeleteBlockStmt,
  kPruneBlocksStmt,
  kPutTotpStmt,
  kDeleteTotpStmt,
  kPutOwnerActionStmt,
  kAppendAuditStmt,
  kPutOperatorStmt,
  kDeleteOperatorStmt,
  kEnqueueOutboxStmt,
  kOutboxDeliveredStmt,
  kOutboxRetryStmt,
  kOutboxFailedStmt,
  kPruneOutboxStmt,
  kAppendActivityStmt,
  kPutProfileStmt,
  kPutProfileIfStmt,
  kConfirmOwnerActionStmt,
  kReleaseOwnerActionStmt,
  kNotifyStmt,
  // reads
  kAccountStmt,
  kLockedAccountsStmt,
  kListEntriesStmt,
  kIncidentsStmt,
  kIncidentStmt,
  kIncidentAccountsStmt,
  kIncidentsForAccountStmt,
  kBlocksStmt,
  kBlockStmt,
  kTotpStmt,
  kOwnerActionStmt,
  kClaimOwnerActionStmt,
  kClaimOwnerActionForWritesStmt,
  kAuditStmt,
  kOperatorStmt,
  kOperatorsStmt,
  kDueOutboxStmt,
  kOutboxCountsStmt,
  kActivityStmt,
  kFailedLoginsStmt,
  kProfileStmt,
  kProfilesStmt,
  kPartitionsStmt,
  kStatementCount
};

using Params = std::vector<std::optional<std::string>>;

// "s7" for statement 7.
const char* statement_name(int id);
// The SQL of statement `id`.
const char* statement_sql(int id);
// Prepares every statement on `conn`; fails with `code`.
Status prepare_statements(PGconn* conn, const char* code);

inline std::string bool_text(bool b) { return b ? "t" : "f"; }
// A text[] literal of `items` ({"a","b"}: each quoted, `"` and `\` escaped).
std::string text_array(const std::vector<std::string>& items);
// A LIMIT: `limit` capped at the largest bigint.
std::string limit_text(std::size_t limit);

Params activity_params(const ActivityRecord& r);
Params incident_params(const Incident& i);
Params incident_account_params(const std::string& incident_id, const IncidentAccount& a);
Params totp_params(const TotpRecord& r);
Params operator_params(const OperatorRecord& r);
Params audit_params(const AuditRecord& r);
// kAuditStmt's parameters for `q`.
Params audit_query_params(const AuditQuery& q);

// Row `i` of `r` as a record; fails with `store_read_failed`.
Result<AccountRecord> read_account(const PGresult* r, int i);
Result<ListEntry> read_list_entry(const PGresult* r, int i);
Result<Incident> read_incident(const PGresult* r, int i);
Result<IncidentAccount> read_incident_account(const PGresult* r, int i);
Result<Block> read_block(const PGresult* r, int i);
Result<TotpRecord> read_totp(const PGresult* r, int i);
Result<OperatorRecord> read_operator(const PGresult* r, int i);
Result<OutboxItem> read_outbox_item(const PGresult* r, int i);
Result<ActivityRecord> read_activity(const PGresult* r, int i);
Result<AuditRecord> read_audit(const PGresult* r, int i);

}  // namespace mamori::store::postgresql

#endif  // MAMORI_STORE_POSTGRESQL_PG_STATEMENTS_H_
