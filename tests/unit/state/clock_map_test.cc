#include "state/clock_map.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

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

TEST(ClockMap, UpdateIfPresentChangesOnlyAnEntryThatExists) {
  MemoryBudget budget(64 << 20);
  ClockMap<Blob> m(budget);
  EXPECT_FALSE(m.update_if_present(mix64(1), [](Blob& b, Worth&) { b.data = "never"; }));
  EXPECT_EQ(m.size(), 0u);
  m.update(mix64(1), [](Blob& b) { b.data = "x"; });
  const std::size_t before = budget.used();
  EXPECT_TRUE(m.update_if_present(mix64(1), [](Blob& b, Worth& w) {
    b.data.assign(100, 'y');
    w = 2;
  }));
  std::string seen;
  m.read(mix64(1), [&](const Blob& b) { seen = b.data; });
  EXPECT_EQ(seen, std::string(100, 'y'));
  EXPECT_GT(budget.used(), before);  // its heap counts against the budget
  EXPECT_EQ(m.size(), 1u);
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

// A map whose entries are evicted while another holds the budget (the
// profile cache under millions of hot windows) is left with tables sized
// for its peak and nearly empty: they shrink, and their slots' bytes go
// back to the budget. Without that, each write here would evict every
// other entry of its shard (they own no heap, so evicting them frees
// nothing), the budget would stay over, and every later eviction in that
// shard would walk its whole table to find there is nothing to evict.
TEST(ClockMap, TablesEvictionsLeftSparseShrinkAndGiveTheirSlotsBack) {
  MemoryBudget budget(8 << 20);
  {
    ClockMap<Blob> small(budget), big(budget);
    for (std::uint64_t i = 0; i < 100'000; ++i) small.update(mix64(i), [](Blob&) {});
    const std::string text(3000, 'x');
    for (std::uint64_t i = 0; budget.used() + 2 * 3001 < budget.limit(); ++i)
      big.update(mix64(i), [&](Blob& b) { b.data = text; });
    ASSERT_EQ(budget.evictions(), 0u);
    const std::size_t big_entries = big.size();
    for (std::uint64_t i = 0; i < 64; ++i) {
      small.update(mix64(1'000'000 + i), [&](Blob& b) { b.data = text; });
      ASSERT_TRUE(small.read(mix64(1'000'000 + i), [](const Blob&) {})) << i;
      ASSERT_LE(budget.used(), budget.limit()) << "after " << i + 1;
    }
    EXPECT_GT(budget.evictions(), 0u);
    EXPECT_EQ(big.size(), big_entries);  // not written: nothing evicted there
    EXPECT_GT(small.size(), 1'000u);     // shards shrank before they emptied
    EXPECT_EQ(budget.entries(), small.size() + big.size());
  }
  EXPECT_EQ(budget.used(), 0u);
}

// A table at its budget stays evenly filled however long new keys keep
// coming: lookups read about as many slots as in a table just filled to the
// same load. Evicting where a hand sweeping the slots stands, while new
// entries land anywhere, left the slots just ahead of the hand full: probe
// runs thousands of slots long, walked by every lookup of a key not there.
TEST(ClockMap, EvictionKeepsProbeRunsAsShortAsAFreshTables) {
  MemoryBudget budget(4 << 20);
  ClockMap<Counter> m(budget);
  std::uint64_t n = 0;
  while (budget.evictions() == 0) m.update(mix64(n++), [](Counter& c) { ++c.n; });
  const auto fresh = m.probes();
  for (std::uint64_t end = n * 8; n < end; ++n) m.update(mix64(n), [](Counter& c) { ++c.n; });
  const auto flooded = m.probes();
  // Linear probing 7/8 full: 4.5 slots a hit, 32.5 a miss on average.
  EXPECT_LT(fresh.hit, 8);
  EXPECT_LT(fresh.miss, 64);
  EXPECT_LT(flooded.hit, 2 * fresh.hit);
  EXPECT_LT(flooded.miss, 2 * fresh.miss);
}

// An update that grows a value over the budget evicts entries that give
// memory back: in a table where one entry in four owns heap, about one
// eviction a growth, not the four it takes evicting whatever comes first.
TEST(ClockMap, OverTheBudgetEvictsEntriesThatOwnHeap) {
  MemoryBudget budget(1 << 20);
  ClockMap<Blob> m(budget);
  const std::string big(100, 'x');
  std::uint64_t n = 0;
  while (budget.evictions() == 0) {
    m.update(mix64(n), [&](Blob& b) {
      if (n % 4 == 0) b.data = big;
    });
    ++n;
  }
  // Entries that owned none grow one by one (newest first: still there).
  const std::uint64_t before = budget.evictions();
  std::uint64_t grown = 0;
  for (std::uint64_t i = n - 1; grown < 2'000; --i) {
    if (i % 4 == 0) continue;
    m.update_if_present(mix64(i), [&](Blob& b, Worth&) { b.data = big; });
    ++grown;
  }
  EXPECT_LE(budget.used(), budget.limit());
  EXPECT_LT(double(budget.evictions() - before) / double(grown), 1.5);
}

// CLOCK's mark: an entry used again since an eviction last looked at it survives the next
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

// A value as the detectors keep one: a count, ranked by how close it is to
// firing at kThreshold.
struct Count {
  std::uint32_t n = 0;
  std::size_t memory_bytes() const { return 0; }
};
constexpr std::uint32_t kThreshold = 10;

// Counts one event for `key`; the entry is worth worth_of(count, kThreshold).
std::uint32_t count_event(ClockMap<Count>& m, std::uint64_t key) {
  return m.update(key, [](Count& c, Worth& w) {
    ++c.n;
    w = worth_of(c.n, kThreshold);
    return c.n;
  });
}

bool present(const ClockMap<Count>& m, std::uint64_t key) {
  return m.read(key, [](const Count&) {});
}

TEST(ClockMap, WorthOfACountByHowCloseItIsToFiring) {
  EXPECT_EQ(worth_of(0, 10), 0);
  EXPECT_EQ(worth_of(1, 10), 0);  // a key seen once, whatever the threshold
  EXPECT_EQ(worth_of(1, 1), 0);
  EXPECT_EQ(worth_of(2, 10), 1);
  EXPECT_EQ(worth_of(4, 10), 1);
  EXPECT_EQ(worth_of(5, 10), 2);
  EXPECT_EQ(worth_of(7, 10), 2);
  EXPECT_EQ(worth_of(8, 10), 3);
  EXPECT_EQ(worth_of(9, 10), 3);
  EXPECT_EQ(worth_of(250, 10), 3);  // past the threshold: it has fired
  EXPECT_EQ(worth_of(2, 10'000), 1);
}

// The update function sees the entry's worth (0 for a new entry) and what
// it leaves there is kept, at most kMaxWorth.
TEST(ClockMap, UpdateSeesAndSetsTheEntrysWorth) {
  MemoryBudget budget(64 << 20);
  ClockMap<Count> m(budget);
  const std::uint64_t key = mix64(5);
  m.update(key, [](Count&, Worth& w) {
    EXPECT_EQ(w, 0);
    w = 2;
  });
  m.update(key, [](Count&, Worth& w) {
    EXPECT_EQ(w, 2);
    w = 200;
  });
  m.update(key, [](Count&) {});  // an update without a worth keeps it
  m.update(key, [](Count&, Worth& w) { EXPECT_EQ(w, kMaxWorth); });
}

// The scan of issue 17 on one table: a count at 9 of 10, then ten times the
// budget of keys seen once each. The flood evicts its own keys (and the
// other one-shot key from before it), never the count about to fire.
TEST(ClockMap, AFloodOfOneShotKeysEvictsOneShotKeysFirst) {
  MemoryBudget budget(256 << 10);
  ClockMap<Count> m(budget);
  const std::uint64_t close = mix64(~std::uint64_t{0});
  const std::uint64_t once = mix64(~std::uint64_t{1});
  for (int i = 0; i < 9; ++i) count_event(m, close);
  count_event(m, once);
  std::uint64_t n = 0;
  while (budget.evictions() < 10 * m.size()) count_event(m, mix64(n++));
  EXPECT_TRUE(present(m, close));
  EXPECT_FALSE(present(m, once));
  EXPECT_EQ(count_event(m, close), 10u);
}

// Keys seen twice (2 of 10, worth 1) evict one another and the one-shot
// keys, not counts at 5 or 9 of 10; a flood whose keys cost five events each
// (worth 2) reaches the counts at 5, still not the ones at 9.
TEST(ClockMap, AmongWorthyEntriesTheLeastWorthGoesFirst) {
  for (const std::uint32_t shots : {2u, 5u}) {
    MemoryBudget budget(256 << 10);
    ClockMap<Count> m(budget);
    std::vector<std::uint64_t> at9, at5;
    for (std::uint64_t a = 0; a < 50; ++a) {
      at9.push_back(mix64(1'000'000 + a));
      at5.push_back(mix64(2'000'000 + a));
      for (int i = 0; i < 9; ++i) count_event(m, at9.back());
      for (int i = 0; i < 5; ++i) count_event(m, at5.back());
    }
    std::uint64_t n = 0;
    while (budget.evictions() < 10 * m.size())
      for (std::uint32_t k = 0, key = std::uint32_t(n++); k < shots; ++k)
        count_event(m, mix64(key));
    int kept9 = 0, kept5 = 0;
    for (std::uint64_t k : at9) kept9 += present(m, k);
    for (std::uint64_t k : at5) kept5 += present(m, k);
    EXPECT_EQ(kept9, 50) << shots << "-shot flood";
    if (shots == 2) {
      EXPECT_EQ(kept5, 50) << "2-shot flood";
    } else {
      EXPECT_LT(kept5, 50) << "5-shot flood";
    }
  }
}

// Worthy entries still go when nothing else is left: a table of entries all
// worth the most stays within its budget, evicting among them.
TEST(ClockMap, EntriesAllWorthTheMostAreEvictedInClockOrder) {
  MemoryBudget budget(256 << 10);
  ClockMap<Count> m(budget);
  for (std::uint64_t i = 0; i < 50'000; ++i) {
    m.update(mix64(i), [](Count&, Worth& w) { w = kMaxWorth; });
    ASSERT_LE(budget.used(), budget.limit());
  }
  EXPECT_GT(budget.evictions(), 0u);
  EXPECT_TRUE(present(m, mix64(49'999)));
}

// refresh() sets every entry's worth afresh and removes the ones its
// function rejects; a count whose worth was taken away goes like any
// one-shot key.
TEST(ClockMap, RefreshRanksEntriesAfreshAndRemovesTheRejected) {
  MemoryBudget budget(256 << 10);
  ClockMap<Count> m(budget);
  const std::uint64_t quiet = mix64(~std::uint64_t{0});
  for (int i = 0; i < 9; ++i) count_event(m, quiet);
  for (std::uint64_t i = 0; i < 100; ++i) count_event(m, mix64(i));
  const std::size_t used = budget.used();
  // The count at 9 goes; the others are worth nothing from now on.
  EXPECT_EQ(m.refresh([](Count& c, Worth& w) {
    EXPECT_EQ(w, worth_of(c.n, kThreshold));
    w = 0;
    return c.n != 9;
  }),
            1u);
  EXPECT_FALSE(present(m, quiet));
  EXPECT_EQ(m.size(), 100u);
  EXPECT_EQ(budget.entries(), 100u);
  EXPECT_LE(budget.used(), used);
  // Kept, worth 0: a 9 counted again after the refresh is a count like any.
  for (int i = 0; i < 9; ++i) count_event(m, quiet);
  m.refresh([](Count&, Worth& w) {
    w = 0;
    return true;
  });
  std::uint64_t n = 1'000;
  while (budget.evictions() < 10 * m.size()) count_event(m, mix64(n++));
  EXPECT_FALSE(present(m, quiet));
}

// A refresh pass pauses after each chunk, told how long the chunk took,
// with no shard locked: the pause can read and write the map.
TEST(ClockMap, RefreshPausesBetweenChunksWithNoShardLocked) {
  MemoryBudget budget(64 << 20);
  ClockMap<Count> m(budget);
  for (std::uint64_t i = 0; i < 100'000; ++i) count_event(m, mix64(i));
  int pauses = 0;
  std::chrono::nanoseconds worked{0};
  budget.set_refresh_pause([&](std::chrono::nanoseconds chunk) {
    ++pauses;
    worked += chunk;
    count_event(m, mix64(pauses % 1'000));  // would deadlock under a shard's lock
  });
  const std::size_t removed = m.refresh([](Count& c, Worth&) { return c.n > 0; });
  EXPECT_EQ(removed, 0u);
  // 64 shards of about 100,000 / 64 * 8 / 7 slots: two to four chunks each.
  EXPECT_GE(pauses, 64 * 2);
  EXPECT_GT(worked.count(), 0);
  const int paused = pauses;
  budget.set_refresh_pause(nullptr);  // unset: no pause
  m.refresh([](Count&, Worth&) { return true; });
  EXPECT_EQ(pauses, paused);
}

}  // namespace
}  // namespace mamori::state
