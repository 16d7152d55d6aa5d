#ifndef MAMORI_STORE_JOURNAL_PROFILE_JOURNAL_H_
#define MAMORI_STORE_JOURNAL_PROFILE_JOURNAL_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
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

struct ProfileJournalOptions {
  // The indexer indexes the tail this often, and at once when it holds
  // `index_entries` entries; as ActivityJournalOptions, on what the cores
  // leave over until the tail or the lag passes its bound.
  Duration index_every = std::chrono::seconds(1);
  std::size_t index_entries = 65536;
  std::size_t merge_fan_in = 8;
  std::size_t max_segment_entries = 65536;
  // As ActivityJournalOptions: the account's fingerprint (empty:
  // hash_bytes) and its name, kept in the index runs.
  std::function<std::uint64_t(std::string_view account)> fingerprint;
  std::uint32_t key_scheme = 1;
  // Whether to collect garbage is decided each time the journal has
  // doubled since the last decision, from this size on.
  std::uint64_t gc_min_bytes = std::uint64_t{1} << 20;
  // Run the indexer on a thread of its own. Off: the owner calls index().
  bool background_indexer = true;
};

struct ProfileJournalStats {
  std::uint64_t appended = 0;  // profile versions published since open
  std::uint64_t tail_entries = 0;
  std::uint64_t runs = 0;
  std::uint64_t bytes = 0;  // the current generation's journal and runs
  std::uint64_t generation = 0;
  std::uint64_t collections = 0;   // garbage collections finished since open
  std::uint64_t delta_copied = 0;  // versions the writer copied at the switches
  std::uint64_t index_failures = 0;
  std::uint64_t index_raises = 0;  // the indexer raised from SCHED_IDLE (the lag bound)
};

// Account profiles on the journal's machinery: one KeyedJournal
// (store/journal/keyed_journal.h) that never expires, each record an
// account name and its profile (store/profile_codec.h), read latest-wins:
// a profile is written whole and the last version written is the profile.
//
// Garbage collection: superseded versions pile up as profiles change. Each
// time the journal has doubled since the last look (from gc_min_bytes),
// the indexer merges its runs into one, which counts the distinct
// fingerprints; when more than half the entries are superseded versions it
// copies the live profiles, in fingerprint order, into a new generation
// (`<dir>/gen-N+1/`, beside `<dir>/gen-N/`). The writer finishes the switch
// at its next batch: it copies what was appended since the copy began,
// then names the new generation in `<dir>/CURRENT` (written to a
// temporary, fsync'ed, renamed, the directory fsync'ed), and the old
// generation is deleted. A crash before the rename leaves the old one
// current, after it the new one; open deletes the other.
//
// Durability as KeyedJournal's. Threads as ActivityJournal's: the writer
// API from one thread at a time, reads from any thread, the indexer on its
// own thread (or index() on the owner's).
class ProfileJournal {
 public:
  // Opens (creating if needed) `dir`. Fails with `store_open_failed`, also
  // when `<dir>/CURRENT` is missing while generations exist (nothing is
  // deleted then). `clock` must outlive the journal.
  static Result<std::unique_ptr<ProfileJournal>> open(const std::string& dir, const Clock& clock,
                                                      ProfileJournalOptions options = {});
  ~ProfileJournal();
  ProfileJournal(const ProfileJournal&) = delete;
  ProfileJournal& operator=(const ProfileJournal&) = delete;

  std::uint64_t fingerprint(std::string_view account) const;

  // A record: [u8 version 1][varint length][account][encode_profile(p)],
  // framed, appended to `out`. Fails with `invalid_profile` (nothing
  // appended) when the account is longer than 65,535 bytes or the record
  // longer than a frame.
  static Status encode(std::string_view account, const AccountProfile& p, std::string& out);

  // ---- the writer (as ActivityJournal's) ----
  Status stage(std::string_view account, const AccountProfile& p);
  // REQUIRES: `framed` is encode(account, ...) and fp == fingerprint(account).
  Status stage_encoded(std::uint64_t fp, std::string_view framed);
  Status write_staged();
  void publish_staged();
  Status discard_staged();

  // ---- the indexer ----
  // One pass: deletes a generation switched away from, indexes the tail,
  // merges runs, and decides on and prepares a garbage collection.
  Status index();

  // ---- readers ----
  // The account's latest profile; an empty one when it has none. Fails with
  // `store_read_failed`.
  Result<AccountProfile> profile(std::string_view account) const;

  // Calls fn with the fingerprint of every account that has a profile, some
  // more than once: the index runs' keys, then those of the records after
  // them (for a filter of the accounts with a profile, built at open).
  // Fails with `store_read_failed`.
  Status for_each_fingerprint(const std::function<void(std::uint64_t fp)>& fn) const;

  ProfileJournalStats stats() const;
  // Calls `fn` with each account's current profile, in account order;
  // stops at the first error, `fn`'s or a read's (mamori store copy).
  Status for_each(
      const std::function<Status(std::string_view account, const AccountProfile&)>& fn) const;

 private:
  struct Generation;
  struct Pending;

  ProfileJournal(std::string dir, const Clock& clock, ProfileJournalOptions options);
  KeyedJournalOptions journal_options() const;
  Result<std::shared_ptr<Generation>> open_generation(std::uint64_t number);
  std::shared_ptr<Generation> current() const;
  Status collect(const std::shared_ptr<Generation>& from);
  // The writer's: finishes a prepared switch. Logs and abandons it on failure.
  void finish_switch();
  Status write_current(std::uint64_t number);

  const std::string dir_;
  const Clock& clock_;
  const ProfileJournalOptions options_;

  // The writer's.
  std::shared_ptr<Generation> writer_gen_;
  std::string scratch_;
  bool batch_open_ = false;  // something staged or written, not yet published or discarded

  mutable std::mutex gen_mu_;
  std::shared_ptr<Generation> current_;  // what readers read

  // A prepared switch, handed from the indexer to the writer.
  std::mutex pending_mu_;
  std::unique_ptr<Pending> pending_;
  std::atomic<bool> pending_ready_{false};
  std::vector<std::shared_ptr<Generation>> retired_;  // guarded by pending_mu_: to delete

  std::mutex index_mu_;          // one index() at a time
  std::uint64_t next_gc_check_;  // the indexer's
  std::atomic<std::uint64_t> collections_{0}, delta_copied_{0};
  std::atomic<std::uint64_t> appended_{0};

  IndexOutcome outcome_{"profile journal"};
  IndexerThread indexer_;  // last: stopped first
};

}  // namespace mamori::store::journal

#endif  // MAMORI_STORE_JOURNAL_PROFILE_JOURNAL_H_
