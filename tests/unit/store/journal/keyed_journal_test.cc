#include "store/journal/keyed_journal.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "store/journal/frame.h"
#include "testing/temp_dir.h"

namespace mamori::store::journal {
namespace {

namespace fs = std::filesystem;

// A test record: its key, its time and a sequence number, then filler.
struct Rec {
  std::uint64_t fp = 0;
  std::int64_t time_ms = 0;
  std::uint64_t seq = 0;
};

std::string framed(const Rec& r, std::size_t filler = 40) {
  std::string payload(24 + filler, '.');
  std::memcpy(payload.data(), &r.fp, 8);
  std::memcpy(payload.data() + 8, &r.time_ms, 8);
  std::memcpy(payload.data() + 16, &r.seq, 8);
  std::string out;
  append_frame(out, payload);
  return out;
}

Result<Rec> parse(std::string_view payload) {
  if (payload.size() < 24) return make_error("bad", "short test record");
  Rec r;
  std::memcpy(&r.fp, payload.data(), 8);
  std::memcpy(&r.time_ms, payload.data() + 8, 8);
  std::memcpy(&r.seq, payload.data() + 16, 8);
  return r;
}

KeyedJournalOptions options(std::size_t segment = 65536, std::size_t fan_in = 8,
                            const Clock* clock = nullptr, std::uint32_t scheme = 1) {
  KeyedJournalOptions o;
  o.key_of = [](std::string_view payload) -> Result<RecordKey> {
    auto r = parse(payload);
    if (!r) return r.error();
    return RecordKey{r->fp, r->time_ms};
  };
  o.key_scheme = scheme;
  o.max_segment_entries = segment;
  o.merge_fan_in = fan_in;
  o.clock = clock;
  return o;
}

std::unique_ptr<KeyedJournal> open_journal(const std::string& dir,
                                           KeyedJournalOptions o = options()) {
  auto j = KeyedJournal::open(dir, std::move(o));
  EXPECT_TRUE(j.ok()) << j.error().message;
  return j.ok() ? std::move(*j) : nullptr;
}

// Stages, writes and publishes one batch.
void append(KeyedJournal& j, const std::vector<Rec>& batch) {
  for (const Rec& r : batch) ASSERT_TRUE(j.stage(r.fp, r.time_ms, framed(r)).ok());
  ASSERT_TRUE(j.write_staged().ok());
  j.publish_staged();
}

// The sequence numbers of fp's records with time >= since, as read.
std::vector<std::uint64_t> read_seqs(const KeyedJournal& j, std::uint64_t fp,
                                     std::int64_t since = INT64_MIN) {
  std::vector<std::uint64_t> seqs;
  Status s = j.for_each_newest_first(
      fp, since, [&](const IndexEntry& e, std::string_view payload) -> Result<bool> {
        auto r = parse(payload);
        if (!r) return r.error();
        EXPECT_EQ(r->fp, fp);
        EXPECT_EQ(r->time_ms, e.time_ms);
        seqs.push_back(r->seq);
        return true;
      });
  EXPECT_TRUE(s.ok()) << s.error().message;
  return seqs;
}

// Newest first: time descending, then appended later first.
std::vector<std::uint64_t> expected_seqs(const std::vector<Rec>& all, std::uint64_t fp,
                                         std::int64_t since = INT64_MIN) {
  std::vector<Rec> mine;
  for (const Rec& r : all)
    if (r.fp == fp && r.time_ms >= since) mine.push_back(r);
  std::stable_sort(mine.begin(), mine.end(), [](const Rec& a, const Rec& b) {
    if (a.time_ms != b.time_ms) return a.time_ms > b.time_ms;
    return a.seq > b.seq;
  });
  std::vector<std::uint64_t> seqs;
  for (const Rec& r : mine) seqs.push_back(r.seq);
  return seqs;
}

std::vector<std::string> run_files(const std::string& dir) {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().starts_with("run-")) v.push_back(e.path().string());
  std::sort(v.begin(), v.end());
  return v;
}

class KeyedJournalTest : public ::testing::Test {
 protected:
  std::string dir() const { return tmp_.path() + "/kj"; }
  // Records for a few keys, times going back and forth (a replay's).
  std::vector<Rec> make(std::size_t n, std::uint64_t keys = 5) {
    std::vector<Rec> v;
    for (std::size_t i = 0; i < n; ++i, ++seq_)
      v.push_back({1 + seq_ % keys, std::int64_t(1'000'000 + (seq_ * 7919) % 5000), seq_});
    return v;
  }
  mamori::testing::TempDir tmp_;
  std::uint64_t seq_ = 0;
};

TEST_F(KeyedJournalTest, AReadMergesTheTailTheSealedTailAndTheRuns) {
  auto j = open_journal(dir(), options(/*segment=*/16, /*fan_in=*/3));
  ASSERT_TRUE(j);
  std::vector<Rec> all;
  auto add = [&](std::size_t n) {
    auto batch = make(n);
    append(*j, batch);
    all.insert(all.end(), batch.begin(), batch.end());
  };
  auto check = [&](const char* when) {
    for (std::uint64_t fp = 1; fp <= 6; ++fp) {
      EXPECT_EQ(read_seqs(*j, fp), expected_seqs(all, fp)) << when << ", key " << fp;
      EXPECT_EQ(read_seqs(*j, fp, 1'002'500), expected_seqs(all, fp, 1'002'500))
          << when << ", key " << fp;
    }
  };
  add(40);  // more than two segments of 16
  check("all in the tail");
  EXPECT_EQ(j->stats().tail_entries, 40u);
  EXPECT_EQ(j->stats().runs, 0u);

  // Sealed but not indexed: a directory where the run's .tmp goes makes the
  // run's write fail after the seal. The sealed entries stay readable.
  const std::string blocker = dir() + "/run-" + std::string(16, '0') + "-" + [&] {
    char b[17];
    std::snprintf(b, sizeof b, "%016llx", (unsigned long long)j->stats().journal_bytes);
    return std::string(b);
  }() + ".tmp";
  ASSERT_TRUE(fs::create_directory(blocker));
  EXPECT_FALSE(j->seal_and_index().ok());
  check("sealed, its run not written");
  add(10);  // a new tail beside the sealed one
  check("sealed plus a new tail");
  fs::remove(blocker);

  ASSERT_TRUE(j->seal_and_index().ok());
  EXPECT_EQ(j->stats().tail_entries, 0u);
  EXPECT_EQ(j->stats().runs, 1u);
  check("all in one run");
  for (int i = 0; i < 3; ++i) {
    add(7);
    check("a run and a tail");
    ASSERT_TRUE(j->seal_and_index().ok());
  }
  EXPECT_EQ(j->stats().runs, 4u);
  add(9);
  auto merged = j->merge_runs(false);
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  EXPECT_EQ(*merged, 1u);  // the four level-0 runs, three or more of one level
  EXPECT_EQ(j->stats().runs, 1u);
  check("merged runs and a tail");
  ASSERT_TRUE(j->seal_and_index().ok());
  ASSERT_EQ(*j->merge_runs(true), 1u);
  EXPECT_EQ(j->stats().runs, 1u);
  EXPECT_EQ(run_files(dir()).size(), 1u);
  check("one run");

  // And after reopening, the same.
  j.reset();
  j = open_journal(dir(), options(16, 3));
  ASSERT_TRUE(j);
  EXPECT_EQ(j->stats().tail_entries, 0u);
  check("reopened");
}

TEST_F(KeyedJournalTest, ReadersSeeEveryPublishedEntryWhileTheWriterAndIndexerRun) {
  // Segments of two entries: the writer starts a new one every other entry,
  // beside the indexer publishing runs.
  auto j = open_journal(dir(), options(2, 4));
  ASSERT_TRUE(j);
  constexpr std::uint64_t kKeys = 8;
  constexpr std::uint64_t kReads = 500;
  // Record n has key n % kKeys and time n; records 0..published-1 are visible.
  std::atomic<std::uint64_t> published{0};
  std::atomic<bool> stop{false}, failed{false};
  std::atomic<std::uint64_t> merges{0}, passes{0};
  std::thread writer([&] {
    for (std::uint64_t seq = 0; !stop && !failed && seq < 300'000;) {
      for (int i = 0; i < 150; ++i, ++seq) {  // more than a segment
        const Rec r{seq % kKeys, std::int64_t(seq), seq};
        if (!j->stage(r.fp, r.time_ms, framed(r)).ok()) failed = true;
      }
      if (!j->write_staged().ok()) failed = true;
      j->publish_staged();
      published.store(seq, std::memory_order_release);
      // Every third batch waits for an index pass, so that there are many
      // runs to merge; the others overlap the indexer's work.
      if (seq % 450 == 0) {
        const std::uint64_t pass = passes.load();
        while (passes.load() == pass && !stop && !failed) std::this_thread::yield();
      }
    }
  });
  std::thread indexer([&] {
    while (!stop && !failed) {
      Status s = j->seal_and_index();
      if (s) {
        auto m = j->merge_runs(false);
        if (m) merges += *m;
        if (!m) s = m.error();
      }
      ++passes;
      if (!s) {
        ADD_FAILURE() << s.error().message;
        failed = true;
      }
    }
  });
  // Reads until the indexer has merged runs a good many times.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::uint64_t reads = 0;
  for (std::uint64_t fp = 0; (reads < kReads || merges < 50) && !failed;
       ++reads, fp = (fp + 1) % kKeys) {
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "only " << merges << " merges in a minute";
      break;
    }
    const std::uint64_t before = published.load(std::memory_order_acquire);
    // The last few thousand records (every run and tail part holds some).
    const std::uint64_t since = before > 3000 ? before - 3000 : 0;
    const auto seqs = read_seqs(*j, fp, std::int64_t(since));
    // Every record of fp in [since, before), newest first, each once.
    std::vector<std::uint64_t> want;
    for (std::uint64_t s = before; s-- > since;)
      if (s % kKeys == fp) want.push_back(s);
    std::vector<std::uint64_t> seen;
    for (std::uint64_t s : seqs)
      if (s < before) seen.push_back(s);
    if (seen != want || !std::is_sorted(seqs.rbegin(), seqs.rend())) {
      ADD_FAILURE() << "key " << fp << " after " << before << " records: read " << seen.size()
                    << " of " << want.size();
      failed = true;
    }
  }
  stop = true;
  writer.join();
  indexer.join();
  ASSERT_FALSE(failed);
  EXPECT_GE(reads, kReads);
  EXPECT_GE(merges, 50u);
  // And the whole history of a key, from runs merged on the way.
  ASSERT_TRUE(j->seal_and_index().ok());
  const std::uint64_t total = published.load();
  EXPECT_EQ(read_seqs(*j, 3).size(), (total - 3 + kKeys - 1) / kKeys);
}

// A write that hits the file size limit: a real short write, then EFBIG.
TEST_F(KeyedJournalTest, AFailedWriteTruncatesBackAndLeavesNothing) {
  auto j = open_journal(dir());
  ASSERT_TRUE(j);
  const auto first = make(10);
  append(*j, first);
  const std::uint64_t size = fs::file_size(j->journal_path());

  const auto failing = make(100);
  for (const Rec& r : failing) ASSERT_TRUE(j->stage(r.fp, r.time_ms, framed(r)).ok());
  ASSERT_GT(j->staged_bytes(), 2000u);
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  const auto old_handler = signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = size + 1000;  // part of the batch fits
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  Status s = j->write_staged();
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, old_handler);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "store_write_failed");
  EXPECT_NE(s.error().message.find(j->journal_path()), std::string::npos) << s.error().message;
  EXPECT_EQ(fs::file_size(j->journal_path()), size);
  EXPECT_EQ(j->staged(), 0u);
  EXPECT_EQ(j->stats().journal_bytes, size);
  for (std::uint64_t fp = 1; fp <= 5; ++fp) EXPECT_EQ(read_seqs(*j, fp), expected_seqs(first, fp));

  // Writes go on where the failed batch would have begun.
  const auto next = make(5);
  append(*j, next);
  std::vector<Rec> all = first;
  all.insert(all.end(), next.begin(), next.end());
  j.reset();
  j = open_journal(dir());
  ASSERT_TRUE(j);
  std::size_t scanned = 0;
  ASSERT_TRUE(j->scan([&](std::uint64_t, std::string_view p) -> Result<bool> {
                 EXPECT_EQ(parse(p)->seq, all[scanned].seq);
                 ++scanned;
                 return true;
               }).ok());
  EXPECT_EQ(scanned, all.size());
}

TEST_F(KeyedJournalTest, DiscardAfterWriteTruncatesAndShowsNothing) {
  auto j = open_journal(dir());
  ASSERT_TRUE(j);
  const auto kept = make(10);
  append(*j, kept);
  const std::uint64_t size = fs::file_size(j->journal_path());
  for (const Rec& r : make(10)) ASSERT_TRUE(j->stage(r.fp, r.time_ms, framed(r)).ok());
  ASSERT_TRUE(j->write_staged().ok());
  EXPECT_GT(fs::file_size(j->journal_path()), size);
  ASSERT_TRUE(j->discard_staged().ok());
  EXPECT_EQ(fs::file_size(j->journal_path()), size);
  for (std::uint64_t fp = 1; fp <= 5; ++fp) EXPECT_EQ(read_seqs(*j, fp), expected_seqs(kept, fp));
  // Discarding what was only staged writes nothing.
  for (const Rec& r : make(3)) ASSERT_TRUE(j->stage(r.fp, r.time_ms, framed(r)).ok());
  ASSERT_TRUE(j->discard_staged().ok());
  EXPECT_TRUE(j->write_staged().ok());
  EXPECT_EQ(fs::file_size(j->journal_path()), size);
  j.reset();
  j = open_journal(dir());
  ASSERT_TRUE(j);
  EXPECT_EQ(j->stats().tail_entries, kept.size());
}

TEST_F(KeyedJournalTest, StageRefusesWhatIsNotOneFrame) {
  auto j = open_journal(dir());
  ASSERT_TRUE(j);
  std::string two = framed({1, 1, 1}) + framed({1, 1, 2});
  EXPECT_EQ(j->stage(1, 1, two).error().code, "invalid_record");
  EXPECT_FALSE(j->stage(1, 1, "short").ok());
  EXPECT_FALSE(j->stage(1, 1, framed({1, 1, 1}).substr(0, 20)).ok());
  EXPECT_EQ(j->staged(), 0u);
}

// A child appends and indexes until it is killed with SIGKILL; every batch it
// reported as published is there after reopening.
TEST_F(KeyedJournalTest, ReplayAfterSigkillKeepsEveryPublishedRecord) {
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(pipefd[0]);
    auto r = KeyedJournal::open(dir(), options(128, 3));
    if (!r) ::_exit(2);
    auto& j = **r;
    std::atomic<bool> stop{false};
    std::thread indexer([&] {
      while (!stop) {
        if (!j.seal_and_index().ok() || !j.merge_runs(false).ok()) ::_exit(3);
      }
    });
    for (std::uint64_t seq = 0;;) {
      for (int i = 0; i < 50; ++i, ++seq) {
        const Rec rec{seq % 11, std::int64_t(seq % 997), seq};
        if (!j.stage(rec.fp, rec.time_ms, framed(rec)).ok()) ::_exit(4);
      }
      if (!j.write_staged().ok()) ::_exit(5);
      j.publish_staged();
      if (::write(pipefd[1], &seq, sizeof seq) != sizeof seq) ::_exit(6);
    }
  }
  ::close(pipefd[1]);
  std::uint64_t published = 0;
  // Let it write a few thousand records (and index and merge meanwhile).
  while (published < 30'000) ASSERT_EQ(::read(pipefd[0], &published, sizeof published), 8);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped by itself: " << status;
  // Whatever the pipe still holds was published too.
  std::uint64_t more = 0;
  while (::read(pipefd[0], &more, sizeof more) == 8) published = more;
  ::close(pipefd[0]);

  // Where the records the child wrote end (a batch the kill cut short
  // leaves a torn record), then a torn record of our own.
  const std::string journal = dir() + "/journal";
  std::uint64_t whole = 0;
  {
    const auto size = fs::file_size(journal);
    std::string bytes(size, '\0');
    const int fd = ::open(journal.c_str(), O_RDONLY);
    ASSERT_EQ(::read(fd, bytes.data(), size), ssize_t(size));
    ::close(fd);
    FrameReader reader(bytes);
    std::string_view p;
    std::uint64_t offset = 0;
    while (reader.next(p, offset)) {
    }
    whole = reader.offset();
  }
  {
    const std::string torn = framed({1, 1, 999'999'999}).substr(0, 30);
    const int fd = ::open(journal.c_str(), O_WRONLY | O_APPEND);
    ASSERT_EQ(::write(fd, torn.data(), torn.size()), ssize_t(torn.size()));
    ::close(fd);
  }
  auto j = open_journal(dir(), options(128, 3));
  ASSERT_TRUE(j);
  EXPECT_EQ(fs::file_size(journal), whole) << "the torn record is truncated";
  for (const auto& e : fs::directory_iterator(dir()))
    EXPECT_FALSE(e.path().string().ends_with(".tmp")) << e.path();
  // Every record published before the kill, each once, newest first; and
  // perhaps some written after the last report.
  std::uint64_t total = 0;
  for (std::uint64_t fp = 0; fp < 11; ++fp) {
    const auto seqs = read_seqs(*j, fp);
    std::set<std::uint64_t> unique(seqs.begin(), seqs.end());
    EXPECT_EQ(unique.size(), seqs.size()) << "a record read twice, key " << fp;
    for (std::uint64_t s = fp; s < published; s += 11) EXPECT_TRUE(unique.count(s)) << s;
    total += seqs.size();
  }
  EXPECT_GE(total, published);
  std::uint64_t scanned = 0;
  ASSERT_TRUE(j->scan([&](std::uint64_t, std::string_view p) -> Result<bool> {
                 EXPECT_EQ(parse(p)->seq, scanned);
                 ++scanned;
                 return true;
               }).ok());
  EXPECT_EQ(scanned, total);
  // The tail was rebuilt and indexes like any other.
  ASSERT_TRUE(j->seal_and_index().ok());
  EXPECT_EQ(j->stats().tail_entries, 0u);
  EXPECT_EQ(read_seqs(*j, 4).size(), (total + 6) / 11);
}

TEST_F(KeyedJournalTest, ARunClaimingMoreJournalThanTheFileHoldsIsDropped) {
  auto j = open_journal(dir());
  ASSERT_TRUE(j);
  const auto first = make(20);
  append(*j, first);
  ASSERT_TRUE(j->seal_and_index().ok());
  const std::uint64_t first_end = j->stats().journal_bytes;
  const auto second = make(20);
  append(*j, second);
  ASSERT_TRUE(j->seal_and_index().ok());
  ASSERT_EQ(run_files(dir()).size(), 2u);
  j.reset();
  // A power cut that kept the second run but not all of the journal it
  // indexes: the file ends in the middle of the second batch.
  const std::uint64_t cut = first_end + (fs::file_size(dir() + "/journal") - first_end) / 2;
  fs::resize_file(dir() + "/journal", cut);
  j = open_journal(dir());
  ASSERT_TRUE(j);
  ASSERT_EQ(run_files(dir()).size(), 1u);
  EXPECT_EQ(j->stats().runs, 1u);
  // The whole records before the cut are read back into the tail.
  std::vector<Rec> kept = first;
  const std::size_t record = framed(second[0]).size();
  const std::size_t whole = std::size_t((cut - first_end) / record);
  kept.insert(kept.end(), second.begin(), second.begin() + std::ptrdiff_t(whole));
  EXPECT_EQ(j->stats().tail_entries, whole);
  EXPECT_EQ(fs::file_size(dir() + "/journal"), first_end + whole * record);
  for (std::uint64_t fp = 1; fp <= 5; ++fp) EXPECT_EQ(read_seqs(*j, fp), expected_seqs(kept, fp));
}

TEST_F(KeyedJournalTest, OpenDeletesTmpFilesAndRunsAMergeLeftBehind) {
  auto j = open_journal(dir(), options(65536, 2));
  ASSERT_TRUE(j);
  std::vector<Rec> all;
  for (int i = 0; i < 2; ++i) {
    auto batch = make(10);
    append(*j, batch);
    all.insert(all.end(), batch.begin(), batch.end());
    ASSERT_TRUE(j->seal_and_index().ok());
  }
  const auto inputs = run_files(dir());
  ASSERT_EQ(inputs.size(), 2u);
  const std::string saved = tmp_.path() + "/saved";
  fs::create_directory(saved);
  for (const auto& p : inputs) fs::copy_file(p, saved + "/" + fs::path(p).filename().string());
  ASSERT_EQ(*j->merge_runs(false), 1u);
  j.reset();
  // A merge that stopped after renaming its output, before deleting its
  // inputs; and a run being written.
  for (const auto& p : inputs) fs::copy_file(saved + "/" + fs::path(p).filename().string(), p);
  { std::ofstream(dir() + "/run-0000000000000000-00000000000000ff.tmp") << "half"; }
  ASSERT_EQ(run_files(dir()).size(), 4u);
  j = open_journal(dir(), options(65536, 2));
  ASSERT_TRUE(j);
  const auto left = run_files(dir());
  ASSERT_EQ(left.size(), 1u) << left.size();
  EXPECT_EQ(j->stats().runs, 1u);
  EXPECT_EQ(j->stats().tail_entries, 0u);
  for (std::uint64_t fp = 1; fp <= 5; ++fp) EXPECT_EQ(read_seqs(*j, fp), expected_seqs(all, fp));
}

TEST_F(KeyedJournalTest, OpenRebuildsRunsThatDoNotOpenOrUseAnotherKeyScheme) {
  auto j = open_journal(dir());
  ASSERT_TRUE(j);
  const auto all = make(30);
  append(*j, all);
  ASSERT_TRUE(j->seal_and_index().ok());
  j.reset();
  j = open_journal(dir(), options(65536, 8, nullptr, /*scheme=*/2));
  ASSERT_TRUE(j);
  EXPECT_EQ(j->stats().runs, 0u);
  EXPECT_EQ(j->stats().tail_entries, all.size());
  EXPECT_TRUE(run_files(dir()).empty());
  ASSERT_TRUE(j->seal_and_index().ok());
  const std::string run = run_files(dir()).at(0);
  j.reset();
  fs::resize_file(run, fs::file_size(run) - 1);  // a broken footer
  j = open_journal(dir(), options(65536, 8, nullptr, 2));
  ASSERT_TRUE(j);
  EXPECT_EQ(j->stats().runs, 0u);
  EXPECT_EQ(j->stats().tail_entries, all.size());
  for (std::uint64_t fp = 1; fp <= 5; ++fp) EXPECT_EQ(read_seqs(*j, fp), expected_seqs(all, fp));
}

TEST_F(KeyedJournalTest, ACorruptRecordEndsTheJournal) {
  auto j = open_journal(dir());
  ASSERT_TRUE(j);
  const auto all = make(10);
  append(*j, all);
  j.reset();
  const std::size_t record = framed(all[0]).size();
  {
    const int fd = ::open((dir() + "/journal").c_str(), O_RDWR);
    const char junk = 'X';
    ASSERT_EQ(::pwrite(fd, &junk, 1, off_t(6 * record + 30)), 1);
    ::close(fd);
  }
  j = open_journal(dir());
  ASSERT_TRUE(j);
  EXPECT_EQ(fs::file_size(dir() + "/journal"), 6 * record);
  const std::vector<Rec> kept(all.begin(), all.begin() + 6);
  for (std::uint64_t fp = 1; fp <= 5; ++fp) EXPECT_EQ(read_seqs(*j, fp), expected_seqs(kept, fp));
}

TEST_F(KeyedJournalTest, AGoodFrameWhoseKeyCannotBeReadFailsTheOpen) {
  auto j = open_journal(dir());
  ASSERT_TRUE(j);
  append(*j, make(3));
  std::string odd;
  append_frame(odd, "tiny");
  ASSERT_TRUE(j->stage(1, 1, odd).ok());
  ASSERT_TRUE(j->write_staged().ok());
  j->publish_staged();
  j.reset();
  auto r = KeyedJournal::open(dir(), options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "store_open_failed");
  EXPECT_NE(r.error().message.find("offset"), std::string::npos) << r.error().message;
}

TEST_F(KeyedJournalTest, StatsCountAppendsTailRunsAndIndexLag) {
  ManualClock clock(from_unix_ms(5'000'000));
  auto j = open_journal(dir(), options(65536, 8, &clock));
  ASSERT_TRUE(j);
  EXPECT_FALSE(j->stats().oldest_unindexed.has_value());
  append(*j, make(10));
  clock.advance(std::chrono::milliseconds(700));
  append(*j, make(5));
  KeyedJournalStats s = j->stats();
  EXPECT_EQ(s.appended, 15u);
  EXPECT_EQ(s.tail_entries, 15u);
  EXPECT_EQ(s.runs, 0u);
  EXPECT_EQ(s.journal_bytes, fs::file_size(j->journal_path()));
  ASSERT_TRUE(s.oldest_unindexed.has_value());
  EXPECT_EQ(to_unix_ms(*s.oldest_unindexed), 5'000'000);
  EXPECT_EQ(to_unix_ms(s.last_append), 5'000'700);
  ASSERT_TRUE(j->seal_and_index().ok());
  s = j->stats();
  EXPECT_EQ(s.tail_entries, 0u);
  EXPECT_EQ(s.runs, 1u);
  EXPECT_GT(s.run_bytes, 15u * 24);
  EXPECT_FALSE(s.oldest_unindexed.has_value());
  EXPECT_EQ(j->disk_bytes(), s.journal_bytes + s.run_bytes);
}

}  // namespace
}  // namespace mamori::store::journal

namespace mamori::store::journal {
namespace {

// prefetch() asks for the records a read of the same key would read first:
// from the tail and the runs, the newest `max` with time >= since.
TEST(KeyedJournalPrefetch, AsksForTheNewestRecordsOfTheKeyOnly) {
  mamori::testing::TempDir tmp;
  auto j = open_journal(tmp.path() + "/j");
  ASSERT_TRUE(j);
  append(*j, {{7, 10, 1}, {7, 20, 2}, {8, 15, 3}});
  ASSERT_TRUE(j->seal_and_index().ok());  // in a run
  append(*j, {{7, 30, 4}, {7, 40, 5}});   // in the tail
  EXPECT_EQ(j->prefetch(7, INT64_MIN, 10), 4u);
  EXPECT_EQ(j->prefetch(7, INT64_MIN, 3), 3u);
  EXPECT_EQ(j->prefetch(7, 20, 10), 3u);
  EXPECT_EQ(j->prefetch(7, 41, 10), 0u);
  EXPECT_EQ(j->prefetch(8, INT64_MIN, 10), 1u);
  EXPECT_EQ(j->prefetch(9, INT64_MIN, 10), 0u);
  EXPECT_EQ(j->prefetch(7, INT64_MIN, 0), 0u);
  // The reads are as before.
  EXPECT_EQ(read_seqs(*j, 7), (std::vector<std::uint64_t>{5, 4, 2, 1}));
}

}  // namespace
}  // namespace mamori::store::journal
