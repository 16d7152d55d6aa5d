#ifndef MAMORI_STORE_RECORD_STORE_H_
#define MAMORI_STORE_RECORD_STORE_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/commits.h"
#include "store/records.h"

namespace mamori::store {

// The small relational records: accounts (lock, contact, last login), the
// allow and deny lists, incidents with the accounts they touched, the
// engine's temporary blocks and TOTP second factors. Few and small, changed
// in place, read whole at start (locks, lists, blocks, open incidents) or
// one at a time by the API.
//
// Writes are queued and return a ticket of the store's commit sequence at
// once; reads see every committed write and fail with `store_read_failed`.
// Thread-safe: any method from any thread.
class RecordStore {
 public:
  virtual ~RecordStore() = default;

  // ---- accounts ----
  virtual WriteTicket put_lock(std::string account, LockInfo lock) = 0;
  virtual WriteTicket clear_lock(std::string account) = 0;
  virtual WriteTicket put_contact(std::string account, Contact contact) = 0;
  virtual WriteTicket put_last_login(std::string account, LastLogin login) = 0;
  virtual Result<std::optional<AccountRecord>> account(std::string_view account) = 0;
  virtual Result<std::vector<AccountRecord>> locked_accounts() = 0;

  // ---- lists ----
  virtual WriteTicket put_list_entry(ListEntry e) = 0;
  virtual WriteTicket delete_list_entry(std::string id) = 0;
  virtual Result<std::vector<ListEntry>> list_entries() = 0;

  // ---- incidents ----
  // Inserts or replaces the incident's header (times, sources, counts).
  virtual WriteTicket put_incident(Incident i) = 0;
  // Inserts or updates one touched account: first_seen keeps the earliest,
  // last_seen the latest, login_succeeded is or-ed.
  virtual WriteTicket put_incident_account(std::string incident_id, IncidentAccount a) = 0;
  // Updates the header's last_seen and counts (of an incident put_incident
  // wrote; nothing when there is none) and, when `a` is given, puts that
  // account as put_incident_account does, in one transaction: no reader
  // (nor a backup) sees an account without the header that counts it, or
  // the other way round.
  virtual WriteTicket put_incident_counts(IncidentCounts counts,
                                          std::optional<IncidentAccount> a) = 0;
  // Newest first; incidents whose last_seen >= since.
  virtual Result<std::vector<Incident>> incidents(TimePoint since) = 0;
  virtual Result<std::optional<Incident>> incident(std::string_view id) = 0;
  virtual Result<std::vector<IncidentAccount>> incident_accounts(std::string_view id) = 0;
  // Incidents that touched `account`, newest first.
  virtual Result<std::vector<Incident>> incidents_for_account(std::string_view account) = 0;

  // ---- blocks ----
  virtual WriteTicket put_block(Block b) = 0;  // replaces the block with the same scope + key
  virtual WriteTicket delete_block(std::string scope, std::string key) = 0;
  // Deletes the blocks that ended before `before`.
  virtual WriteTicket prune_blocks(TimePoint before) = 0;
  // Blocks with until > now.
  virtual Result<std::vector<Block>> blocks(TimePoint now) = 0;

  // ---- TOTP second factor ----
  // Inserts or replaces the account's whole TOTP record (recovery codes too).
  virtual WriteTicket put_totp(TotpRecord r) = 0;
  // Deletes the account's TOTP record; nothing when there is none.
  virtual WriteTicket delete_totp(std::string account) = 0;
  virtual Result<std::optional<TotpRecord>> totp(std::string_view account) = 0;

  // ---- what an owner's link or notice did, once ----
  // Records that `key` (a used "this wasn't me" link's nonce, a notice sent
  // for an incident) was done for `account` at `at`; a key done before
  // keeps its first record.
  virtual WriteTicket put_owner_action(std::string key, std::string account, TimePoint at) = 0;
  // When `key` was done; none: never.
  virtual Result<std::optional<TimePoint>> owner_action(std::string_view key) = 0;
  // Records `key` for `account` at `at` unless a record of it is stored:
  // returns the record's write (0 when it is committed already), or none
  // when `key` was done before (nothing written). The check and the record
  // are one step for every process sharing the store (of two nodes claiming
  // one key at once, one gets none); within this process a record still
  // queued is not seen, so callers hold their claims until committed
  // (notify::OnceRecords). Fails with the store's error, nothing recorded.
  virtual Result<std::optional<WriteTicket>> claim_owner_action(std::string key,
                                                                std::string account,
                                                                TimePoint at) = 0;
  // Claims `key` for `account` at `at` for an action whose writes the
  // caller queues next, in the same Commits::together block: returns the
  // write that keeps the claim, which commits with the action's writes or
  // fails with them (the claim then undone: a later call claims again), or
  // none when `key` was done before or is being done (claimed by another
  // process, not yet kept). Fails with the store's error, nothing claimed.
  // A store of one process does as claim_owner_action() (its record is
  // itself a queued write); a store shared by several processes claims at
  // once, across them, and keeps the claim in the batch.
  virtual Result<std::optional<WriteTicket>> claim_owner_action_for_writes(std::string key,
                                                                           std::string account,
                                                                           TimePoint at) = 0;
  // ---- operator accounts of the console ----
  // Inserts or replaces the operator's whole record.
  virtual WriteTicket put_operator(OperatorRecord r) = 0;
  // Deletes the operator; nothing when there is none.
  virtual WriteTicket delete_operator(std::string name) = 0;
  virtual Result<std::optional<OperatorRecord>> operator_account(std::string_view name) = 0;
  // Every operator, by name.
  virtual Result<std::vector<OperatorRecord>> operator_accounts() = 0;
  // ---- audit: operator actions ----
  // Appends `r`. Queue it inside Commits::together with the action's own
  // writes, so that the action and its record commit as one.
  virtual WriteTicket append_audit(AuditRecord r) = 0;
  // The records `q` selects, newest first (time, then id, descending).
  virtual Result<std::vector<AuditRecord>> audit(const AuditQuery& q) = 0;
};

}  // namespace mamori::store

#endif  // MAMORI_STORE_RECORD_STORE_H_
