#ifndef MAMORI_STORE_MEMORY_MEMORY_STORE_H_
#define MAMORI_STORE_MEMORY_MEMORY_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/store.h"

namespace mamori::store {

struct MemoryStoreOptions {
  // Whether the activity log keeps its entries. false: append_activity()
  // takes a ticket and drops the entry, and the reads find none (a replay
  // that reads no activity back keeps its memory for the hot windows).
  bool keep_activity = true;
};

// A Store held in this process's memory only: every role over one commit
// sequence, each write applied and committed before it returns. Nothing
// survives the process; it is for runs that keep nothing (mamori logs
// replay) and for tests. The records behave as the SQLite store's do (the
// same merges, orders and filters); profiles are kept encoded
// (profile_codec.h), a few hundred bytes an account.
//
// Commits: a ticket is committed when its write returns, so wait() returns
// at once, on_committed() calls back at once on the caller's thread, and no
// commit ever fails (on_failed_commit listeners are never called).
//
// Thread-safe: one mutex guards everything; no callback runs under it.
class MemoryStore final : public Store {
 public:
  explicit MemoryStore(MemoryStoreOptions options = {});
  ~MemoryStore() override;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  // ---- Commits ----
  Status wait(WriteTicket) override { return {}; }
  void on_committed(WriteTicket t, std::function<void(const Status&)> done) override;
  WriteTicket committed() const override;
  Status status(const WriteSpan&) const override { return {}; }
  std::uint64_t on_failed_commit(std::function<void(const WriteSpan&, const Error&)> fn) override;
  void remove_failure_listener(std::uint64_t id) override;
  void together(const std::function<void()>& queue_writes) override { queue_writes(); }

  // ---- ActivityLog ----
  WriteTicket append_activity(const ActivityRecord& r) override;
  WriteTicket prune_activity(TimePoint before) override;
  Result<std::vector<ActivityRecord>> activity(std::string_view account, TimePoint since,
                                               std::size_t limit) override;
  Status failed_logins_since(TimePoint since, std::size_t limit,
                             const std::function<void(const ActivityRecord&)>& fn) override;

  // ---- ProfileStore ----
  // One process writes the profiles: every write is stored as it is, and
  // profile versions stay 0.
  WriteTicket put_profile(std::string account, AccountProfile& profile) override;
  void on_profile_conflict(ProfileMerge, ProfileMerged) override {}
  bool profiles_in_process() const override { return true; }
  Result<AccountProfile> profile(std::string_view account) override;

  // ---- RecordStore ----
  WriteTicket put_lock(std::string account, LockInfo lock) override;
  WriteTicket clear_lock(std::string account) override;
  WriteTicket put_contact(std::string account, Contact contact) override;
  WriteTicket put_last_login(std::string account, LastLogin login) override;
  Result<std::optional<AccountRecord>> account(std::string_view account) override;
  Result<std::vector<AccountRecord>> locked_accounts() override;
  WriteTicket put_list_entry(ListEntry e) override;
  WriteTicket delete_list_entry(std::string id) override;
  Result<std::vector<ListEntry>> list_entries() override;
  WriteTicket put_incident(Incident i) override;
  WriteTicket put_incident_account(std::string incident_id, IncidentAccount a) override;
  WriteTicket put_incident_counts(IncidentCounts counts, std::optional<IncidentAccount> a) override;
  Result<std::vector<Incident>> incidents(TimePoint since) override;
  Result<std::optional<Incident>> incident(std::string_view id) override;
  Result<std::vector<IncidentAccount>> incident_accounts(std::string_view id) override;
  Result<std::vector<Incident>> incidents_for_account(std::string_view account) override;
  WriteTicket put_block(Block b) override;
  WriteTicket delete_block(std::string scope, std::string key) override;
  WriteTicket prune_blocks(TimePoint before) override;
  Result<std::vector<Block>> blocks(TimePoint now) override;
  WriteTicket put_totp(TotpRecord r) override;
  WriteTicket delete_totp(std::string account) override;
  Result<std::optional<TotpRecord>> totp(std::string_view account) override;
  WriteTicket put_owner_action(std::string key, std::string account, TimePoint at) override;
  Result<std::optional<TimePoint>> owner_action(std::string_view key) override;
  Result<std::optional<WriteTicket>> claim_owner_action(std::string key, std::string account,
                                                        TimePoint at) override;
  Result<std::optional<WriteTicket>> claim_owner_action_for_writes(std::string key,
                                                                   std::string account,
                                                                   TimePoint at) override {
    return claim_owner_action(std::move(key), std::move(account), at);
  }
  WriteTicket put_operator(OperatorRecord r) override;
  WriteTicket delete_operator(std::string name) override;
  Result<std::optional<OperatorRecord>> operator_account(std::string_view name) override;
  Result<std::vector<OperatorRecord>> operator_accounts() override;
  WriteTicket append_audit(AuditRecord r) override;
  Result<std::vector<AuditRecord>> audit(const AuditQuery& q) override;

  // ---- OutboxStore ----
  WriteTicket enqueue_outbox(OutboxItem item) override;
  WriteTicket outbox_delivered(std::string id, TimePoint when) override;
  WriteTicket outbox_retry(std::string id, TimePoint next_attempt, std::string error) override;
  WriteTicket outbox_failed(std::string id, TimePoint when, std::string error) override;
  WriteTicket prune_outbox(TimePoint before) override;
  Result<std::vector<OutboxItem>> due_outbox(TimePoint now, std::size_t limit) override;
  Result<OutboxCounts> outbox_counts() override;

  // Activity entries appended (kept or not).
  std::uint64_t activity_appended() const;

  struct Data;  // memory_store.cc's

 private:
  // The next ticket; REQUIRES: mu_ held.
  WriteTicket next_locked();

  const MemoryStoreOptions options_;
  mutable std::mutex mu_;
  std::unique_ptr<Data> data_;
};

}  // namespace mamori::store

#endif  // MAMORI_STORE_MEMORY_MEMORY_STORE_H_
