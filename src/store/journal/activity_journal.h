#ifndef MAMORI_STORE_JOURNAL_ACTIVITY_JOURNAL_H_
#define MAMORI_STORE_JOURNAL_ACTIVITY_JOURNAL_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "store/journal/indexer.h"
#include "store/journal/keyed_journal.h"
#include "store/records.h"

namespace mamori::store::journal {

struct ActivityJournalOptions {
  // The indexer indexes every partition's tail this often, and at once when
  // a tail holds `index_entries` entries. It runs on what the cores leave
  // over (store/journal/indexer.h), and at an ordinary priority when a tail
  // holds `index_entries` or no pass has begun for twice `index_every`.
  Duration index_every = std::chrono::seconds(1);
  std::size_t index_entries = 65536;
  // A partition not appended to for this long (by the clock) is merged into
  // one run.
  Duration full_merge_after = std::chrono::hours(1);
  std::size_t merge_fan_in = 8;
  std::size_t max_segment_entries = 65536;
  // The account's 64-bit fingerprint, which the index is kept by; empty:
  // core/hash.h's hash_bytes. Records of another account with the same
  // fingerprint are skipped on reading.
  std::function<std::uint64_t(std::string_view account)> fingerprint;
  // The name of `fingerprint`, kept in every index run: change it with the
  // function, and the runs made with the old one are rebuilt at open.
  std::uint32_t key_scheme = 1;
  // Run the indexer on a thread of its own. Off: the owner calls index().
  bool background_indexer = true;
  // activity() asks the kernel for the pages of every entry it will read
  // before reading the first (KeyedJournal::prefetch): an account's entries
  // of 90 days lie in 90 partitions, and a journal bigger than the page
  // cache would otherwise make a read wait on the disk once per entry.
  bool prefetch_reads = true;
};

// Counts for metrics.
struct ActivityJournalStats {
  std::uint64_t appended = 0;      // entries published since open
  std::uint64_t tail_entries = 0;  // entries not yet in an index run
  std::uint64_t runs = 0;
  std::uint64_t bytes = 0;  // journals and runs on disk
  std::size_t partitions = 0;
  Duration index_lag{0};             // age of the oldest un-indexed entry (0: none)
  std::uint64_t index_failures = 0;  // index and merge passes that failed
  std::uint64_t index_raises = 0;    // the indexer raised from SCHED_IDLE (the lag bound)
};

// The activity log as an append-only journal in day partitions:
// `<dir>/YYYYMMDD/` holds the KeyedJournal (store/journal/keyed_journal.h)
// of the entries whose own time falls on that UTC day (a replay writes old
// days), each record an encoded ActivityRecord (store/journal/
// activity_codec.h) keyed by the fingerprint of its account.
//
// Durability as KeyedJournal's: an entry is durable (kill -9, not a power
// cut) once write_staged() returned ok. Its index is built behind it by the
// indexer thread, every `index_every` or sooner when a tail fills up, and
// every read merges the un-indexed tail, so no read misses a published
// entry. Retention drops whole partitions (drop_before).
//
// Threads: the writer API (stage*, write_staged, publish_staged,
// discard_staged, drop_before) from one thread at a time, the owner's store
// writer; reads and stats from any thread; the indexer runs on its own
// thread (or index() on the owner's). No read holds a lock across I/O.
class ActivityJournal {
 public:
  // Opens (creating if needed) the journal in `dir` and every partition in
  // it, recovering each (KeyedJournal::open); starts the indexer. Fails with
  // `store_open_failed`. `clock` must outlive the journal.
  static Result<std::unique_ptr<ActivityJournal>> open(const std::string& dir, const Clock& clock,
                                                       ActivityJournalOptions options = {});
  // Stops the indexer. What is published is durable; the tails are rebuilt
  // at the next open.
  ~ActivityJournal();
  ActivityJournal(const ActivityJournal&) = delete;
  ActivityJournal& operator=(const ActivityJournal&) = delete;

  const std::string& dir() const { return dir_; }
  std::uint64_t fingerprint(std::string_view account) const;

  // ---- the writer ----

  // Adds `r` to the batch, in the partition of its day (created when
  // missing). Fails with `invalid_activity` (see encode_activity) or when
  // its time is outside the years 0-9999, and with `store_write_failed`
  // when the partition cannot be created; nothing is staged then.
  Status stage(const ActivityRecord& r);
  // The same for a record a request thread encoded (encode_activity), so
  // the writer only copies bytes. REQUIRES: `framed` is
  // encode_activity(r) and fp == fingerprint(r.account), time == r.time.
  Status stage_encoded(std::uint64_t fp, TimePoint time, std::string_view framed);
  // Writes the batch to each partition it touches. On failure every
  // partition is truncated back (nothing of the batch remains) and the
  // error returned (`store_write_failed`).
  Status write_staged();
  // Makes the written batch visible to readers. REQUIRES: write_staged() ok.
  void publish_staged();
  // Drops the batch, written or not; nothing becomes visible.
  Status discard_staged();
  // Retention: deletes every partition whose whole day is before `before`
  // (a day that ends after it is kept whole). Readers that are reading a
  // partition as it goes finish their read. Returns the partitions dropped;
  // fails with `store_write_failed` when a directory cannot be removed.
  // May wait for an index pass of a partition it drops. REQUIRES: nothing
  // staged.
  Result<std::size_t> drop_before(TimePoint before);

  // ---- the indexer ----

  // One pass: indexes each partition's tail, merges runs (tiered) and fully
  // merges partitions idle for `full_merge_after`. The background thread
  // calls it; an owner without one calls it itself. Returns the first
  // error (the pass goes on with the other partitions).
  Status index();

  // ---- readers ----

  // The account's entries with time >= since, newest first, at most
  // `limit` (Store::activity's contract). Fails with `store_read_failed`.
  Result<std::vector<ActivityRecord>> activity(std::string_view account, TimePoint since,
                                               std::size_t limit) const;
  // Calls `fn` with each failed login result (type login_result, success
  // false) with time >= since, oldest first; of more than `limit`, with the
  // newest `limit` (of one time, those appended last). Only time, account,
  // type, ip and success are set; the record passed is reused. Streamed
  // (Store::failed_logins_since's contract): the day partitions from
  // `since` on are scanned newest first until `limit` are found, keeping
  // each failure's time and offset only (16 bytes each, at most 2 × limit
  // at once), then each is read back in time order. Fails with
  // `store_read_failed` and stops at the first record it cannot read.
  Status failed_logins_since(TimePoint since, std::size_t limit,
                             const std::function<void(const ActivityRecord&)>& fn) const;

  ActivityJournalStats stats() const;
  // Calls `fn` with every published entry, partition by partition (oldest
  // day first), in append order within a day; stops at the first error,
  // `fn`'s or a read's (mamori store copy).
  Status for_each(const std::function<Status(const ActivityRecord&)>& fn) const;
  // The partitions' days, oldest first, as "YYYYMMDD".
  std::vector<std::string> partition_names() const;

 private:
  struct Partition;
  using Partitions = std::vector<std::shared_ptr<Partition>>;  // by day, oldest first

  ActivityJournal(std::string dir, const Clock& clock, ActivityJournalOptions options);
  KeyedJournalOptions journal_options() const;
  Result<std::shared_ptr<Partition>> partition_for(std::int64_t day);
  std::shared_ptr<const Partitions> partitions() const;

  const std::string dir_;
  const Clock& clock_;
  const ActivityJournalOptions options_;

  // The writer's.
  std::vector<std::shared_ptr<Partition>> touched_;  // by this batch
  std::shared_ptr<Partition> last_;                  // the partition staged to last
  std::string scratch_;

  mutable std::mutex partitions_mu_;
  std::shared_ptr<const Partitions> partitions_;

  IndexOutcome outcome_{"activity journal"};
  IndexerThread indexer_;  // last: stopped first
};

// The UTC day of `ms` since the epoch, as days since the epoch.
std::int64_t day_of(std::int64_t ms);
// "YYYYMMDD" of a day; empty outside the years 0-9999.
std::string day_name(std::int64_t day);

}  // namespace mamori::store::journal

#endif  // MAMORI_STORE_JOURNAL_ACTIVITY_JOURNAL_H_
