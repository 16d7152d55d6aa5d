#include "state/sharded_lru.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/ip_address.h"
#include "state/memory_budget.h"
#include "state/sliding_counter.h"

namespace mamori::state {
namespace {

// A hot window like the engine's: a fixed-size counter.
struct CounterValue {
  SlidingCounter counter;
  int touches = 0;
  std::size_t memory_bytes() const { return 0; }
};

// A value that owns heap memory that grows when written.
struct GrowingValue {
  std::vector<char> data;
  std::size_t memory_bytes() const { return data.capacity(); }
};

// Bytes one CounterValue entry takes in a map with uint64 keys.
std::size_t counter_entry_bytes() {
  MemoryBudget probe(std::size_t(1) << 30);
  ShardedLru<std::uint64_t, CounterValue> m(probe, 1);
  m.update(1, [](CounterValue&) {});
  return probe.used();
}

TEST(ShardedLru, UpdateCreatesThenReusesEntry) {
  MemoryBudget budget(1 << 20);
  ShardedLru<std::string, CounterValue> m(budget);
  EXPECT_EQ(m.update("alice", [](CounterValue& v) { return ++v.touches; }), 1);
  EXPECT_EQ(m.update("alice", [](CounterValue& v) { return ++v.touches; }), 2);
  EXPECT_EQ(m.update("bob", [](CounterValue& v) { return ++v.touches; }), 1);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(budget.entries(), 2u);
  int seen = 0;
  EXPECT_TRUE(m.read("alice", [&](const CounterValue& v) { seen = v.touches; }));
  EXPECT_EQ(seen, 2);
  EXPECT_FALSE(m.read("carol", [](const CounterValue&) {}));
}

TEST(ShardedLru, BytesAreChargedToTheBudgetAndReturned) {
  MemoryBudget budget(1 << 20);
  {
    ShardedLru<std::string, GrowingValue> m(budget);
    m.update("a", [](GrowingValue&) {});
    const std::size_t one = budget.used();
    EXPECT_GT(one, 0u);
    m.update("a", [](GrowingValue& v) { v.data.resize(4096); });
    EXPECT_GE(budget.used(), one + 4096);
    m.update("b", [](GrowingValue&) {});
    EXPECT_TRUE(m.erase("a"));
    EXPECT_FALSE(m.erase("a"));
    EXPECT_EQ(budget.used(), one);
    EXPECT_EQ(budget.entries(), 1u);
  }
  EXPECT_EQ(budget.used(), 0u);
  EXPECT_EQ(budget.entries(), 0u);
}

TEST(ShardedLru, EvictionKeepsUsedBytesWithinBudgetUnderMillionDistinctKeys) {
  constexpr std::size_t kBudget = 256 * 1024;
  constexpr std::uint32_t kKeys = 1'000'000;
  MemoryBudget budget(kBudget);
  ShardedLru<IpAddress, CounterValue> m(budget);
  std::size_t max_used = 0;
  for (std::uint32_t i = 0; i < kKeys; ++i) {
    // An attack from a million distinct addresses.
    m.update(IpAddress::from_v4(0x0A000000u + i),
             [&](CounterValue& v) { v.counter.add(1'000'000 + i, 60'000); });
    if (budget.used() > max_used) max_used = budget.used();
  }
  EXPECT_LE(max_used, kBudget);
  EXPECT_LE(budget.used(), kBudget);
  const std::size_t kept = m.size();
  EXPECT_GT(kept, 100u);         // the budget is used, not emptied
  EXPECT_LT(kept, kKeys / 100);  // and most keys were forgotten
  EXPECT_EQ(budget.entries(), kept);
  EXPECT_EQ(budget.evictions(), kKeys - kept);
  // The most recent key is there; the first one is long gone.
  EXPECT_TRUE(m.read(IpAddress::from_v4(0x0A000000u + kKeys - 1), [](const CounterValue&) {}));
  EXPECT_FALSE(m.read(IpAddress::from_v4(0x0A000000u), [](const CounterValue&) {}));
}

TEST(ShardedLru, EntryBeingWrittenIsNeverEvicted) {
  MemoryBudget budget(1);  // smaller than any entry
  ShardedLru<std::string, GrowingValue> m(budget, 1);
  m.update("first", [](GrowingValue&) {});
  EXPECT_TRUE(m.read("first", [](const GrowingValue&) {}));
  // The second write evicts the first, never itself.
  m.update("second", [](GrowingValue& v) { v.data.resize(100'000); });
  EXPECT_TRUE(m.read("second", [](const GrowingValue& v) { EXPECT_EQ(v.data.size(), 100'000u); }));
  EXPECT_FALSE(m.read("first", [](const GrowingValue&) {}));
  EXPECT_EQ(m.size(), 1u);
  EXPECT_EQ(budget.evictions(), 1u);
  // Growing the only entry past the budget keeps it too.
  m.update("second", [](GrowingValue& v) { v.data.resize(200'000); });
  EXPECT_TRUE(m.read("second", [](const GrowingValue& v) { EXPECT_EQ(v.data.size(), 200'000u); }));
}

TEST(ShardedLru, EvictsLeastRecentlyUpdatedFirst) {
  const std::size_t entry = counter_entry_bytes();
  ASSERT_GT(entry, 0u);
  MemoryBudget budget(3 * entry);
  ShardedLru<std::uint64_t, CounterValue> m(budget, 1);
  auto touch = [&](std::uint64_t k) { m.update(k, [](CounterValue& v) { ++v.touches; }); };
  auto has = [&](std::uint64_t k) { return m.read(k, [](const CounterValue&) {}); };
  touch(1);
  touch(2);
  touch(3);
  EXPECT_EQ(budget.evictions(), 0u);
  EXPECT_EQ(budget.used(), 3 * entry);
  touch(1);  // 1 is now the most recently used; 2 the least
  touch(4);
  EXPECT_EQ(budget.evictions(), 1u);
  EXPECT_TRUE(has(1));
  EXPECT_FALSE(has(2));
  EXPECT_TRUE(has(3));
  EXPECT_TRUE(has(4));
  touch(5);  // evicts 3
  EXPECT_FALSE(has(3));
  EXPECT_TRUE(has(1));
  EXPECT_EQ(budget.evictions(), 2u);
  EXPECT_LE(budget.used(), budget.limit());
}

TEST(ShardedLru, ReadDoesNotRefreshRecency) {
  const std::size_t entry = counter_entry_bytes();
  MemoryBudget budget(2 * entry);
  ShardedLru<std::uint64_t, CounterValue> m(budget, 1);
  m.update(1, [](CounterValue&) {});
  m.update(2, [](CounterValue&) {});
  EXPECT_TRUE(m.read(1, [](const CounterValue&) {}));
  m.update(3, [](CounterValue&) {});
  EXPECT_FALSE(m.read(1, [](const CounterValue&) {}));
  EXPECT_TRUE(m.read(2, [](const CounterValue&) {}));
}

TEST(ShardedLru, GrowingEntryEvictsOthersToStayWithinBudget) {
  MemoryBudget budget(16 * 1024);
  ShardedLru<std::uint64_t, GrowingValue> m(budget, 1);
  for (std::uint64_t k = 0; k < 100; ++k) m.update(k, [](GrowingValue&) {});
  const std::size_t before = m.size();
  ASSERT_EQ(before, 100u);
  ASSERT_LT(budget.used(), budget.limit());
  m.update(7, [](GrowingValue& v) { v.data.resize(12 * 1024); });
  EXPECT_LE(budget.used(), budget.limit());
  EXPECT_LT(m.size(), before);
  EXPECT_TRUE(m.read(7, [](const GrowingValue& v) { EXPECT_EQ(v.data.size(), 12u * 1024); }));
  EXPECT_FALSE(m.read(0, [](const GrowingValue&) {}));  // the oldest went first
}

TEST(ShardedLru, BudgetIsSharedBetweenMaps) {
  const std::size_t entry = counter_entry_bytes();
  MemoryBudget budget(4 * entry);
  ShardedLru<std::uint64_t, CounterValue> a(budget, 1);
  ShardedLru<std::uint64_t, CounterValue> b(budget, 1);
  for (std::uint64_t k = 0; k < 3; ++k) a.update(k, [](CounterValue&) {});
  for (std::uint64_t k = 0; k < 3; ++k) b.update(k, [](CounterValue&) {});
  EXPECT_LE(budget.used(), budget.limit());
  EXPECT_EQ(a.size() + b.size(), 4u);
  EXPECT_EQ(budget.entries(), 4u);
}

TEST(ShardedLru, EraseIfRemovesMatchingEntries) {
  MemoryBudget budget(1 << 20);
  ShardedLru<std::uint64_t, CounterValue> m(budget);
  for (std::uint64_t k = 0; k < 100; ++k) m.update(k, [&](CounterValue& v) { v.touches = int(k); });
  const std::size_t used = budget.used();
  EXPECT_EQ(m.erase_if([](std::uint64_t, const CounterValue& v) { return v.touches % 2 == 0; }),
            50u);
  EXPECT_EQ(m.size(), 50u);
  EXPECT_EQ(budget.entries(), 50u);
  EXPECT_LT(budget.used(), used);
  EXPECT_FALSE(m.read(4, [](const CounterValue&) {}));
  EXPECT_TRUE(m.read(5, [](const CounterValue&) {}));
}

// A flood of new keys (worth 0) evicts its own keys and the older one-shot
// keys, never a count close to firing, however long it goes on; the
// least recently used of the worthless keys still go first.
TEST(ShardedLru, AFloodOfNewKeysEvictsKeysWorthNothingFirst) {
  MemoryBudget budget(64 * 1024);
  ShardedLru<std::uint64_t, CounterValue> m(budget, 4);
  auto count = [&](std::uint64_t k) {
    m.update(k, [](CounterValue& v, Worth& w) {
      ++v.touches;
      w = worth_of(std::uint64_t(v.touches), 10);
    });
  };
  auto has = [&](std::uint64_t k) { return m.read(k, [](const CounterValue&) {}); };
  for (int i = 0; i < 9; ++i) count(1);  // 9 of 10
  for (int i = 0; i < 2; ++i) count(2);  // 2 of 10
  count(3);                              // once
  std::uint64_t k = 100;
  while (budget.evictions() < 20 * m.size()) count(k++);
  EXPECT_TRUE(has(1));
  EXPECT_TRUE(has(2));
  EXPECT_FALSE(has(3));
  EXPECT_TRUE(has(k - 1));
  EXPECT_FALSE(has(100));
}

// refresh() sets each entry's worth afresh and removes the rejected ones;
// an entry whose worth was taken away goes like any other.
TEST(ShardedLru, RefreshRanksEntriesAfreshAndRemovesTheRejected) {
  MemoryBudget budget(64 * 1024);
  ShardedLru<std::uint64_t, CounterValue> m(budget, 4);
  m.update(1, [](CounterValue& v, Worth& w) {
    v.touches = 9;
    w = kMaxWorth;
  });
  m.update(2, [](CounterValue& v, Worth&) { v.touches = 1; });
  EXPECT_EQ(m.refresh([](std::uint64_t, CounterValue& v, Worth& w) {
    w = 0;
    return v.touches != 1;
  }),
            1u);
  EXPECT_FALSE(m.read(2, [](const CounterValue&) {}));
  EXPECT_EQ(budget.entries(), 1u);
  std::uint64_t k = 100;
  while (budget.evictions() < 20 * m.size()) m.update(k++, [](CounterValue&) {});
  EXPECT_FALSE(m.read(1, [](const CounterValue&) {}));
}

}  // namespace
}  // namespace mamori::state
