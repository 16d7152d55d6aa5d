#include "state/clock_map.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <unordered_map>

#include "core/hash.h"

namespace mamori::state {
namespace {

struct Counter {
  int n = 0;
  std::size_t memory_bytes() const { return 0; }
};

// A value owning heap bytes, to see them counted and returned.
struct Blob {
  std::string data;
  std::size_t memory_bytes() const { return data.size() > 15 ? data.capacity() + 1 : 0; }
};

TEST(ClockMap, UpdatesReadsAndErases) {
  MemoryBudget budget(64 << 20);
  ClockMap<Counter> m(budget);
  EXPECT_EQ(m.update(mix64(1), [](Counter& c) { return ++c.n; }), 1);
  EXPECT_EQ(m.update(mix64(1), [](Counter& c) { return ++c.n; }), 2);
  EXPECT_EQ(m.update(mix64(2), [](Counter& c) { return ++c.n; }), 1);
  int seen = 0;
  EXPECT_TRUE(m.read(mix64(1), [&](const Counter& c) { seen = c.n; }));
  EXPECT_EQ(seen, 2);
  EXPECT_FALSE(m.read(mix64(3), [](const Counter&) {}));
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(budget.entries(), 2u);
  EXPECT_TRUE(m.erase(mix64(1)));
  EXPECT_FALSE(m.erase(mix64(1)));
  EXPECT_FALSE(m.read(mix64(1), [](const Counter&) {}));
  EXPECT_EQ(m.size(), 1u);
  // Key 0 and the key differing only in the top bit are usable too.
  m.update(0, [](Counter& c) { c.n = 7; });
  EXPECT_TRUE(m.read(0, [&](const Counter& c) { seen = c.n; }));
  EXPECT_EQ(seen, 7);
}

// Random inserts and erases (many collisions in a small table, so entries
// shift back on erase) agree with std::unordered_map.
TEST(ClockMap, AgreesWithAnUnorderedMap) {
  MemoryBudget budget(256 << 20);
  ClockMap<Counter> m(budget);
  std::unordered_map<std::uint64_t, int> want;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 200'000; ++i) {
    const std::uint64_t key = mix64(rng() % 5000);
    if (rng() % 3 == 0) {
      EXPECT_EQ(m.erase(key), want.erase(key) == 1);
    } else {
      const int v = int(rng() % 1000);
      m.update(key, [&](Counter& c) { c.n = v; });
      want[key] = v;
    }
  }
  EXPECT_EQ(m.size(), want.size());
  EXPECT_EQ(budget.evictions(), 0u);
  for (const auto& [key, v] : want) {
    int got = -1;
    EXPECT_TRUE(m.read(key, [&](const Counter& c) { got = c.n; }));
    EXPECT_EQ(got, v);
  }
  // erase_if removes exactly the matching ones.
  const std::size_t odd = std::erase_if(want, [](const auto& kv) { return kv.second % 2 == 1; });
  EXPECT_EQ(m.erase_if([](const Counter& c) { return c.n % 2 == 1; }), odd);
  EXPECT_EQ(m.size(), want.size());
  for (const auto& [key, v] : want) EXPECT_TRUE(m.read(key, [](const Counter&) {}));
}

TEST(ClockMap, StaysWithinItsBudgetAndKeepsTheEntryBeingWritten) {
  MemoryBudget budget(256 << 10);
  {
    ClockMap<Blob> m(budget);
    for (std::uint64_t i = 0; i < 50'000; ++i) {
      const std::string text(40, char('a' + i % 26));
      m.update(mix64(i), [&](Blob& b) { b.data = text; });
      ASSERT_LE(budget.used(), budget.limit()) << "after " << i + 1;
      // The newest entry is always there.
      ASSERT_TRUE(m.read(mix64(i), [](const Blob&) {}));
    }
    EXPECT_GT(budget.evictions(), 0u);
    EXPECT_EQ(budget.entries(), m.size());
  }
  // Everything given back on destruction.
  EXPECT_EQ(budget.used(), 0u);
  EXPECT_EQ(budget.entries(), 0u);
}

// A full table grows by half: past the initial tables, the slots allocated
// stay within 12/7 of the entries' (a table at least 7/12 full). Doubling
// would reach 16/7 right after each growth.
TEST(ClockMap, TablesStayAtLeastSevenTenthsFull) {
  MemoryBudget budget(256 << 20);
  ClockMap<Counter> m(budget);
  struct Slot {
    std::uint64_t key;
    Counter value;
  };
  double worst = 0;
  for (std::uint64_t i = 0; i < 300'000; ++i) {
    m.update(mix64(i), [](Counter& c) { ++c.n; });
    if (i >= 50'000 && i % 500 == 0)
      worst = std::max(worst, double(budget.used()) / double((i + 1) * sizeof(Slot)));
  }
  // Shards fill unevenly by a few percent.
  EXPECT_LT(worst, 10.0 / 7.0 * 1.05);
  EXPECT_EQ(m.size(), 300'000u);
  for (std::uint64_t i = 0; i < 300'000; i += 997)
    EXPECT_TRUE(m.read(mix64(i), [](const Counter&) {}));
}

// CLOCK: an entry used again since the hand last passed survives the next
// eviction round; entries never used again go first.
TEST(ClockMap, UsedEntriesGetASecondChance) {
  MemoryBudget budget(1 << 20);
  ClockMap<Blob> m(budget);
  const std::string big(100, 'x');
  // Fill until evictions start.
  std::uint64_t n = 0;
  while (budget.evictions() == 0) m.update(mix64(n++), [&](Blob& b) { b.data = big; });
  // A hot key, touched before every new entry.
  const std::uint64_t hot = mix64(~std::uint64_t{0});
  for (std::uint64_t i = 0; i < 20'000; ++i) {
    m.update(hot, [&](Blob& b) { b.data = big; });
    m.update(mix64(n++), [&](Blob& b) { b.data = big; });
  }
  EXPECT_TRUE(m.read(hot, [](const Blob&) {}));
}

}  // namespace
}  // namespace mamori::state
