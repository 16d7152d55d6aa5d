#include "engine/decision_minutes.h"

#include <gtest/gtest.h>

#include <numeric>
#include <thread>

namespace mamori::engine {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// A minute-aligned time.
const TimePoint kT0 = from_unix_ms(1'790'000'000'000 / 60'000 * 60'000);

Decision deny_brute_force() {
  Decision d;
  d.add(Action::kDeny, Reason::kBruteForce);
  return d;
}

const DecisionMinutes::Series* find(const DecisionMinutes::Window& w, Action a, int reason) {
  for (const auto& s : w.series)
    if (s.action == a && s.reason == reason) return &s;
  return nullptr;
}

TEST(DecisionMinutes, CountsByMinuteActionAndDecidingReason) {
  DecisionMinutes m;
  m.count(Decision(), kT0 + seconds(5));
  m.count(Decision(), kT0 + seconds(59));
  m.count(deny_brute_force(), kT0 + minutes(1));
  m.count(deny_brute_force(), kT0 + minutes(2) + seconds(30));
  m.count(deny_brute_force(), kT0 + minutes(2) + seconds(31));
  const auto w = m.read(kT0 + minutes(2) + seconds(40), 3);
  EXPECT_EQ(w.start, kT0);
  ASSERT_EQ(w.series.size(), 2u);
  const auto* allow = find(w, Action::kAllow, DecisionMinutes::kNoReason);
  ASSERT_NE(allow, nullptr);
  EXPECT_EQ(allow->counts, (std::vector<std::uint64_t>{2, 0, 0}));
  const auto* deny = find(w, Action::kDeny, int(Reason::kBruteForce));
  ASSERT_NE(deny, nullptr);
  EXPECT_EQ(deny->counts, (std::vector<std::uint64_t>{0, 1, 2}));
  // A window of one minute: only the current one.
  const auto last = m.read(kT0 + minutes(2), 1);
  EXPECT_EQ(last.start, kT0 + minutes(2));
  ASSERT_EQ(last.series.size(), 1u);
  EXPECT_EQ(last.series[0].counts, (std::vector<std::uint64_t>{2}));
}

TEST(DecisionMinutes, ASlotReusedAfter24HoursForgetsItsOldMinute) {
  DecisionMinutes m;
  m.count(deny_brute_force(), kT0);
  m.count(deny_brute_force(), kT0 + minutes(1));
  // 24 h later the first slot counts the new minute from zero.
  m.count(Decision(), kT0 + hours(24) + seconds(1));
  const auto w = m.read(kT0 + hours(24) + seconds(1), DecisionMinutes::kMinutes);
  EXPECT_EQ(w.start, kT0 + minutes(1));
  const auto* deny = find(w, Action::kDeny, int(Reason::kBruteForce));
  ASSERT_NE(deny, nullptr);
  EXPECT_EQ(deny->counts.front(), 1u);  // kT0 + 1 min, the oldest minute shown
  EXPECT_EQ(std::accumulate(deny->counts.begin(), deny->counts.end(), std::uint64_t(0)), 1u);
  const auto* allow = find(w, Action::kAllow, DecisionMinutes::kNoReason);
  ASSERT_NE(allow, nullptr);
  EXPECT_EQ(allow->counts.back(), 1u);
  // A minute after, kT0 + 1 min has left the window too.
  const auto later = m.read(kT0 + hours(24) + minutes(1), DecisionMinutes::kMinutes);
  ASSERT_EQ(later.series.size(), 1u);
  EXPECT_EQ(find(later, Action::kDeny, int(Reason::kBruteForce)), nullptr);
}

TEST(DecisionMinutes, AnIdleGapLongerThan24HoursReadsAsZero) {
  DecisionMinutes m;
  for (int i = 0; i < 60; ++i) m.count(deny_brute_force(), kT0 + minutes(i));
  // Three days without a decision: nothing of the old counts shows, though
  // no slot was reused.
  const TimePoint later = kT0 + hours(72) + minutes(30);
  EXPECT_TRUE(m.read(later, DecisionMinutes::kMinutes).series.empty());
  // Counting again reuses a slot that held a minute 3 days old.
  m.count(Decision(), later);
  const auto w = m.read(later, DecisionMinutes::kMinutes);
  ASSERT_EQ(w.series.size(), 1u);
  EXPECT_EQ(w.series[0].action, Action::kAllow);
  EXPECT_EQ(w.series[0].counts.back(), 1u);
  EXPECT_EQ(std::accumulate(w.series[0].counts.begin(), w.series[0].counts.end(), std::uint64_t(0)),
            1u);
}

TEST(DecisionMinutes, ACountForAMinuteOlderThanItsSlotIsDropped) {
  DecisionMinutes m;
  m.count(Decision(), kT0 + hours(24));
  m.count(deny_brute_force(), kT0);  // same slot, 24 h older: out of the ring
  const auto w = m.read(kT0 + hours(24), 1);
  ASSERT_EQ(w.series.size(), 1u);
  EXPECT_EQ(w.series[0].action, Action::kAllow);
  EXPECT_TRUE(m.read(kT0, 1).series.empty());
}

TEST(DecisionMinutes, ConcurrentCountsWithinAMinuteAreAllKept) {
  DecisionMinutes m;
  m.count(Decision(), kT0);  // the slot is on this minute before the threads start
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10'000; ++i) m.count(deny_brute_force(), kT0 + seconds(i % 60));
    });
  for (auto& t : threads) t.join();
  const auto w = m.read(kT0, 1);
  const auto* deny = find(w, Action::kDeny, int(Reason::kBruteForce));
  ASSERT_NE(deny, nullptr);
  EXPECT_EQ(deny->counts[0], 40'000u);
}

}  // namespace
}  // namespace mamori::engine
