#ifndef MAMORI_STORE_SQLITE_SQLITE_STORE_H_
#define MAMORI_STORE_SQLITE_SQLITE_STORE_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/result.h"
#include "store/commit_queue.h"
#include "store/commits.h"
#include "store/outbox_store.h"
#include "store/record_store.h"
#include "store/records.h"
#include "store/sqlite/data_dir_lock.h"

struct sqlite3;
struct sqlite3_stmt;

namespace mamori::store {

// A write of another durable resource that joins SqliteStore's
// transactions: queued with the store's own writes, in order, and handed to
// the BatchParticipant on the writer thread. What `target` and the fields
// mean is the participant's business (EmbeddedStore's journals: an encoded
// journal record, its key and time). The bytes are made by the thread that
// queues, so the writer only copies them.
struct ForeignWrite {
  std::uint8_t target = 0;
  std::uint64_t fp = 0;
  std::int64_t time_ms = 0;
  std::string bytes;
};

// The other side of SqliteStore's batches (EmbeddedStore's journals). The
// writer runs each batch as: BEGIN; the store's writes applied and the
// ForeignWrites staged, in queue order; write_staged(); COMMIT;
// publish_staged(). On any failure it rolls back and calls
// discard_staged(), and the whole batch fails. A batch of ForeignWrites
// alone skips BEGIN and COMMIT. after_batch() runs between
// two batches, with nothing staged. Every call on the writer thread.
class BatchParticipant {
 public:
  virtual ~BatchParticipant() = default;
  virtual Status stage(const ForeignWrite& w) = 0;
  virtual Status write_staged() = 0;
  virtual void publish_staged() = 0;
  virtual void discard_staged() = 0;
  virtual void after_batch() = 0;
};

// The rows of the schema 5 tables that schema 6 moved out of SQLite (the
// activity log and the profiles, now journals), read once by the upgrade.
// Streamed, one row at a time. Fails with `store_open_failed`.
class LegacyRows {
 public:
  virtual ~LegacyRows() = default;
  virtual Result<std::uint64_t> activity_count() = 0;
  // Oldest first (by time, then as appended). Stops at fn's first error.
  virtual Status for_each_activity(const std::function<Status(const ActivityRecord&)>& fn) = 0;
  virtual Result<std::uint64_t> profile_count() = 0;
  virtual Status for_each_profile(
      const std::function<Status(std::string_view account, const AccountProfile&)>& fn) = 0;
};
// Moves the legacy rows elsewhere; returns ok once they are durable there.
using MoveLegacyRows = std::function<Status(LegacyRows& rows)>;

struct SqliteStoreOptions {
  // How long a connection waits for a lock held by another connection (a
  // checkpoint, another process on the same file) before the statement fails.
  std::chrono::milliseconds busy_timeout{5000};
  // Idle read connections kept open for reuse; more are opened on demand
  // while that many readers run at once, and closed when they finish.
  std::size_t max_idle_readers = 8;
  // The WAL is copied back into the database by a thread of its own once it
  // holds this many pages: passively first (commits go on), then the frames
  // committed meanwhile with commits held back briefly, so the log starts
  // over and stays near this size. A page changed by many commits meanwhile
  // is written back once.
  int checkpoint_pages = 8192;  // 32 MiB of 4 KiB pages
  // Joins every batch (see BatchParticipant); null: none. Must outlive the
  // store.
  BatchParticipant* participant = nullptr;
  // The upgrade from schema 5 to 6 hands it the rows of the tables it drops
  // (see LegacyRows), under the data dir's lock, before the drop commits.
  // Empty: an upgrade that would drop rows fails the open.
  MoveLegacyRows move_legacy_rows;
};

// The records and the outbox of the embedded store, and its commit
// sequence: one SQLite database, `<data_dir>/mamori.db`, in WAL mode with
// synchronous=NORMAL, so a committed write survives kill -9 of the process
// (not a power cut before the next checkpoint). The activity log and the
// profiles are not here: EmbeddedStore (store/embedded/embedded_store.h)
// keeps them in journals whose writes join this store's transactions as
// its BatchParticipant.
//
class SqliteStore final : public Commits, public RecordStore, public OutboxStore {
 public:
  // Creates `data_dir` if needed, takes its lock (DataDirLock) and opens
  // (creating on first use) its `mamori.db`, creating or checking the schema
  // and the data dir's identity: a database that is missing, empty or not
  // this data dir's while `<data_dir>/mamori.id` says the data dir had one is
  // refused. Fails with code `data_dir_in_use` (another process has the data
  // dir) or `store_open_failed`, naming the path and the cause.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& data_dir);
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& data_dir,
                                                   const SqliteStoreOptions& options);

  // What open() would refuse in `data_dir`, checked without taking the data
  // dir's lock or changing anything, so it can run beside the daemon that
  // holds it (mamorid --check-config): the directory usable, the database
  // present where the data dir had one, not newer than this build, and this
  // data dir's own. Fails with `store_open_failed`.
  static Status check(const std::string& data_dir);

  // The schema this build writes (PRAGMA user_version). Older ones are
  // upgraded on open; a newer one fails the open.
  // Version 6 moved the activity log and the profiles into journals.
  static constexpr int kSchemaVersion = 9;

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  const std::string& path() const { return path_; }

  // ---- writes ----
  // A participant's write, in the commit sequence with the others.
  WriteTicket enqueue_foreign(ForeignWrite w);
  WriteTicket put_lock(std::string account, LockInfo lock) override;
  // Changes nothing for an account that has no record.
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
  WriteTicket prune_outbox(TimePoint before) override;
  // Enqueueing an id that exists changes nothing.
  WriteTicket enqueue_outbox(OutboxItem item) override;
  WriteTicket outbox_delivered(std::string id, TimePoint when) override;
  WriteTicket outbox_retry(std::string id, TimePoint next_attempt, std::string error) override;
  WriteTicket outbox_failed(std::string id, TimePoint when, std::string error) override;

  // ---- commits (CommitQueue's) ----
  // A ticket this store never issued fails at once with `invalid_ticket`.
  // The last CommitQueue::kMaxFailedRuns runs of failed commits are
  // remembered for late calls; a ticket older than those reads as failed.
  Status wait(WriteTicket t) override;
  // Blocks until every write queued before the call has been committed (or
  // its commit failed) and the on_committed callbacks of those commits have
  // run; returns the last of those tickets (0: none was ever queued). Unlike
  // destruction, it leaves the store usable by whoever still holds it.
  WriteTicket drain();
  void on_committed(WriteTicket t, std::function<void(const Status&)> done) override;
  // Commits everything queued and stops the writer, as destruction does
  // first, for an owner that must close the participant before the store.
  // REQUIRES: no write in flight or after.
  void stop_writer() { commits_.stop(); }
  WriteTicket committed() const override { return commits_.committed(); }
  Status status(const WriteSpan& span) const override;
  std::uint64_t on_failed_commit(std::function<void(const WriteSpan&, const Error&)> fn) override;
  void remove_failure_listener(std::uint64_t id) override;
  void together(const std::function<void()>& queue_writes) override {
    commits_.together(queue_writes);
  }

  // Metrics: transactions committed, and transactions that failed.
  std::uint64_t batches_committed() const { return commits_.batches_committed(); }
  std::uint64_t batches_failed() const { return commits_.batches_failed(); }
  // Writes carried by the transactions that failed.
  std::uint64_t writes_failed() const { return commits_.writes_failed(); }
  // False from a failed commit until the next one that succeeds.
  bool available() const { return commits_.available(); }
  // Checkpoints that copied the WAL into the database and let it start over.
  std::uint64_t checkpoints() const { return checkpoints_.load(std::memory_order_relaxed); }
  // Appends the store's metrics (Prometheus text): writes queued, commits
  // (by result) and checkpoints.
  void render_metrics(std::string& out) const;

  // ---- reads ----
  // Lists come back ordered: locked_accounts by account; list_entries by
  // creation time; incident_accounts by first_seen; blocks by since.
  // Strings in `reasons` and `sources` must not contain commas (they are
  // stored comma-joined).
  Result<std::optional<AccountRecord>> account(std::string_view account) override;
  Result<std::vector<AccountRecord>> locked_accounts() override;
  Result<std::vector<ListEntry>> list_entries() override;
  Result<std::vector<Incident>> incidents(TimePoint since) override;
  Result<std::optional<Incident>> incident(std::string_view id) override;
  Result<std::vector<IncidentAccount>> incident_accounts(std::string_view id) override;
  Result<std::vector<Incident>> incidents_for_account(std::string_view account) override;
  Result<std::vector<Block>> blocks(TimePoint now) override;
  Result<std::vector<OutboxItem>> due_outbox(TimePoint now, std::size_t limit) override;
  Result<OutboxCounts> outbox_counts() override;

  WriteTicket put_totp(TotpRecord r) override;
  WriteTicket delete_totp(std::string account) override;
  Result<std::optional<TotpRecord>> totp(std::string_view account) override;
  WriteTicket put_owner_action(std::string key, std::string account, TimePoint at) override;
  Result<std::optional<TimePoint>> owner_action(std::string_view key) override;
  // One process holds the data dir: a read, then the queued record.
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

 private:
  struct WriteOp;         // a queued operation of any role (sqlite_internal.h)
  struct ReadConnection;  // a read connection and its prepared statements

  SqliteStore(std::string path, SqliteStoreOptions options, sqlite3* writer_db);

  // On the writer thread (CommitQueue's hooks): one transaction of `batch`,
  // and what comes between two (checkpoint, idle snapshots).
  Status apply_batch(const std::vector<WriteOp>& batch);
  void between_batches();

  // Runs `fn` with read statement `which` of a pooled connection, then resets
  // the statement and returns the connection to the pool.
  Status with_read_stmt(int which, const std::function<Status(sqlite3_stmt*)>& fn);

  // The data dir's lock, held while the store is open: first, so that it is
  // released last.
  std::optional<DataDirLock> claim_;
  const std::string path_;
  const SqliteStoreOptions options_;

  // Writer: connection and statements used only by the writer thread (and
  // by the constructor/destructor around it).
  sqlite3* writer_db_ = nullptr;
  std::vector<sqlite3_stmt*> writer_stmts_;

  // The queue, the writer thread and what it publishes after each commit.
  CommitQueue<WriteOp> commits_;

  std::mutex readers_mu_;
  std::vector<std::unique_ptr<ReadConnection>> idle_readers_;  // guarded by readers_mu_

  // Passive checkpoint passes before the writer takes over, and the frames
  // a pass may leave for it.
  static constexpr int kCheckpointPasses = 4;
  static constexpr int kCheckpointTail = 256;
  void checkpoint_loop(sqlite3* db);
  void finish_checkpoint();
  void end_idle_snapshots();
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_stopping_ = false;  // guarded by checkpoint_mu_
  bool checkpoint_wanted_ = false;    // guarded by checkpoint_mu_
  std::atomic<bool> restart_wanted_{false};  // a passive pass is done; the writer finishes
  std::atomic<std::uint64_t> checkpoints_{0};
  std::thread checkpoint_thread_;
};

}  // namespace mamori::store

#endif  // MAMORI_STORE_SQLITE_SQLITE_STORE_H_
