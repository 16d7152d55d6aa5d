#ifndef MAMORI_STORE_STORE_H_
#define MAMORI_STORE_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/records.h"

namespace mamori::store {

// Sequence number of a queued write. Writes are applied in the order they
// were queued; a ticket is committed when it and every earlier write are.
using WriteTicket = std::uint64_t;

// The writes one answer depends on: every ticket from `first` to `last`
// (other callers' writes in between included, so a failure among them fails
// the span too: an answer errs on the side of "not stored"). Empty: nothing
// was written.
struct WriteSpan {
  WriteTicket first = 0, last = 0;

  void add(WriteTicket t) {
    if (t == 0) return;
    if (first == 0 || t < first) first = t;
    if (t > last) last = t;
  }
  void add(const WriteSpan& s) {
    add(s.first);
    add(s.last);
  }
  bool empty() const { return last == 0; }
};

// The durable store: accounts, locks, contacts, lists, incidents, blocks and
// the activity log. The engine and the API know only this interface; the
// embedded backend is SQLite (store/sqlite/), a distributed one may follow.
//
// Writes are queued to a single writer that commits them in groups and return
// at once with a ticket; a caller that must not answer before the write is
// durable waits for the ticket (wait) or registers a callback
// (on_committed). "Durable" means it survives kill -9 of the process.
// Reads see every committed write. Thread-safe: any method from any thread.
class Store {
 public:
  virtual ~Store() = default;

  // ---- writes (queued; never block on I/O) ----
  virtual WriteTicket append_activity(const ActivityRecord& r) = 0;
  virtual WriteTicket put_lock(std::string account, LockInfo lock) = 0;
  virtual WriteTicket clear_lock(std::string account) = 0;
  virtual WriteTicket put_contact(std::string account, Contact contact) = 0;
  virtual WriteTicket put_last_login(std::string account, LastLogin login) = 0;
  // The profile is encoded before this returns: the caller keeps it.
  virtual WriteTicket put_profile(std::string account, const AccountProfile& profile) = 0;
  virtual WriteTicket put_list_entry(ListEntry e) = 0;
  virtual WriteTicket delete_list_entry(std::string id) = 0;
  // Inserts or replaces the incident's header (times, sources, counts).
  virtual WriteTicket put_incident(Incident i) = 0;
  // Inserts or updates one touched account: first_seen keeps the earliest,
  // last_seen the latest, login_succeeded is or-ed.
  virtual WriteTicket put_incident_account(std::string incident_id, IncidentAccount a) = 0;
  // Both at once, in one transaction: no reader (nor a backup) sees an
  // account without the header that counts it, or the other way round.
  virtual WriteTicket put_incident_and_account(Incident header, IncidentAccount a) = 0;
  virtual WriteTicket put_block(Block b) = 0;  // replaces the block with the same scope + key
  virtual WriteTicket delete_block(std::string scope, std::string key) = 0;
  // Deletes activity older than `before` and blocks that ended before it.
  virtual WriteTicket prune(TimePoint before) = 0;

  // Blocks until `t` is committed and the on_committed callbacks of its
  // commit have run. Returns the error of the commit that carried it (e.g.
  // disk full), if any.
  virtual Status wait(WriteTicket t) = 0;
  // Calls `done` once `t` is committed, on the writer's thread or at once on
  // the caller's if it already is. `done` must not block.
  virtual void on_committed(WriteTicket t, std::function<void(const Status&)> done) = 0;
  // The highest ticket whose commit has finished, successfully or not: a
  // ticket at or below it is durable unless status() says otherwise.
  virtual WriteTicket committed() const = 0;
  // Whether every write of `span` was stored: ok, or the error of a commit
  // that failed (code `store_write_failed`). Cheap when no commit failed
  // lately (no lock). REQUIRES: span.last <= committed().
  virtual Status status(const WriteSpan& span) const = 0;
  // Registers `fn`, called on the writer's thread after every commit that
  // failed, with the tickets it carried and its error, before the waiters of
  // those writes hear of it. `fn` must not block, write to the store or
  // remove a listener. Returns the id that removes it.
  virtual std::uint64_t on_failed_commit(
      std::function<void(const WriteSpan&, const Error&)> fn) = 0;
  // Once this returns, the listener is not running and is not called again.
  virtual void remove_failure_listener(std::uint64_t id) = 0;

  // ---- reads ----
  virtual Result<std::optional<AccountRecord>> account(std::string_view account) = 0;
  virtual Result<std::vector<AccountRecord>> locked_accounts() = 0;
  // The account's profile; an empty one when it has none.
  virtual Result<AccountProfile> profile(std::string_view account) = 0;
  // Newest first, time >= since, at most `limit`.
  virtual Result<std::vector<ActivityRecord>> activity(std::string_view account, TimePoint since,
                                                       std::size_t limit) = 0;
  // Every account's activity with time >= since, oldest first, at most `limit`.
  virtual Result<std::vector<ActivityRecord>> activity_since(TimePoint since,
                                                             std::size_t limit) = 0;
  // Calls `fn` with each failed login result (type login_result, success
  // false) with time >= since, oldest first; of more than `limit`, with the
  // newest `limit`. Only time, account, type, ip and success are read, the
  // other fields are empty; the record passed is reused for the next row, and
  // the rows are not collected in memory (used to warm the hot windows at
  // start). Stops at the first row it cannot read and returns its error.
  virtual Status failed_logins_since(TimePoint since, std::size_t limit,
                                     const std::function<void(const ActivityRecord&)>& fn) = 0;
  virtual Result<std::vector<ListEntry>> list_entries() = 0;
  // Newest first; incidents whose last_seen >= since.
  virtual Result<std::vector<Incident>> incidents(TimePoint since) = 0;
  virtual Result<std::optional<Incident>> incident(std::string_view id) = 0;
  virtual Result<std::vector<IncidentAccount>> incident_accounts(std::string_view id) = 0;
  // Incidents that touched `account`, newest first.
  virtual Result<std::vector<Incident>> incidents_for_account(std::string_view account) = 0;
  // Blocks with until > now.
  virtual Result<std::vector<Block>> blocks(TimePoint now) = 0;

  // ---- TOTP second factor ----
  // Inserts or replaces the account's whole TOTP record (recovery codes too).
  virtual WriteTicket put_totp(TotpRecord r) = 0;
  // Deletes the account's TOTP record; nothing when there is none.
  virtual WriteTicket delete_totp(std::string account) = 0;
  virtual Result<std::optional<TotpRecord>> totp(std::string_view account) = 0;
  // ---- outbox: notices and alerts delivered at least once ----
  // Queued writes like the others. `prune` also deletes delivered and failed
  // items whose `done` is before its cut-off; pending items are never pruned.
  virtual WriteTicket enqueue_outbox(OutboxItem item) = 0;
  // Marks a pending item delivered. Changes nothing for an unknown id.
  virtual WriteTicket outbox_delivered(std::string id, TimePoint when) = 0;
  // Counts a failed attempt of a pending item and schedules the next one.
  virtual WriteTicket outbox_retry(std::string id, TimePoint next_attempt, std::string error) = 0;
  // Gives a pending item up (it stays in the store, state failed, until pruned).
  virtual WriteTicket outbox_failed(std::string id, TimePoint when, std::string error) = 0;
  // Pending items with next_attempt <= now, earliest first, at most `limit`.
  virtual Result<std::vector<OutboxItem>> due_outbox(TimePoint now, std::size_t limit) = 0;
  virtual Result<OutboxCounts> outbox_counts() = 0;
};

}  // namespace mamori::store

#endif  // MAMORI_STORE_STORE_H_
