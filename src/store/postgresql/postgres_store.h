#ifndef MAMORI_STORE_POSTGRESQL_POSTGRES_STORE_H_
#define MAMORI_STORE_POSTGRESQL_POSTGRES_STORE_H_

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "store/commit_queue.h"
#include "store/postgresql/pg_connection.h"
#include "store/postgresql/pg_url.h"
#include "store/record_changes.h"
#include "store/store.h"

namespace mamori::store {

struct PostgresStoreOptions {
  // Read connections, at most (opened on demand); [postgresql] pool.
  std::size_t pool = 8;
  // Days of activity partitions made ahead of today; checked hourly.
  int partitions_ahead = 2;
  // Partitions and retention follow this clock; null: the system clock.
  // Must outlive the store.
  const Clock* clock = nullptr;
};

// Latency of one kind of round trip, for the metrics: a Prometheus
// histogram. Thread-safe.
class RoundTripHistogram {
 public:
  static constexpr std::array<double, 12> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                      0.01,   0.025,   0.05,   0.1,   0.5,    2.5};
  void observe(std::chrono::steady_clock::duration d);
  std::uint64_t count() const;
  // Appends `name`'s buckets, sum and count with the label `labels`
  // (e.g. `op="commit"`).
  void render(std::string& out, const char* name, const char* labels) const;

 private:
  std::array<std::atomic<std::uint64_t>, kBuckets.size() + 1> counts_{};
  std::atomic<std::uint64_t> sum_ns_{0};
};

// The durable Store on a PostgreSQL 15 database shared by every node
// ([store] backend = "postgresql"): every record of the embedded store
// (store/postgresql/pg_schema.h has the tables), under the same promise.
//
// Writes: queued on the caller's thread with their statement's parameters
// already encoded, and taken by one writer thread (CommitQueue) in batches:
// a batch is BEGIN, the writes in queue order, one NOTIFY for each lock,
// list entry, block and incident it changed, COMMIT, sent in libpq's
// pipeline mode, so a whole batch of many requests' writes costs one round
// trip. The batch commits or fails as a whole: every write of a failed
// batch fails with `store_write_failed` (503 to the client), and a write is
// acknowledged only after PostgreSQL answered its COMMIT (durable as the
// server's synchronous_commit makes it). A connection lost mid-batch fails
// that batch even if the server committed it: an answer errs on the side of
// "not stored".
//
// PostgreSQL down: each batch fails at once (no connection) while the writer
// reconnects with a backoff from 100 ms to 2 s; the first batch after it
// is back commits. Each change of state is logged once and counted
// (mamori_pg_available, mamori_pg_reconnects_total). Reads fail with
// `store_read_failed` meanwhile; what the engine keeps in memory (locks,
// lists, blocks, cached profiles) keeps answering.
//
// The outbox is shared: due_outbox() claims the items it returns for 10
// minutes (their next attempt moved on, in the same statement), so several
// nodes' dispatchers do not send one notice each; the claiming node marks
// each delivered or reschedules it, and an item whose node died is sent by
// another once the claim runs out (at least once, as with one node).
//
// Reads: on a pool of at most `pool` connections opened on demand, each
// with its statements prepared; a connection that failed is dropped and
// made again by the next read. Reads see every committed write.
//
// The activity log: the `activity` table, partitioned by UTC day. The
// writer creates the partitions of the days a batch writes before its
// transaction (so a replayed or late entry finds its day), and those of
// today and `partitions_ahead` days on hourly. prune_activity(before) drops
// the partitions whose day ends at or before `before` (DROP TABLE, after the
// batch that carried it committed).
//
// Profiles: every node may write an account's profile. A write is
// conditional on the version it was built on (store/profile_store.h): one
// statement inserts the profile or replaces the stored one if that is still
// the version read, in the batch as any other write. A write that changed
// no row met another node's: once the batch has committed, the writer reads
// the stored profile back, has it merged with its own (on_profile_conflict)
// and writes the result under a version of its own, conditional again (read
// and write once more if yet another node got in between, up to
// kMaxMergeAttempts); the batch's writes are published committed only then,
// and fail with `store_write_failed` if the merge could not be stored. The
// common case costs nothing more; a conflict, two round trips of the
// writer. Versions are random 63-bit numbers (splitmix64 of a counter from
// a random start): two writes storing the same version is as likely as
// guessing one, so a copy's version names the profile it was read as.
//
// Other nodes' changes: listen() starts a thread with a connection of its
// own that LISTENs on `mamori_records` and hands each change (read back
// from the database) to a RecordChangeSink; after its connection was lost
// and made again, it asks the sink to reload everything. Notifications of
// this node's own writer are skipped.
//
// Thread-safe: every method from any thread. Destruction stops the
// listener, commits what is queued and stops the writer; no call may be in
// flight or follow it.
class PostgresStore final : public Store {
 public:
  // Connects, runs the migrations the database lacks, creates today's
  // partitions and starts the writer. Fails with `store_open_failed`, naming
  // the URL (redacted) and the cause.
  static Result<std::unique_ptr<PostgresStore>> open(const postgresql::PgUrl& url,
                                                     PostgresStoreOptions options = {});
  // What open() would refuse, changing nothing: the server reachable, the
  // schema not newer than this build.
  static Status check(const postgresql::PgUrl& url);

  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  // Starts delivering other nodes' changes to `sink` (see above) until
  // stop_listening() or destruction. REQUIRES: called once.
  void listen(RecordChangeSink* sink);
  // Stops the listener; once this returns, the sink is not called again.
  void stop_listening();

  // ---- writes ----
  WriteTicket append_activity(const ActivityRecord& r) override;
  WriteTicket prune_activity(TimePoint before) override;
  WriteTicket put_profile(std::string account, AccountProfile& profile) override;
  void on_profile_conflict(ProfileMerge merge, ProfileMerged merged) override;
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
  WriteTicket put_owner_action(std::string key, std::string account, TimePoint at) override;
  WriteTicket append_audit(AuditRecord r) override;
  WriteTicket put_operator(OperatorRecord r) override;
  WriteTicket delete_operator(std::string name) override;
  WriteTicket enqueue_outbox(OutboxItem item) override;
  WriteTicket outbox_delivered(std::string id, TimePoint when) override;
  WriteTicket outbox_retry(std::string id, TimePoint next_attempt, std::string error) override;
  WriteTicket outbox_failed(std::string id, TimePoint when, std::string error) override;
  WriteTicket prune_outbox(TimePoint before) override;

  // ---- commits ----
  Status wait(WriteTicket t) override { return commits_.wait(t); }
  void on_committed(WriteTicket t, std::function<void(const Status&)> done) override {
    commits_.on_committed(t, std::move(done));
  }
  WriteTicket committed() const override { return commits_.committed(); }
  Status status(const WriteSpan& span) const override { return commits_.status(span); }
  std::uint64_t on_failed_commit(std::function<void(const WriteSpan&, const Error&)> fn) override {
    return commits_.on_failed_commit(std::move(fn));
  }
  void remove_failure_listener(std::uint64_t id) override { commits_.remove_failure_listener(id); }
  // The writer takes no batch while `queue_writes` runs (CommitQueue), so
  // what it queues commits in one transaction.
  void together(const std::function<void()>& queue_writes) override {
    commits_.together(queue_writes);
  }
  // As CommitQueue::drain.
  WriteTicket drain() { return commits_.drain(); }
  bool available() const { return commits_.available(); }

  // ---- reads ----
  Result<std::vector<ActivityRecord>> activity(std::string_view account, TimePoint since,
                                               std::size_t limit) override;
  Status failed_logins_since(TimePoint since, std::size_t limit,
                             const std::function<void(const ActivityRecord&)>& fn) override;
  Result<AccountProfile> profile(std::string_view account) override;
  // One round trip for all (account = ANY($1)).
  Result<std::vector<AccountProfile>> profiles(const std::vector<std::string>& accounts) override;
  Result<std::optional<AccountRecord>> account(std::string_view account) override;
  Result<std::vector<AccountRecord>> locked_accounts() override;
  Result<std::vector<ListEntry>> list_entries() override;
  Result<std::vector<Incident>> incidents(TimePoint since) override;
  Result<std::optional<Incident>> incident(std::string_view id) override;
  Result<std::vector<IncidentAccount>> incident_accounts(std::string_view id) override;
  Result<std::vector<Incident>> incidents_for_account(std::string_view account) override;
  Result<std::vector<Block>> blocks(TimePoint now) override;
  // The block of `scope` and `key` whatever its end; none: there is none.
  Result<std::optional<Block>> block(std::string_view scope, std::string_view key);
  Result<std::optional<TotpRecord>> totp(std::string_view account) override;
  Result<std::optional<TimePoint>> owner_action(std::string_view key) override;
  // INSERT ... ON CONFLICT DO NOTHING RETURNING on a pool connection, its
  // own transaction, committed before it returns (a round trip): the unique
  // key decides between nodes.
  Result<std::optional<WriteTicket>> claim_owner_action(std::string key, std::string account,
                                                        TimePoint at) override;
  // The same statement, its claim marked not kept yet (no other node
  // claims the key meanwhile, and owner_action() reads it as done); the
  // returned write keeps it, in the caller's batch. A claim whose batch
  // failed is deleted by the next batch, or, when that fails too (the
  // database gone), lapses kOwnerClaimLease after it was made.
  Result<std::optional<WriteTicket>> claim_owner_action_for_writes(std::string key,
                                                                   std::string account,
                                                                   TimePoint at) override;
  static constexpr Duration kOwnerClaimLease = std::chrono::minutes(1);
  Result<std::vector<AuditRecord>> audit(const AuditQuery& q) override;
  Result<std::optional<OperatorRecord>> operator_account(std::string_view name) override;
  Result<std::vector<OperatorRecord>> operator_accounts() override;
  Result<std::vector<OutboxItem>> due_outbox(TimePoint now, std::size_t limit) override;
  Result<OutboxCounts> outbox_counts() override;

  // The activity partitions that exist, oldest first (for tests and tools).
  Result<std::vector<std::string>> activity_partitions();

  // Appends the metrics (Prometheus text): the commit queue's
  // mamori_store_*, and mamori_pg_round_trips_total{op},
  // mamori_pg_round_trip_seconds{op} (histograms), mamori_pg_errors_total{op},
  // mamori_pg_available, mamori_pg_reconnects_total,
  // mamori_pg_notifications_total, mamori_pg_partitions_dropped_total,
  // mamori_pg_profile_merges_total.
  void render_metrics(std::string& out) const;

  // One statement and its text parameters (none: NULL), as queued.
  struct Statement {
    int id = 0;
    std::vector<std::optional<std::string>> params;
  };
  struct WriteOp {
    std::vector<Statement> statements;
    std::string notify;                    // the change's NOTIFY payload; empty: none
    std::int64_t day = kNoDay;             // an activity entry's UTC day
    std::optional<TimePoint> drop_before;  // prune_activity
    // put_profile: the version its kPutProfileIfStmt stores; 0: not one.
    std::uint64_t profile_version = 0;
  };
  // Times a profile write is read back and merged again, at most, when other
  // nodes keep getting in between.
  static constexpr int kMaxMergeAttempts = 8;
  static constexpr std::int64_t kNoDay = INT64_MIN;

 private:
  class ReadPool;
  enum RoundTrip : int { kCommitTrip, kReadTrip, kDdlTrip, kRoundTripCount };

  PostgresStore(postgresql::PgUrl url, PostgresStoreOptions options);
  WriteTicket enqueue(WriteOp&& op) { return commits_.enqueue(std::move(op)); }
  WriteTicket enqueue_one(int id, std::vector<std::optional<std::string>> params,
                          std::string notify = {});

  // The writer (on its thread).
  Status apply_batch(const std::vector<WriteOp>& batch);
  Status run_pipeline(const std::vector<WriteOp>& batch);
  bool writer_connected();
  void writer_lost(const std::string& why);
  Status ensure_partitions(const std::set<std::int64_t>& days);
  void between_batches();
  Status drop_partitions(TimePoint before);
  // Stores batch op `op` (a profile write that met another node's) merged
  // with the profile stored now; on the writer's connection, after the batch
  // committed.
  Status merge_profile(const WriteOp& op);
  std::uint64_t next_profile_version();

  // Reads: runs prepared statement `id` with `params` on a pooled
  // connection; `on_row` is called with each row (PGresult, row index).
  Status read(int id, const std::vector<std::optional<std::string>>& params,
              const std::function<Status(const PGresult*, int)>& on_row);
  // read() collecting every row with `read_row(PGresult, row) -> Result<T>`;
  // read_first: the first row, none when there is none.
  template <typename T, typename ReadRow>
  Result<std::vector<T>> read_all(int id, const std::vector<std::optional<std::string>>& params,
                                  ReadRow read_row);
  template <typename T, typename ReadRow>
  Result<std::optional<T>> read_first(int id, const std::vector<std::optional<std::string>>& params,
                                      ReadRow read_row);

  void listen_loop(RecordChangeSink* sink);
  void deliver(RecordChangeSink* sink, std::string_view payload);

  const postgresql::PgUrl url_;
  PostgresStoreOptions options_;
  SystemClock system_clock_;
  const Clock& clock_;

  CommitQueue<WriteOp> commits_;

  // The writer's: its connection, the reconnect backoff, the partitions
  // known to exist, the retention cut of the batch being applied and of the
  // last one committed.
  postgresql::Conn writer_;
  std::chrono::steady_clock::time_point next_connect_{};
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point down_since_{};
  std::set<std::int64_t> known_days_;
  std::int64_t ahead_checked_day_ = kNoDay;
  std::chrono::steady_clock::time_point ahead_checked_{};
  std::optional<TimePoint> staged_drop_, drop_;
  std::atomic<int> writer_pid_{0};

  // Profile versions: next_profile_version() mixes this start with a count.
  const std::uint64_t version_start_;
  std::atomic<std::uint64_t> versions_issued_{0};
  std::mutex merge_mu_;   // held while merge_ or merged_ run
  ProfileMerge merge_;    // guarded by merge_mu_
  ProfileMerged merged_;  // guarded by merge_mu_

  std::unique_ptr<ReadPool> pool_;

  std::thread listener_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by stop_mu_

  // Metrics.
  mutable std::array<RoundTripHistogram, kRoundTripCount> latency_;
  std::array<std::atomic<std::uint64_t>, kRoundTripCount> errors_{};
  std::atomic<bool> connected_{false};
  std::atomic<std::uint64_t> reconnects_{0};
  std::atomic<std::uint64_t> notifications_{0};
  std::atomic<std::uint64_t> partitions_dropped_{0};
  std::atomic<std::uint64_t> listener_reconnects_{0};
  std::atomic<std::uint64_t> profile_merges_{0};
};

}  // namespace mamori::store

#endif  // MAMORI_STORE_POSTGRESQL_POSTGRES_STORE_H_
