#include "store/journal/activity_journal.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "store/journal/activity_codec.h"
#include "testing/temp_dir.h"

namespace mamori::store::journal {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::milliseconds;

constexpr std::int64_t kDay = 86'400'000;
// 2027-01-15T00:00:00Z
constexpr std::int64_t kDay0 = 1'800'000'000'000 / kDay * kDay;

IpAddress ip(std::string_view text) { return *IpAddress::parse(text); }

ActivityRecord record(std::string account, std::int64_t time_ms, std::string event_id,
                      bool failed = false) {
  ActivityRecord r;
  r.event_id = std::move(event_id);
  r.time = from_unix_ms(time_ms);
  r.account = std::move(account);
  r.type = EventType::kLoginResult;
  r.ip = ip("203.0.113.9");
  r.country = "JP";
  r.user_agent = "Mozilla/5.0";
  r.protocol = "web";
  r.success = !failed;
  r.action = failed ? Action::kDeny : Action::kAllow;
  if (failed) r.reasons = {"brute_force"};
  return r;
}

ActivityJournalOptions manual(std::size_t fan_in = 8) {
  ActivityJournalOptions o;
  o.background_indexer = false;
  o.merge_fan_in = fan_in;
  return o;
}

class ActivityJournalTest : public ::testing::Test {
 protected:
  std::string dir() const { return tmp_.path() + "/activity"; }
  std::unique_ptr<ActivityJournal> open(ActivityJournalOptions o = manual()) {
    auto j = ActivityJournal::open(dir(), clock_, std::move(o));
    EXPECT_TRUE(j.ok()) << j.error().message;
    return j.ok() ? std::move(*j) : nullptr;
  }
  void append(ActivityJournal& j, const std::vector<ActivityRecord>& batch) {
    for (const auto& r : batch) ASSERT_TRUE(j.stage(r).ok());
    ASSERT_TRUE(j.write_staged().ok());
    j.publish_staged();
  }
  static std::vector<std::string> ids(const Result<std::vector<ActivityRecord>>& rows) {
    EXPECT_TRUE(rows.ok()) << rows.error().message;
    std::vector<std::string> v;
    if (rows.ok())
      for (const auto& r : *rows) v.push_back(r.event_id);
    return v;
  }
  mamori::testing::TempDir tmp_;
  ManualClock clock_{from_unix_ms(kDay0 + 10 * kDay)};
};

TEST_F(ActivityJournalTest, EntriesGoToTheDayOfTheirOwnTime) {
  auto j = open();
  ASSERT_TRUE(j);
  // One batch, out of order in time: a replay writes old days.
  append(*j, {record("alice", kDay0 + 2 * kDay + 5, "c"), record("alice", kDay0 + 100, "a"),
              record("bob", kDay0 + kDay + 7, "x"), record("alice", kDay0 + kDay - 1, "b"),
              record("alice", kDay0 + 2 * kDay, "c0")});
  EXPECT_EQ(j->partition_names(), (std::vector<std::string>{"20270115", "20270116", "20270117"}));
  EXPECT_TRUE(fs::exists(dir() + "/20270115/journal"));
  EXPECT_EQ(ids(j->activity("alice", from_unix_ms(0), 100)),
            (std::vector<std::string>{"c", "c0", "b", "a"}));
  EXPECT_EQ(ids(j->activity("alice", from_unix_ms(kDay0 + kDay - 1), 100)),
            (std::vector<std::string>{"c", "c0", "b"}));
  EXPECT_EQ(ids(j->activity("alice", from_unix_ms(0), 2)), (std::vector<std::string>{"c", "c0"}));
  EXPECT_TRUE(ids(j->activity("alice", from_unix_ms(0), 0)).empty());
  EXPECT_TRUE(ids(j->activity("carol", from_unix_ms(0), 10)).empty());
  // Every field as staged.
  auto rows = j->activity("bob", from_unix_ms(0), 10);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  const ActivityRecord want = record("bob", kDay0 + kDay + 7, "x");
  const ActivityRecord& got = rows->front();
  EXPECT_EQ(got.time, want.time);
  EXPECT_EQ(got.ip, want.ip);
  EXPECT_EQ(got.country, want.country);
  EXPECT_EQ(got.user_agent, want.user_agent);
  EXPECT_EQ(got.success, want.success);
  EXPECT_EQ(got.type, want.type);
}

TEST_F(ActivityJournalTest, ReadsMergeTheUnindexedTailBeforeAndAfterIndexing) {
  auto j = open();
  ASSERT_TRUE(j);
  // Two of one time: the one appended later first (Store::activity's order).
  append(*j, {record("alice", kDay0 + 10, "1"), record("alice", kDay0 + 30, "3a")});
  append(*j, {record("alice", kDay0 + 30, "3b"), record("alice", kDay0 + 20, "2")});
  const std::vector<std::string> want = {"3b", "3a", "2", "1"};
  EXPECT_EQ(ids(j->activity("alice", from_unix_ms(0), 10)), want);
  EXPECT_EQ(j->stats().tail_entries, 4u);
  ASSERT_TRUE(j->index().ok());
  EXPECT_EQ(j->stats().tail_entries, 0u);
  EXPECT_EQ(j->stats().runs, 1u);
  EXPECT_EQ(ids(j->activity("alice", from_unix_ms(0), 10)), want);
  append(*j, {record("alice", kDay0 + 25, "2b")});
  EXPECT_EQ(ids(j->activity("alice", from_unix_ms(0), 10)),
            (std::vector<std::string>{"3b", "3a", "2b", "2", "1"}));
  // Reopened without indexing: the tail is rebuilt from the journal.
  j.reset();
  j = open();
  ASSERT_TRUE(j);
  EXPECT_EQ(j->stats().tail_entries, 1u);
  EXPECT_EQ(ids(j->activity("alice", from_unix_ms(0), 10)),
            (std::vector<std::string>{"3b", "3a", "2b", "2", "1"}));
}

TEST_F(ActivityJournalTest, RetentionDropsWholeDaysOnly) {
  auto j = open();
  ASSERT_TRUE(j);
  for (int d = 0; d < 4; ++d)
    append(*j, {record("alice", kDay0 + d * kDay + 1000, "early" + std::to_string(d)),
                record("alice", kDay0 + d * kDay + kDay - 1, "late" + std::to_string(d))});
  ASSERT_TRUE(j->index().ok());
  append(*j, {record("alice", kDay0 + 3 * kDay + 5000, "tail3")});
  // Cut in the middle of day 2: days 0 and 1 go, day 2 stays whole.
  auto dropped = j->drop_before(from_unix_ms(kDay0 + 2 * kDay + kDay / 2));
  ASSERT_TRUE(dropped.ok()) << dropped.error().message;
  EXPECT_EQ(*dropped, 2u);
  EXPECT_EQ(j->partition_names(), (std::vector<std::string>{"20270117", "20270118"}));
  EXPECT_FALSE(fs::exists(dir() + "/20270115"));
  EXPECT_FALSE(fs::exists(dir() + "/20270116"));
  EXPECT_TRUE(fs::exists(dir() + "/20270117/journal"));
  EXPECT_EQ(ids(j->activity("alice", from_unix_ms(0), 100)),
            (std::vector<std::string>{"late3", "tail3", "early3", "late2", "early2"}));
  // A cut exactly at the end of a day drops that day.
  EXPECT_EQ(*j->drop_before(from_unix_ms(kDay0 + 3 * kDay)), 1u);
  EXPECT_EQ(*j->drop_before(from_unix_ms(kDay0 + 3 * kDay)), 0u);
  EXPECT_EQ(ids(j->activity("alice", from_unix_ms(0), 100)),
            (std::vector<std::string>{"late3", "tail3", "early3"}));
  // A replay may write an old day again.
  append(*j, {record("alice", kDay0 + 5, "old")});
  EXPECT_EQ(ids(j->activity("alice", from_unix_ms(0), 100)).back(), "old");
  j.reset();
  j = open();
  ASSERT_TRUE(j);
  EXPECT_EQ(j->partition_names(), (std::vector<std::string>{"20270115", "20270118"}));
  EXPECT_EQ(ids(j->activity("alice", from_unix_ms(0), 100)),
            (std::vector<std::string>{"late3", "tail3", "early3", "old"}));
}

TEST_F(ActivityJournalTest, FailedLoginsSinceHandsOverTheNewestInTimeOrder) {
  auto j = open();
  ASSERT_TRUE(j);
  // Failures and other entries over three days, appended out of time order.
  std::mt19937_64 rng(7);
  struct Failure {
    std::int64_t time;
    std::uint64_t order;  // append order
    std::string account;
  };
  std::vector<Failure> failures;
  std::uint64_t order = 0;
  for (int b = 0; b < 30; ++b) {
    std::vector<ActivityRecord> batch;
    for (int i = 0; i < 50; ++i, ++order) {
      const std::int64_t t = kDay0 + std::int64_t(rng() % (3 * kDay / 1000)) * 1000;
      const std::string account = "u" + std::to_string(rng() % 40);
      const int kind = int(rng() % 4);
      ActivityRecord r = record(account, t, "e" + std::to_string(order), kind != 0);
      if (kind == 3) {
        r.type = EventType::kLoginAttempt;  // not a result
        r.success.reset();
      }
      if (kind == 1 || kind == 2) failures.push_back({t, order, account});
      r.ip = IpAddress::from_v4(std::uint32_t(order));
      batch.push_back(r);
    }
    append(*j, batch);
    if (b == 10) {
      ASSERT_TRUE(j->index().ok());
    }
  }
  std::stable_sort(failures.begin(), failures.end(), [](const Failure& a, const Failure& b) {
    return a.time != b.time ? a.time < b.time : a.order < b.order;
  });
  auto check = [&](std::int64_t since, std::size_t limit) {
    std::vector<Failure> want;
    for (const Failure& f : failures)
      if (f.time >= since) want.push_back(f);
    if (want.size() > limit) want.erase(want.begin(), want.end() - std::ptrdiff_t(limit));
    std::vector<Failure> got;
    Status s = j->failed_logins_since(from_unix_ms(since), limit, [&](const ActivityRecord& r) {
      EXPECT_EQ(r.type, EventType::kLoginResult);
      EXPECT_EQ(r.success, std::optional<bool>(false));
      EXPECT_TRUE(r.event_id.empty());
      got.push_back({to_unix_ms(r.time), std::uint64_t(r.ip.v4()), r.account});
    });
    ASSERT_TRUE(s.ok()) << s.error().message;
    ASSERT_EQ(got.size(), want.size()) << "since " << since << ", limit " << limit;
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].time, want[i].time) << i;
      EXPECT_EQ(got[i].order, want[i].order) << i;
      EXPECT_EQ(got[i].account, want[i].account) << i;
    }
  };
  check(0, 1'000'000);                 // all of them
  check(0, 10);                        // the newest ten, from the last day
  check(0, failures.size() / 2);       // across partitions, the oldest cut
  check(kDay0 + kDay + kDay / 3, 50);  // since inside a day
  check(kDay0 + kDay + kDay / 3, 100'000);
  check(kDay0 + 5 * kDay, 10);  // nothing that recent
  check(0, 0);
}

TEST_F(ActivityJournalTest, FailedLoginsSinceKeepsTheNewestOfAFlood) {
  auto j = open();
  ASSERT_TRUE(j);
  // More failures in one day than the scan keeps at once (2 x limit, at
  // least 4096), in shuffled time order.
  std::vector<std::int64_t> times;
  for (int i = 0; i < 12'000; ++i) times.push_back(kDay0 + i * 5);
  std::shuffle(times.begin(), times.end(), std::mt19937_64(3));
  for (std::size_t b = 0; b < times.size(); b += 500) {
    std::vector<ActivityRecord> batch;
    for (std::size_t i = b; i < b + 500; ++i)
      batch.push_back(record("u" + std::to_string(i % 97), times[i], "f", true));
    append(*j, batch);
  }
  std::vector<std::int64_t> got;
  ASSERT_TRUE(j->failed_logins_since(from_unix_ms(0), 100, [&](const ActivityRecord& r) {
                 got.push_back(to_unix_ms(r.time));
               }).ok());
  std::vector<std::int64_t> want;
  for (int i = 12'000 - 100; i < 12'000; ++i) want.push_back(kDay0 + i * 5);
  EXPECT_EQ(got, want);
}

TEST_F(ActivityJournalTest, AFingerprintCollisionIsSkippedOnReading) {
  ActivityJournalOptions o = manual();
  o.fingerprint = [](std::string_view) { return std::uint64_t{42}; };
  o.key_scheme = 99;
  auto j = open(o);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->fingerprint("alice"), j->fingerprint("bob"));
  append(*j, {record("alice", kDay0 + 1, "a1"), record("bob", kDay0 + 2, "b1"),
              record("bob", kDay0 + 3, "b2"), record("alice", kDay0 + 4, "a2"),
              record("bob", kDay0 + 5, "b3")});
  auto check = [&] {
    EXPECT_EQ(ids(j->activity("alice", from_unix_ms(0), 10)),
              (std::vector<std::string>{"a2", "a1"}));
    // The limit counts the account's own entries only.
    EXPECT_EQ(ids(j->activity("alice", from_unix_ms(0), 1)), (std::vector<std::string>{"a2"}));
    EXPECT_EQ(ids(j->activity("bob", from_unix_ms(0), 2)), (std::vector<std::string>{"b3", "b2"}));
    EXPECT_TRUE(ids(j->activity("carol", from_unix_ms(0), 10)).empty());
  };
  check();
  ASSERT_TRUE(j->index().ok());
  check();
}

TEST_F(ActivityJournalTest, AFailedWriteInOnePartitionLeavesNothingInAny) {
  auto j = open();
  ASSERT_TRUE(j);
  // Day 1's journal is much bigger than day 0's.
  append(*j, {record("alice", kDay0 + 1, "a0")});
  std::vector<ActivityRecord> big;
  for (int i = 0; i < 200; ++i)
    big.push_back(record("bob", kDay0 + kDay + i, "b" + std::to_string(i)));
  append(*j, big);
  const std::string day0 = dir() + "/20270115/journal", day1 = dir() + "/20270116/journal";
  const auto size0 = fs::file_size(day0), size1 = fs::file_size(day1);
  ASSERT_GT(size1, size0 + 1000);
  // A batch for both days; the file size limit lets day 0's write through
  // and stops day 1's.
  ASSERT_TRUE(j->stage(record("alice", kDay0 + 2, "a-lost")).ok());
  ASSERT_TRUE(j->stage(record("bob", kDay0 + kDay + 500, "b-lost")).ok());
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  const auto old_handler = signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = size1 + 10;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  Status s = j->write_staged();
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, old_handler);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "store_write_failed");
  EXPECT_EQ(fs::file_size(day0), size0);
  EXPECT_EQ(fs::file_size(day1), size1);
  EXPECT_EQ(ids(j->activity("alice", from_unix_ms(0), 10)), (std::vector<std::string>{"a0"}));
  EXPECT_EQ(j->activity("bob", from_unix_ms(0), 1000)->size(), 200u);
  // The next batch is written where the failed one would have been.
  append(*j, {record("alice", kDay0 + 3, "a1")});
  j.reset();
  j = open();
  ASSERT_TRUE(j);
  EXPECT_EQ(ids(j->activity("alice", from_unix_ms(0), 10)), (std::vector<std::string>{"a1", "a0"}));
}

TEST_F(ActivityJournalTest, DiscardLeavesNothingVisible) {
  auto j = open();
  ASSERT_TRUE(j);
  append(*j, {record("alice", kDay0 + 1, "kept")});
  ASSERT_TRUE(j->stage(record("alice", kDay0 + 2, "gone")).ok());
  ASSERT_TRUE(j->stage(record("alice", kDay0 + kDay, "gone too")).ok());
  ASSERT_TRUE(j->write_staged().ok());
  ASSERT_TRUE(j->discard_staged().ok());
  EXPECT_EQ(ids(j->activity("alice", from_unix_ms(0), 10)), (std::vector<std::string>{"kept"}));
  j.reset();
  j = open();
  ASSERT_TRUE(j);
  EXPECT_EQ(ids(j->activity("alice", from_unix_ms(0), 10)), (std::vector<std::string>{"kept"}));
}

TEST_F(ActivityJournalTest, StageRefusesWhatItCannotStore) {
  auto j = open();
  ASSERT_TRUE(j);
  Status s = j->stage(record("alice", 253'402'300'800'000, "year 10000"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "invalid_activity");
  ActivityRecord long_ua = record("alice", kDay0, "ua");
  long_ua.user_agent.assign(kMaxActivityFieldBytes + 1, 'x');
  EXPECT_EQ(j->stage(long_ua).error().code, "invalid_activity");
  EXPECT_TRUE(j->write_staged().ok());
  EXPECT_TRUE(j->partition_names().empty());
  // The first and last days that have a name.
  append(*j,
         {record("alice", 253'402'300'799'999, "9999"), record("alice", -62'167'219'200'000, "0")});
  EXPECT_EQ(j->partition_names(), (std::vector<std::string>{"00000101", "99991231"}));
  EXPECT_EQ(ids(j->activity("alice", from_unix_ms(INT64_MIN), 10)),
            (std::vector<std::string>{"9999", "0"}));
}

TEST_F(ActivityJournalTest, TheIndexerRunsOnItsIntervalAndWhenATailFillsUp) {
  ActivityJournalOptions o;
  o.index_every = milliseconds(20);
  {
    auto j = open(o);
    ASSERT_TRUE(j);
    append(*j, {record("alice", kDay0 + 1, "a"), record("alice", kDay0 + kDay, "b")});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (j->stats().tail_entries > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
    EXPECT_EQ(j->stats().tail_entries, 0u);
    EXPECT_EQ(j->stats().runs, 2u);
    EXPECT_EQ(ids(j->activity("alice", from_unix_ms(0), 10)), (std::vector<std::string>{"b", "a"}));
  }
  // An hour's interval, but a tail of index_entries is indexed at once.
  o.index_every = hours(1);
  o.index_entries = 100;
  auto j = open(o);
  ASSERT_TRUE(j);
  std::vector<ActivityRecord> batch;
  for (int i = 0; i < 50; ++i) batch.push_back(record("bob", kDay0 + 2 * kDay + i, "x"));
  append(*j, batch);
  append(*j, batch);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (j->stats().tail_entries > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  EXPECT_EQ(j->stats().tail_entries, 0u);
}

// The lag bound: a tail of index_entries raises the idle indexer for the
// pass it starts (where this process may raise it again), and only then.
TEST_F(ActivityJournalTest, AFullTailRaisesTheIndexerForOnePass) {
  ActivityJournalOptions o;
  o.index_every = hours(1);
  o.index_entries = 100;
  auto j = open(o);
  ASSERT_TRUE(j);
  std::vector<ActivityRecord> batch;
  for (int i = 0; i < 50; ++i) batch.push_back(record("carol", kDay0 + i, "c"));
  append(*j, batch);
  EXPECT_EQ(j->stats().index_raises, 0u);
  append(*j, batch);
  const std::uint64_t raised = IndexerThread::may_leave_idle() ? 1 : 0;
  EXPECT_EQ(j->stats().index_raises, raised);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (j->stats().tail_entries > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  EXPECT_EQ(j->stats().tail_entries, 0u);
  append(*j, batch);
  EXPECT_EQ(j->stats().index_raises, raised);
}

TEST_F(ActivityJournalTest, APartitionIdleForAnHourIsMergedIntoOneRun) {
  auto j = open(manual(/*fan_in=*/100));
  ASSERT_TRUE(j);
  for (int i = 0; i < 5; ++i) {
    append(*j, {record("alice", kDay0 + i, "a" + std::to_string(i)),
                record("bob", kDay0 + kDay + i, "b" + std::to_string(i))});
    ASSERT_TRUE(j->index().ok());
    clock_.advance(milliseconds(100));
  }
  EXPECT_EQ(j->stats().runs, 10u);
  clock_.advance(std::chrono::minutes(59));
  ASSERT_TRUE(j->index().ok());
  EXPECT_EQ(j->stats().runs, 10u);
  append(*j, {record("bob", kDay0 + kDay + 10, "b-last")});
  clock_.advance(std::chrono::minutes(1));
  // Day 0 idle for an hour: one run; day 1 written a minute ago: six.
  ASSERT_TRUE(j->index().ok());
  EXPECT_EQ(j->stats().runs, 1u + 6u);
  clock_.advance(std::chrono::hours(1));
  ASSERT_TRUE(j->index().ok());
  EXPECT_EQ(j->stats().runs, 2u);
  EXPECT_EQ(ids(j->activity("alice", from_unix_ms(0), 10)),
            (std::vector<std::string>{"a4", "a3", "a2", "a1", "a0"}));
  EXPECT_EQ(ids(j->activity("bob", from_unix_ms(0), 2)),
            (std::vector<std::string>{"b-last", "b4"}));
}

TEST_F(ActivityJournalTest, StatsCountAppendsBytesAndTheIndexLag) {
  auto j = open();
  ASSERT_TRUE(j);
  append(*j, {record("alice", kDay0 + 1, "a"), record("alice", kDay0 + kDay, "b")});
  clock_.advance(milliseconds(1500));
  ActivityJournalStats s = j->stats();
  EXPECT_EQ(s.appended, 2u);
  EXPECT_EQ(s.tail_entries, 2u);
  EXPECT_EQ(s.partitions, 2u);
  EXPECT_EQ(s.runs, 0u);
  EXPECT_EQ(s.index_lag, milliseconds(1500));
  EXPECT_EQ(s.bytes, fs::file_size(dir() + "/20270115/journal") +
                         fs::file_size(dir() + "/20270116/journal"));
  ASSERT_TRUE(j->index().ok());
  s = j->stats();
  EXPECT_EQ(s.index_lag, milliseconds(0));
  EXPECT_EQ(s.runs, 2u);
  EXPECT_EQ(s.index_failures, 0u);
}

// The writer and the indexer thread of a child killed with SIGKILL: every
// entry it reported published is read back after reopening.
TEST_F(ActivityJournalTest, ReplayAfterSigkillKeepsEveryPublishedEntry) {
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(pipefd[0]);
    ActivityJournalOptions o;
    o.index_every = milliseconds(2);
    o.merge_fan_in = 3;
    SystemClock clock;
    auto r = ActivityJournal::open(dir(), clock, o);
    if (!r) ::_exit(2);
    for (std::uint64_t n = 0;;) {
      for (int i = 0; i < 64; ++i, ++n) {
        const std::int64_t t = kDay0 + std::int64_t(n % 3) * kDay + std::int64_t(n);
        if (!(*r)->stage(record("u" + std::to_string(n % 13), t, std::to_string(n))).ok())
          ::_exit(3);
      }
      if (!(*r)->write_staged().ok()) ::_exit(4);
      (*r)->publish_staged();
      if (::write(pipefd[1], &n, sizeof n) != sizeof n) ::_exit(5);
    }
  }
  ::close(pipefd[1]);
  std::uint64_t published = 0;
  while (published < 20'000) ASSERT_EQ(::read(pipefd[0], &published, sizeof published), 8);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  std::uint64_t more = 0;
  while (::read(pipefd[0], &more, sizeof more) == 8) published = more;
  ::close(pipefd[0]);

  auto j = open();
  ASSERT_TRUE(j);
  for (int u = 0; u < 13; ++u) {
    auto rows = j->activity("u" + std::to_string(u), from_unix_ms(0), 1'000'000);
    ASSERT_TRUE(rows.ok()) << rows.error().message;
    std::vector<std::uint64_t> seen;
    for (const auto& r : *rows) seen.push_back(std::stoull(r.event_id));
    std::sort(seen.begin(), seen.end());
    EXPECT_TRUE(std::adjacent_find(seen.begin(), seen.end()) == seen.end()) << "read twice";
    for (std::uint64_t n = std::uint64_t(u); n < published; n += 13)
      ASSERT_TRUE(std::binary_search(seen.begin(), seen.end(), n)) << "lost entry " << n;
  }
}

}  // namespace
}  // namespace mamori::store::journal
