#include "store/journal/sorted_run.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "testing/temp_dir.h"

namespace mamori::store::journal {
namespace {

std::vector<IndexEntry> random_entries(std::size_t n, std::size_t keys, std::uint64_t seed,
                                       std::uint64_t first_offset = 0) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint64_t> fps(keys);
  for (auto& fp : fps) fp = rng();
  std::vector<IndexEntry> v;
  std::uint64_t offset = first_offset;
  for (std::size_t i = 0; i < n; ++i) {
    v.push_back({fps[rng() % keys], std::int64_t(1'800'000'000'000 + rng() % 86'400'000), offset});
    offset += 100 + rng() % 100;
  }
  std::sort(v.begin(), v.end(), index_order);
  return v;
}

RunInfo range(std::uint64_t first, std::uint64_t end, std::uint32_t key_scheme = 7) {
  RunInfo info;
  info.journal_first = first;
  info.journal_end = end;
  info.key_scheme = key_scheme;
  return info;
}

std::shared_ptr<const SortedRun> open_run(const std::string& path) {
  auto r = SortedRun::open(path);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : nullptr;
}

class SortedRunTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) { return dir_.path() + "/" + name; }
  mamori::testing::TempDir dir_;
};

TEST_F(SortedRunTest, FindsEveryKeysEntriesNewestFirst) {
  const auto entries = random_entries(20'000, 3'000, 1);
  auto info = write_run(path("run"), entries, range(0, 5'000'000));
  ASSERT_TRUE(info.ok()) << info.error().message;
  auto run = open_run(path("run"));
  ASSERT_TRUE(run);
  EXPECT_EQ(run->info().entries, entries.size());
  EXPECT_EQ(run->info().journal_first, 0u);
  EXPECT_EQ(run->info().journal_end, 5'000'000u);
  EXPECT_EQ(run->info().key_scheme, 7u);
  EXPECT_EQ(run->info().level, 0u);
  std::map<std::uint64_t, std::vector<IndexEntry>> by_key;
  std::int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (const IndexEntry& e : entries) {
    by_key[e.fp].push_back(e);
    lo = std::min(lo, e.time_ms);
    hi = std::max(hi, e.time_ms);
  }
  EXPECT_EQ(run->info().keys, by_key.size());
  EXPECT_EQ(run->info().min_time_ms, lo);
  EXPECT_EQ(run->info().max_time_ms, hi);
  for (const auto& [fp, want] : by_key) {
    auto got = run->find(fp);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_TRUE(std::equal(got.begin(), got.end(), want.begin()));
    for (std::size_t i = 1; i < got.size(); ++i) EXPECT_GE(got[i - 1].time_ms, got[i].time_ms);
  }
  EXPECT_TRUE(std::equal(run->entries().begin(), run->entries().end(), entries.begin()));
  EXPECT_FALSE(std::filesystem::exists(path("run.tmp")));
}

TEST_F(SortedRunTest, AbsentKeysAndTheBloomFalsePositivePath) {
  const auto entries = random_entries(10'000, 10'000, 2);
  ASSERT_TRUE(write_run(path("run"), entries, range(0, 1)).ok());
  auto run = open_run(path("run"));
  ASSERT_TRUE(run);
  std::set<std::uint64_t> present;
  for (const IndexEntry& e : entries) present.insert(e.fp);
  std::mt19937_64 rng(99);
  int false_positives = 0, absent = 0;
  for (int i = 0; i < 100'000; ++i) {
    const std::uint64_t fp = rng();
    if (present.count(fp)) continue;
    ++absent;
    // A key the filter lets through is still not found: the binary search
    // decides.
    if (run->may_contain(fp)) ++false_positives;
    EXPECT_TRUE(run->find(fp).empty());
  }
  EXPECT_GT(false_positives, 0) << "the false-positive path was not taken";
  EXPECT_LT(false_positives, absent * 3 / 100) << "about 10 bits per key: about 1 %";
  for (std::uint64_t fp : present) EXPECT_TRUE(run->may_contain(fp));
}

// equal_fp_range agrees with std::equal_range for keys present and absent,
// spread evenly or not (clusters, the extremes, long runs of one key).
TEST(EqualFpRange, AgreesWithEqualRangeOnEvenAndUnevenKeys) {
  std::mt19937_64 rng(5);
  auto check = [&](std::vector<IndexEntry> v, const char* what) {
    std::sort(v.begin(), v.end(), index_order);
    auto by_fp = [](const IndexEntry& a, const IndexEntry& b) { return a.fp < b.fp; };
    std::vector<std::uint64_t> probes = {0, 1, UINT64_MAX, UINT64_MAX - 1};
    for (const IndexEntry& e : v) {
      probes.push_back(e.fp);
      probes.push_back(e.fp + 1);
      probes.push_back(e.fp - 1);
    }
    for (int i = 0; i < 2000; ++i) probes.push_back(rng());
    for (std::uint64_t fp : probes) {
      const auto want = std::equal_range(v.begin(), v.end(), IndexEntry{fp, 0, 0}, by_fp);
      const auto got = equal_fp_range(v, fp);
      ASSERT_EQ(got.size(), std::size_t(want.second - want.first)) << what << " fp " << fp;
      if (!got.empty()) {
        ASSERT_EQ(got.data(), &*want.first) << what << " fp " << fp;
      }
    }
  };
  check({}, "empty");
  check({{42, 1, 1}}, "one");
  std::vector<IndexEntry> even;
  for (int i = 0; i < 50'000; ++i) even.push_back({rng(), i, std::uint64_t(i)});
  for (int i = 0; i < 300; ++i) even.push_back({even[7].fp, -i, std::uint64_t(i)});  // a busy key
  check(even, "even");
  std::vector<IndexEntry> clustered;  // most keys in a sliver of the space, a few far out
  for (int i = 0; i < 20'000; ++i)
    clustered.push_back({(1ULL << 40) + rng() % 100'000, i, std::uint64_t(i)});
  for (std::uint64_t fp : std::vector<std::uint64_t>{0, 3, UINT64_MAX, UINT64_MAX / 2})
    clustered.push_back({fp, 0, 0});
  check(clustered, "clustered");
  std::vector<IndexEntry> same(1000, IndexEntry{UINT64_MAX, 5, 5});
  check(same, "one key only");
}

TEST_F(SortedRunTest, MergeKeepsEveryEntryOnceAcrossRuns) {
  // Three adjacent runs; one key in all of them at the same times; one entry
  // repeated in two runs (the same record) is kept once.
  const std::uint64_t fp = 42;
  std::vector<IndexEntry> a = random_entries(500, 50, 3, 0);
  std::vector<IndexEntry> b = random_entries(500, 50, 4, 100'000);
  std::vector<IndexEntry> c = random_entries(500, 50, 5, 200'000);
  for (std::uint64_t off : {10u, 20u}) a.push_back({fp, 1000, off});
  for (std::uint64_t off : {100'010u, 100'020u}) b.push_back({fp, 1000, off});
  c.push_back({fp, 2000, 200'010});
  c.push_back({fp, 1000, 200'020});
  const IndexEntry dup{7, 5, 150'000};
  b.push_back(dup);
  c.push_back(dup);
  for (auto* v : {&a, &b, &c}) std::sort(v->begin(), v->end(), index_order);
  ASSERT_TRUE(write_run(path("a"), a, range(0, 100'000)).ok());
  ASSERT_TRUE(write_run(path("b"), b, range(100'000, 200'000)).ok());
  ASSERT_TRUE(write_run(path("c"), c, range(200'000, 300'000)).ok());
  const std::vector<std::shared_ptr<const SortedRun>> inputs = {
      open_run(path("a")), open_run(path("b")), open_run(path("c"))};
  auto info = merge_runs(inputs, path("m"), 1);
  ASSERT_TRUE(info.ok()) << info.error().message;
  auto m = open_run(path("m"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->info().journal_first, 0u);
  EXPECT_EQ(m->info().journal_end, 300'000u);
  EXPECT_EQ(m->info().level, 1u);
  EXPECT_EQ(m->info().key_scheme, 7u);

  std::vector<IndexEntry> want(a);
  want.insert(want.end(), b.begin(), b.end());
  want.insert(want.end(), c.begin(), c.end());
  std::sort(want.begin(), want.end(), index_order);
  want.erase(std::unique(want.begin(), want.end()), want.end());
  ASSERT_EQ(m->info().entries, want.size());
  EXPECT_TRUE(std::equal(m->entries().begin(), m->entries().end(), want.begin()));
  auto of_fp = m->find(fp);
  const std::vector<IndexEntry> expected = {{fp, 2000, 200'010}, {fp, 1000, 200'020},
                                            {fp, 1000, 100'020}, {fp, 1000, 100'010},
                                            {fp, 1000, 20},      {fp, 1000, 10}};
  EXPECT_EQ(std::vector<IndexEntry>(of_fp.begin(), of_fp.end()), expected);
  EXPECT_EQ(m->find(7).size(), 1u);
}

TEST_F(SortedRunTest, MergeRefusesRunsThatAreNotAdjacent) {
  ASSERT_TRUE(write_run(path("a"), random_entries(10, 5, 6), range(0, 100)).ok());
  ASSERT_TRUE(write_run(path("b"), random_entries(10, 5, 7), range(200, 300)).ok());
  auto r = merge_runs({open_run(path("a")), open_run(path("b"))}, path("m"), 1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("gap"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(path("m")));
}

TEST_F(SortedRunTest, WriterRefusesEntriesOutOfOrderAndLeavesNoFile) {
  auto w = SortedRunWriter::create(path("run"), 10);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->add({5, 100, 1}).ok());
  ASSERT_TRUE((*w)->add({5, 100, 1}).ok());  // the same entry again: dropped
  Status s = (*w)->add({5, 200, 2});         // newer after older
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "invalid_index");
  EXPECT_TRUE(std::filesystem::exists(path("run.tmp")));
  w->reset();
  EXPECT_FALSE(std::filesystem::exists(path("run.tmp")));
  EXPECT_FALSE(std::filesystem::exists(path("run")));
}

TEST_F(SortedRunTest, RefusesACorruptOrTruncatedFooter) {
  const auto entries = random_entries(1000, 100, 8);
  ASSERT_TRUE(write_run(path("run"), entries, range(0, 1)).ok());
  const auto size = std::filesystem::file_size(path("run"));
  auto refused = [&](const std::string& words) {
    auto r = SortedRun::open(path("run"));
    if (r.ok()) return ::testing::AssertionFailure() << "opened";
    if (r.error().code != "store_open_failed" || r.error().message.find(words) == std::string::npos)
      return ::testing::AssertionFailure() << r.error().code << ": " << r.error().message;
    return ::testing::AssertionSuccess();
  };
  auto flip = [&](std::uint64_t at) {
    const int fd = ::open(path("run").c_str(), O_RDWR);
    char c = 0;
    ASSERT_EQ(::pread(fd, &c, 1, off_t(at)), 1);
    c ^= 0x10;
    ASSERT_EQ(::pwrite(fd, &c, 1, off_t(at)), 1);
    ::close(fd);
  };
  // The entry count, inside the footer: the CRC catches it.
  flip(size - SortedRun::kFooterBytes + 24);
  EXPECT_TRUE(refused("CRC"));
  flip(size - SortedRun::kFooterBytes + 24);
  ASSERT_TRUE(SortedRun::open(path("run")).ok());
  flip(size - SortedRun::kFooterBytes);  // the magic
  EXPECT_TRUE(refused("magic"));
  flip(size - SortedRun::kFooterBytes);
  // Cut short: the footer is not where it should be.
  std::filesystem::resize_file(path("run"), size - 10);
  EXPECT_TRUE(refused("not a valid index run"));
  std::filesystem::resize_file(path("run"), 20);
  EXPECT_TRUE(refused("shorter than its footer"));
}

TEST_F(SortedRunTest, RefusesAFooterWhoseSizesDoNotMatchTheFile) {
  // A whole valid run with extra bytes before its footer: the CRC holds, the
  // sizes do not.
  ASSERT_TRUE(write_run(path("run"), random_entries(100, 10, 9), range(0, 1)).ok());
  std::string bytes;
  {
    const auto size = std::filesystem::file_size(path("run"));
    bytes.resize(size);
    const int fd = ::open(path("run").c_str(), O_RDONLY);
    ASSERT_EQ(::read(fd, bytes.data(), size), ssize_t(size));
    ::close(fd);
  }
  bytes.insert(bytes.size() - SortedRun::kFooterBytes, std::string(24, 'x'));
  const int fd = ::open(path("run").c_str(), O_WRONLY | O_TRUNC);
  ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), ssize_t(bytes.size()));
  ::close(fd);
  auto r = SortedRun::open(path("run"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("sizes"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace mamori::store::journal

namespace mamori::store::journal {
namespace {

TEST(SortIndex, SortsAsStdSortDoesAcrossItsChunks) {
  std::mt19937_64 rng(7);
  for (std::size_t n : {0, 1, 2, 2047, 2048, 2049, 4096, 10'000, 70'001}) {
    std::vector<IndexEntry> v(n);
    for (auto& e : v) {
      e.fp = rng() % (n / 4 + 1);  // fingerprints repeat
      e.time_ms = std::int64_t(rng() % 1000);
      e.offset = rng();
    }
    std::vector<IndexEntry> want = v;
    std::sort(want.begin(), want.end(), index_order);
    sort_index(v);
    ASSERT_EQ(v.size(), want.size());
    for (std::size_t i = 0; i < n; ++i)
      ASSERT_TRUE(v[i].fp == want[i].fp && v[i].time_ms == want[i].time_ms &&
                  v[i].offset == want[i].offset)
          << "n=" << n << " i=" << i;
  }
}

}  // namespace
}  // namespace mamori::store::journal
