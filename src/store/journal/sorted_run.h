#ifndef MAMORI_STORE_JOURNAL_SORTED_RUN_H_
#define MAMORI_STORE_JOURNAL_SORTED_RUN_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/journal/file_util.h"

namespace mamori::store::journal {

// One record of a keyed journal, as an index holds it: the key's 64-bit
// fingerprint, the record's time (ms since the epoch) and where its frame
// starts in the journal file. 24 bytes, little-endian on disk (the build
// refuses a big-endian target).
struct IndexEntry {
  std::uint64_t fp = 0;
  std::int64_t time_ms = 0;
  std::uint64_t offset = 0;

  friend bool operator==(const IndexEntry&, const IndexEntry&) = default;
};
static_assert(sizeof(IndexEntry) == 24);

// The order of a run: fingerprint ascending, then time descending, then
// offset descending (of one key, the newest first; of one time, the record
// appended last first).
inline bool index_order(const IndexEntry& a, const IndexEntry& b) {
  if (a.fp != b.fp) return a.fp < b.fp;
  if (a.time_ms != b.time_ms) return a.time_ms > b.time_ms;
  return a.offset > b.offset;
}

// Sorts `entries` in index_order, in slices (store/journal/pass_slices.h):
// chunks of a few thousand sorted apart, then merged pairwise.
void sort_index(std::vector<IndexEntry>& entries);

// The entries of `fp` in `sorted` (in index_order): an interpolation
// search, since fingerprints are uniform hashes (a few probes where a
// binary search over a million entries takes twenty, each a cache miss on
// a run's mapping), that falls back to a binary search after a few rounds
// for keys that are not spread evenly; then a galloping search for the
// end of the key's entries.
std::span<const IndexEntry> equal_fp_range(std::span<const IndexEntry> sorted, std::uint64_t fp);

// What a run's footer says about it.
struct RunInfo {
  std::uint64_t journal_first = 0, journal_end = 0;  // the journal bytes it indexes: [first, end)
  std::int64_t min_time_ms = 0, max_time_ms = 0;     // of its entries (0, 0 when it has none)
  std::uint64_t entries = 0;
  std::uint64_t keys = 0;        // distinct fingerprints
  std::uint32_t level = 0;       // 0: made from a journal's tail; n + 1: a merge of level-n runs
  std::uint32_t key_scheme = 0;  // the owner's name for its fingerprint function
};

// An immutable index file over a range of one journal:
//
//   [entries: IndexEntry × n, in index_order]
//   [Bloom filter: 64-byte lines]
//   [footer: magic, version, RunInfo, line count, CRC of the footer]
//
// The Bloom filter is blocked: each distinct fingerprint sets 7 bits in one
// 64-byte line (one cache line per lookup), about 10 bits per key (about 1 %
// false positives); lines are chosen and bits set as core/bloom_filter.h
// does. A run is written to NAME.tmp, fsync'ed, renamed to NAME and its
// directory fsync'ed (write_run, merge_runs): a crash leaves either the
// whole run or a .tmp to delete.
//
// Read through a read-only shared mmap of the whole file. Thread-safe: every
// method is const and the mapping never changes; the file may be unlinked
// while a SortedRun is open (the mapping stays valid until destruction).
class SortedRun {
 public:
  static constexpr std::uint64_t kMagic = 0x4e55524c4e524a4dULL;  // "MJRNLRUN"
  static constexpr std::uint32_t kVersion = 1;
  static constexpr std::size_t kFooterBytes = 96;

  // Maps `path` and checks its footer: magic, version, CRC, and that the
  // sizes it states add up to the file's. Fails with `store_open_failed`
  // naming the file and what is wrong.
  static Result<std::shared_ptr<const SortedRun>> open(const std::string& path);

  ~SortedRun();
  SortedRun(const SortedRun&) = delete;
  SortedRun& operator=(const SortedRun&) = delete;

  const std::string& path() const { return path_; }
  const RunInfo& info() const { return info_; }
  std::uint64_t file_bytes() const { return size_; }

  // Every entry, in index_order.
  std::span<const IndexEntry> entries() const { return {entries_, std::size_t(info_.entries)}; }
  // False: `fp` is surely not in the run.
  bool may_contain(std::uint64_t fp) const;
  // The entries of `fp`, newest first; empty when it has none (the Bloom
  // filter first, then equal_fp_range).
  std::span<const IndexEntry> find(std::uint64_t fp) const;

 private:
  SortedRun(std::string path, const void* map, std::uint64_t size, RunInfo info,
            const IndexEntry* entries, const unsigned char* bloom, std::uint64_t lines);

  const std::string path_;
  const void* const map_;
  const std::uint64_t size_;
  const RunInfo info_;
  const IndexEntry* const entries_;
  const unsigned char* const bloom_;
  const std::uint64_t lines_;
};

// Writes a run from entries handed over in index_order (streamed through a
// buffer of 1 MiB; the Bloom filter is built in memory, sized for
// `max_keys`, an upper bound of the distinct fingerprints). Thread-compatible.
class SortedRunWriter {
 public:
  // Creates `path`.tmp (replacing a stale one). Fails with `store_write_failed`.
  static Result<std::unique_ptr<SortedRunWriter>> create(const std::string& path,
                                                         std::uint64_t max_keys);
  // Deletes the .tmp unless finish() succeeded.
  ~SortedRunWriter();
  SortedRunWriter(const SortedRunWriter&) = delete;
  SortedRunWriter& operator=(const SortedRunWriter&) = delete;

  // Fails with `store_write_failed` on an I/O error, and with
  // `invalid_index` when `e` is not after the previous entry in index_order
  // (an exact duplicate of the previous entry is dropped).
  Status add(const IndexEntry& e);
  // Writes the Bloom filter and the footer (`info`'s range, level and key
  // scheme; the counts and times are the writer's), fsyncs, renames the
  // file into place and fsyncs its directory. Returns the whole RunInfo.
  Result<RunInfo> finish(const RunInfo& info);

 private:
  SortedRunWriter(std::string path, File file, std::uint64_t max_keys);
  Status flush();

  const std::string path_, tmp_;
  File file_;
  std::vector<unsigned char> bloom_;
  std::uint64_t lines_;
  std::string buf_;
  std::uint64_t written_ = 0;
  RunInfo info_;
  IndexEntry last_{};
  bool finished_ = false;
};

// Writes `sorted` (in index_order) as the run `path`.
Result<RunInfo> write_run(const std::string& path, std::span<const IndexEntry> sorted,
                          const RunInfo& info);

// Merges `inputs` into one new run `path`, streaming (a heap over the
// inputs; memory: the new run's Bloom filter and one buffer). The result
// covers the inputs' journal ranges, which must be adjacent in the order
// given (REQUIRES: inputs[i].journal_end == inputs[i + 1].journal_first),
// at `level`. An entry found in two inputs (the same fingerprint, time and
// offset) is kept once.
Result<RunInfo> merge_runs(const std::vector<std::shared_ptr<const SortedRun>>& inputs,
                           const std::string& path, std::uint32_t level);

}  // namespace mamori::store::journal

#endif  // MAMORI_STORE_JOURNAL_SORTED_RUN_H_
