#ifndef MAMORI_STORE_EMBEDDED_EMBEDDED_STORE_H_
#define MAMORI_STORE_EMBEDDED_EMBEDDED_STORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/growing_bloom_filter.h"
#include "core/result.h"
#include "store/journal/activity_journal.h"
#include "store/journal/profile_journal.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"

namespace mamori::store {

struct EmbeddedStoreOptions {
  // The SQLite part's; its participant and move_legacy_rows are set by open().
  SqliteStoreOptions sqlite;
  journal::ActivityJournalOptions activity;
  journal::ProfileJournalOptions profiles;
  // The journals' clock (index lag, idle partitions); null: the system clock.
  // Must outlive the store.
  const Clock* clock = nullptr;
  // Called after each row the upgrade to schema 6 moved (a test's way to
  // cut a migration short); empty: nothing.
  std::function<void(std::uint64_t rows_moved)> on_migrated_row;
};

// The embedded durable Store of one data dir, a composition of three parts
// under one commit sequence:
//   - `<data_dir>/mamori.db`: SQLite (SqliteStore) for the relational records
//     and the outbox (locks, contacts, last logins, lists, incidents,
//     blocks, TOTP, outbox);
//   - `<data_dir>/activity/`: the activity log, an ActivityJournal (day
//     partitions, store/journal/activity_journal.h);
//   - `<data_dir>/profiles/`: the profiles, a ProfileJournal.
//
// Shape: SqliteStore keeps the group commit (its CommitQueue, its writer
// thread, its checkpoints between batches) and this store joins its
// batches as their BatchParticipant: journal records are queued in the same
// sequence as SQLite's writes (ForeignWrite), so one answer's WriteSpan may
// cover an activity entry, a profile and a lock under one promise. The
// queue stays in SqliteStore rather than moving here because everything
// the writer does between batches (the WAL checkpoint, the readers'
// snapshots) is SQLite's, and its transaction frames the batch; the
// journals need only stage, write, publish and discard.
//
// A batch is: BEGIN; SQLite's writes applied and the journal records
// staged, in queue order; the journals written (write(): in the page cache);
// COMMIT; the journal records published to readers. On any failure the
// transaction is rolled back, the journals truncated back to where the
// batch began, and every write of the batch fails with
// `store_write_failed` (503 to the client). So an acknowledged write is in
// the journal file and in SQLite's committed WAL: it survives kill -9 (not a
// power cut before the next fsync). Nothing is fsync'ed per commit; a
// journal is fsync'ed before an index run covers it. A batch of journal
// records alone (most of a login result load) takes no SQLite transaction.
//
// The journal records are encoded by the thread that queues them, so the
// writer only copies bytes. Reads of the activity log and the profiles are
// the journals': every read merges the un-indexed tail, so an acknowledged
// entry is seen at once, however far the index trails.
//
// Retention: prune_activity(before) drops whole UTC day partitions, those
// whose day ends at or before `before`, on the writer thread after its
// batch is published. An entry so lives between `retention` and
// `retention` + 1 day. A drop that fails is logged and counted, and tried
// again by the next prune.
//
// Schema 5 to 6 (the first open by this build of an older data dir): the
// `activity` rows (oldest first) and the `profiles` rows are copied into
// freshly made journals, which are then fsync'ed, and the tables are
// dropped in the transaction that sets version 6. Until that commits the
// tables are the truth: a journal dir left by a copy that was cut short is
// deleted and made again at the next open.
//
// Thread-safe: every method from any thread. Destruction commits what is
// queued, stops the writer and the indexers; no call may be in flight or
// follow it.
class EmbeddedStore final : public Store, private BatchParticipant {
 public:
  static constexpr int kSchemaVersion = SqliteStore::kSchemaVersion;

  // Opens the data dir (created if missing), taking its lock: the database
  // (SqliteStore::open's checks and upgrades), then the journals. A database
  // of schema 6 whose `activity/` or `profiles/` is missing is refused (it
  // would start that part empty). Fails with `data_dir_in_use` or
  // `store_open_failed`, naming the path and the cause.
  static Result<std::unique_ptr<EmbeddedStore>> open(const std::string& data_dir,
                                                     EmbeddedStoreOptions options = {});
  // What open() would refuse, without the lock and without changing
  // anything (mamorid --check-config beside the daemon): SqliteStore::check,
  // and the journal dirs, where present, are writable directories and the
  // profiles name their current generation. Fails with `store_open_failed`.
  static Status check(const std::string& data_dir);

  ~EmbeddedStore() override;
  EmbeddedStore(const EmbeddedStore&) = delete;
  EmbeddedStore& operator=(const EmbeddedStore&) = delete;

  SqliteStore& sqlite() { return *sqlite_; }
  journal::ActivityJournal& activity_journal() { return *activity_; }
  journal::ProfileJournal& profile_journal() { return *profiles_; }

  // ---- writes ----
  // An entry that cannot be encoded as it is (a field over 65,535 bytes,
  // more than 255 reasons) is stored with those fields cut to the limits.
  WriteTicket append_activity(const ActivityRecord& r) override;
  // Drops the day partitions that end at or before `before` (see above).
  WriteTicket prune_activity(TimePoint before) override;
  // One node writes the profiles: every write is stored as it is, and
  // profile versions stay 0.
  WriteTicket put_profile(std::string account, AccountProfile& profile) override;
  void on_profile_conflict(ProfileMerge, ProfileMerged) override {}

  WriteTicket put_lock(std::string account, LockInfo lock) override;
  WriteTicket clear_lock(std::string account) override;
  WriteTicket put_contact(std::string account, Contact contact) override;
  WriteTicket put_last_login(std::string account, LastLogin login) override;
  WriteTicket put_list_entry(ListEntry e) override;
  WriteTicket delete_list_entry(std::string id) override;
  WriteTicket put_incident(Incident i) override;
  WriteTicket put_incident_account(std::string incident_id, IncidentAccount a) override;
  WriteTicket put_incident_counts(IncidentCounts counts, std::optional<IncidentAccount> a) override;
  WriteTicket put_block(Block b) override;
  WriteTicket delete_block(std::string scope, std::string key) override;
  WriteTicket prune_blocks(TimePoint before) override;
  WriteTicket put_totp(TotpRecord r) override;
  WriteTicket delete_totp(std::string account) override;
  WriteTicket prune_outbox(TimePoint before) override;
  WriteTicket enqueue_outbox(OutboxItem item) override;
  WriteTicket outbox_delivered(std::string id, TimePoint when) override;
  WriteTicket outbox_retry(std::string id, TimePoint next_attempt, std::string error) override;
  WriteTicket outbox_failed(std::string id, TimePoint when, std::string error) override;

  // ---- commits (SqliteStore's) ----
  Status wait(WriteTicket t) override { return sqlite_->wait(t); }
  // As SqliteStore::drain.
  WriteTicket drain() { return sqlite_->drain(); }
  void on_committed(WriteTicket t, std::function<void(const Status&)> done) override {
    sqlite_->on_committed(t, std::move(done));
  }
  WriteTicket committed() const override { return sqlite_->committed(); }
  Status status(const WriteSpan& span) const override { return sqlite_->status(span); }
  std::uint64_t on_failed_commit(std::function<void(const WriteSpan&, const Error&)> fn) override {
    return sqlite_->on_failed_commit(std::move(fn));
  }
  void remove_failure_listener(std::uint64_t id) override { sqlite_->remove_failure_listener(id); }
  void together(const std::function<void()>& queue_writes) override {
    sqlite_->together(queue_writes);
  }
  std::uint64_t batches_committed() const { return sqlite_->batches_committed(); }
  std::uint64_t batches_failed() const { return sqlite_->batches_failed(); }
  std::uint64_t writes_failed() const { return sqlite_->writes_failed(); }
  bool available() const { return sqlite_->available(); }

  // profile() calls answered without reading the journal: the account never
  // had a profile.
  std::uint64_t profile_reads_skipped() const {
    return profile_reads_skipped_.load(std::memory_order_relaxed);
  }
  // Appends the metrics (Prometheus text): SqliteStore's, the journals'
  // mamori_store_activity_* and mamori_store_profiles_*, and
  // mamori_store_profile_reads_skipped_total.
  void render_metrics(std::string& out) const;

  // ---- reads ----
  Result<std::vector<ActivityRecord>> activity(std::string_view account, TimePoint since,
                                               std::size_t limit) override;
  Status failed_logins_since(TimePoint since, std::size_t limit,
                             const std::function<void(const ActivityRecord&)>& fn) override;
  Result<AccountProfile> profile(std::string_view account) override;

  Result<std::optional<AccountRecord>> account(std::string_view account) override {
    return sqlite_->account(account);
  }
  Result<std::vector<AccountRecord>> locked_accounts() override {
    return sqlite_->locked_accounts();
  }
  Result<std::vector<ListEntry>> list_entries() override { return sqlite_->list_entries(); }
  Result<std::vector<Incident>> incidents(TimePoint since) override {
    return sqlite_->incidents(since);
  }
  Result<std::optional<Incident>> incident(std::string_view id) override {
    return sqlite_->incident(id);
  }
  Result<std::vector<IncidentAccount>> incident_accounts(std::string_view id) override {
    return sqlite_->incident_accounts(id);
  }
  Result<std::vector<Incident>> incidents_for_account(std::string_view account) override {
    return sqlite_->incidents_for_account(account);
  }
  Result<std::vector<Block>> blocks(TimePoint now) override { return sqlite_->blocks(now); }
  WriteTicket put_owner_action(std::string key, std::string account, TimePoint at) override {
    return sqlite_->put_owner_action(std::move(key), std::move(account), at);
  }
  Result<std::optional<TimePoint>> owner_action(std::string_view key) override {
    return sqlite_->owner_action(key);
  }
  Result<std::optional<WriteTicket>> claim_owner_action(std::string key, std::string account,
                                                        TimePoint at) override {
    return sqlite_->claim_owner_action(std::move(key), std::move(account), at);
  }
  Result<std::optional<WriteTicket>> claim_owner_action_for_writes(std::string key,
                                                                   std::string account,
                                                                   TimePoint at) override {
    return sqlite_->claim_owner_action_for_writes(std::move(key), std::move(account), at);
  }
  WriteTicket put_operator(OperatorRecord r) override {
    return sqlite_->put_operator(std::move(r));
  }
  WriteTicket delete_operator(std::string name) override {
    return sqlite_->delete_operator(std::move(name));
  }
  Result<std::optional<OperatorRecord>> operator_account(std::string_view name) override {
    return sqlite_->operator_account(name);
  }
  Result<std::vector<OperatorRecord>> operator_accounts() override {
    return sqlite_->operator_accounts();
  }
  WriteTicket append_audit(AuditRecord r) override { return sqlite_->append_audit(std::move(r)); }
  Result<std::vector<AuditRecord>> audit(const AuditQuery& q) override { return sqlite_->audit(q); }
  Result<std::optional<TotpRecord>> totp(std::string_view account) override {
    return sqlite_->totp(account);
  }
  Result<std::vector<OutboxItem>> due_outbox(TimePoint now, std::size_t limit) override {
    return sqlite_->due_outbox(now, limit);
  }
  Result<OutboxCounts> outbox_counts() override { return sqlite_->outbox_counts(); }

 private:
  // What a ForeignWrite carries.
  enum Target : std::uint8_t { kActivity = 1, kProfile = 2, kDropActivity = 3, kRefused = 4 };

  EmbeddedStore(std::string data_dir, EmbeddedStoreOptions options);
  Status open_journals();
  Status fill_profile_filter();
  // SqliteStoreOptions::move_legacy_rows: the upgrade to schema 6.
  Status move_legacy_rows(LegacyRows& rows);

  // BatchParticipant: on the writer thread.
  Status stage(const ForeignWrite& w) override;
  Status write_staged() override;
  void publish_staged() override;
  void discard_staged() override;
  void after_batch() override;

  const std::string data_dir_;
  EmbeddedStoreOptions options_;
  SystemClock system_clock_;
  const Clock& clock_;

  // The writer's: the newest retention cut staged in the batch, and the one
  // of the last published batch, applied by after_batch().
  std::optional<TimePoint> staged_drop_, drop_;
  std::atomic<std::uint64_t> partitions_dropped_{0};
  std::atomic<std::uint64_t> retention_failures_{0};

  // Which accounts have a profile, approximately: filled from the profile
  // journal at open (its first layer sized for twice its accounts, at least
  // kMinProfileFilter; it grows as accounts are added, so ten million new
  // accounts do not turn it into a "maybe" for every one) and on every
  // put_profile, before the write is queued.
  // profile() of an account it rules out returns the empty profile without
  // reading the journal: the first login of an account costs no read (a
  // journal read of an unknown account, its tail and each run's own filter,
  // measured 0.37-0.47 us with 3 runs on a busy 2-core machine, against the
  // filter's one cache line). Profiles are
  // never deleted, so it never rules out a stored one.
  static constexpr std::size_t kMinProfileFilter = 1 << 20;
  std::unique_ptr<GrowingBloomFilter> profile_filter_;
  std::atomic<std::uint64_t> profile_reads_skipped_{0};

  std::unique_ptr<journal::ActivityJournal> activity_;
  std::unique_ptr<journal::ProfileJournal> profiles_;
  // Last: its writer stops before the journals close (see the destructor).
  std::unique_ptr<SqliteStore> sqlite_;
};

}  // namespace mamori::store

#endif  // MAMORI_STORE_EMBEDDED_EMBEDDED_STORE_H_
