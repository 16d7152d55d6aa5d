#ifndef MAMORI_STORE_JOURNAL_KEYED_JOURNAL_H_
#define MAMORI_STORE_JOURNAL_KEYED_JOURNAL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "store/journal/file_util.h"
#include "store/journal/sorted_run.h"

namespace mamori::store::journal {

// The key of a record: the fingerprint it is found by and its time.
struct RecordKey {
  std::uint64_t fp = 0;
  std::int64_t time_ms = 0;
};

struct KeyedJournalOptions {
  // Reads a record's key from its payload, to rebuild the tail at open. A
  // record whose frame is good but whose key cannot be read fails the open.
  std::function<Result<RecordKey>(std::string_view payload)> key_of;
  // The owner's name for its fingerprint function, kept in every run: a run
  // made with another one is deleted at open and rebuilt from the journal.
  std::uint32_t key_scheme = 0;
  // The most entries one tail segment holds. Segments start at
  // kMinSegmentEntries and grow with the tail: a full one is followed by
  // one twice its size, a sealed one by one the size of what it took.
  std::size_t max_segment_entries = 65536;
  // Tiered merging: this many runs of one level become one of the next.
  std::size_t merge_fan_in = 8;
  // The clock that stamps appends, for the index lag and the idle time.
  // May be null: then both read as 0.
  const Clock* clock = nullptr;
};

// Counts for metrics, read without locking the writer.
struct KeyedJournalStats {
  std::uint64_t appended = 0;      // records published since open (a rebuilt tail not counted)
  std::uint64_t tail_entries = 0;  // published records not yet in a run
  std::uint64_t runs = 0;
  std::uint64_t journal_bytes = 0;  // up to the end of the last published record
  std::uint64_t run_bytes = 0;
  std::uint64_t run_entries = 0;  // entries in runs
  std::uint64_t run_keys = 0;     // the runs' distinct fingerprints, summed over runs
  // Clock time of the first append still in the tail (none: the tail is empty).
  std::optional<TimePoint> oldest_unindexed;
  TimePoint last_append{};  // clock time of the last publish (or of the open)
};

// One append-only journal file of framed records (store/journal/frame.h)
// with an index by key: `<dir>/journal`, its sorted runs
// `<dir>/run-FIRST-END` (store/journal/sorted_run.h), and the tail, what is
// published but not yet in a run, in memory.
//
// Durability: a record is durable (survives kill -9 of the process, not a
// power cut) once write_staged() has returned ok: the bytes are in the
// kernel's page cache. The journal is fsync'ed before each run that indexes
// it is written, so a run never covers bytes a power cut can take; a run
// that does anyway is dropped at open and its range re-read. Values are
// never rewritten: the journal is the value store, the runs hold offsets.
//
// The tail: an append-only array of entries (segments of up to
// max_segment_entries) with an open-addressing hash from a fingerprint to
// its newest entry and from each entry a link to the previous entry of the
// same fingerprint. Inserting costs a probe and a few stores, no tree and no
// allocation (but a new segment when one fills up); readers walk it without
// a lock while the writer appends (atomics with acquire/release; an entry is
// never changed once it is linked). Memory: 40 bytes a tail entry (the entry
// and its hash slots); runs are mapped, not read in.
//
// Threads. Three roles, each one thread at a time:
//   - the writer: stage(), write_staged(), publish_staged(), discard_staged();
//   - the indexer: seal_and_index(), merge_runs();
//   - readers, any number, any thread: for_each_newest_first(), scan(),
//     stats().
// No lock is held across I/O on the readers' side: a reader copies the set
// of runs and segments under a mutex held for a few pointer copies, and the
// writer's write() and the indexer's sort and fsync run outside it. The
// writer takes a second mutex, which the indexer takes to seal, only while
// linking a batch's entries into the tail (no I/O).
class KeyedJournal {
 public:
  static constexpr std::size_t kMinSegmentEntries = 256;

  // Opens (creating if needed) the journal in `dir` and recovers it: deletes
  // `*.tmp`, runs that do not open (warned), runs of another key scheme,
  // runs covered by a merged run (a merge that stopped before deleting its
  // inputs) and runs after a gap; drops a run that claims more journal than
  // the file holds (a power cut; warned) and every run after it; then reads
  // the journal from the end of the last run kept, rebuilding the tail. A
  // torn or corrupt record ends the journal: the file is truncated there
  // with a warning that names it, the offset and the bytes dropped. Fails
  // with `store_open_failed`. REQUIRES: options.key_of set.
  static Result<std::unique_ptr<KeyedJournal>> open(const std::string& dir,
                                                    KeyedJournalOptions options);
  ~KeyedJournal();
  KeyedJournal(const KeyedJournal&) = delete;
  KeyedJournal& operator=(const KeyedJournal&) = delete;

  const std::string& dir() const { return dir_; }
  const std::string& journal_path() const { return path_; }

  // ---- the writer ----

  // Adds one framed record (`framed`: exactly one whole frame, as
  // encode_activity makes it) under `fp` and `time_ms` to the batch. Copies
  // the bytes. Fails with `invalid_record` (nothing staged) when `framed` is
  // not one frame. REQUIRES: no written batch waiting to be published or
  // discarded.
  Status stage(std::uint64_t fp, std::int64_t time_ms, std::string_view framed);
  std::size_t staged() const { return staged_.size(); }
  std::size_t staged_bytes() const { return batch_.size(); }

  // Writes everything staged with one pwrite() (more only after a short
  // write) at the end of the journal. On a short write or an error the file
  // is truncated back to where the batch began, the batch is dropped and the
  // error returned (`store_write_failed`): nothing of the batch remains,
  // disk full included. Should that truncation fail too, every later write
  // first retries it and fails while it does. Nothing staged: ok.
  Status write_staged();
  // Makes the written batch's entries visible to readers, once the owner's
  // whole batch is durable. REQUIRES: write_staged() succeeded.
  void publish_staged();
  // Drops the batch: staged or written (then the file is truncated back, as
  // after a failed write), nothing becomes visible. Fails with
  // `store_write_failed` when the truncation fails (see write_staged).
  Status discard_staged();

  // ---- the indexer ----

  // Seals the tail (readers go on seeing the sealed part until its run is
  // published), sorts it, fsyncs the journal, writes the run, publishes it
  // and drops the sealed part. Nothing in the tail: ok, no run (and the
  // memory of a big empty segment is given back). On failure
  // (`store_write_failed`) the sealed part stays readable and the next call
  // indexes it with whatever was appended meanwhile.
  Status seal_and_index();
  // Tiered merging: while merge_fan_in or more adjacent runs share a level,
  // merges them into one run of the next level. With `full`, merges every
  // run into one (for a journal no longer appended to). Inputs are deleted
  // once the merged run is published (readers holding them keep their
  // mappings). Returns the number of merges done; fails with
  // `store_write_failed`.
  Result<std::size_t> merge_runs(bool full);

  // ---- readers ----

  // Calls fn(entry, payload) for each record of `fp` with time >= since_ms,
  // newest first (time descending, then the later appended first), merging
  // the tail, the sealed tail and the runs; stops when fn returns false.
  // Every record published before the call began is seen. Fails with
  // `store_read_failed` when a record cannot be read (fn's error as is).
  Status for_each_newest_first(
      std::uint64_t fp, std::int64_t since_ms,
      const std::function<Result<bool>(const IndexEntry&, std::string_view payload)>& fn) const;
  // Asks the kernel to read ahead (posix_fadvise WILLNEED: the reads are
  // queued, not waited for) the records of the newest `max` entries of `fp`
  // with time >= since_ms, so that for_each_newest_first() then finds them
  // in the page cache: the records of one key, scattered over a journal
  // bigger than the cache, go to the disk together rather than one after
  // another. Returns how many were asked for. A hint: nothing is changed and
  // an error is ignored.
  std::size_t prefetch(std::uint64_t fp, std::int64_t since_ms, std::size_t max) const;
  // Reads the published record at `offset` (an IndexEntry's, or one scan()
  // handed over) into `buf`, pointing `payload` at it. Fails with
  // `store_read_failed`.
  Status read_at(std::uint64_t offset, std::string& buf, std::string_view& payload) const;
  // Calls fn(offset, payload) for each published record in file order (for
  // warm-up and migration) from offset `from` (0, or a record's offset),
  // reading through a buffer of 1 MiB; stops when fn returns false. Fails
  // with `store_read_failed`.
  Status scan(const std::function<Result<bool>(std::uint64_t offset, std::string_view payload)>& fn,
              std::uint64_t from = 0) const;

  // The runs published now, by journal range (for a reader that walks
  // every entry, such as a garbage-collecting copy).
  std::vector<std::shared_ptr<const SortedRun>> runs() const;

  KeyedJournalStats stats() const;
  std::uint64_t tail_entries() const { return tail_entries_.load(std::memory_order_relaxed); }
  // Bytes of the journal and the runs on disk.
  std::uint64_t disk_bytes() const;

 private:
  struct Segment;
  struct State;
  struct Staged {
    std::uint64_t fp;
    std::int64_t time_ms;
    std::uint64_t offset;  // in the batch
  };

  KeyedJournal(std::string dir, KeyedJournalOptions options, File file);
  Status recover();
  std::int64_t now_ms() const;
  std::shared_ptr<const State> snapshot() const;
  void set_state(std::shared_ptr<const State> s);
  // Replaces the State with a copy that `change` changed, all under
  // state_mu_ (the writer and the indexer both change it). Returns the new one.
  std::shared_ptr<const State> update_state(const std::function<void(State&)>& change);
  // Links one entry into the active segment, starting a new one when it is
  // full. REQUIRES: writer_mu_ held.
  void link(std::uint64_t fp, std::int64_t time_ms, std::uint64_t offset, std::int64_t now_ms);
  Status truncate_to(std::uint64_t size);
  std::string run_path(std::uint64_t first, std::uint64_t end) const;

  const std::string dir_, path_;
  const KeyedJournalOptions options_;
  File file_;

  // The writer's.
  std::string batch_;
  std::vector<Staged> staged_;
  bool written_ = false;
  bool broken_ = false;    // a truncation failed: the file may hold bytes past end_
  std::uint64_t end_ = 0;  // where the next batch goes
  std::uint64_t batch_start_ = 0;
  std::shared_ptr<Segment> active_;  // the segment linked into; guarded by writer_mu_

  // The indexer's.
  std::mutex indexer_mu_;
  std::uint64_t indexed_end_ = 0;  // the end of the last run

  // Shared. writer_mu_ before state_mu_.
  std::mutex writer_mu_;         // linking a batch; sealing
  mutable std::mutex state_mu_;  // the State pointer
  std::shared_ptr<const State> state_;
  std::atomic<std::uint64_t> published_end_{0};
  std::atomic<std::uint64_t> appended_{0};
  std::atomic<std::uint64_t> tail_entries_{0};
  std::atomic<std::int64_t> last_append_ms_{0};
};

}  // namespace mamori::store::journal

#endif  // MAMORI_STORE_JOURNAL_KEYED_JOURNAL_H_
