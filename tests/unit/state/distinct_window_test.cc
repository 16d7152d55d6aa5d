#include "state/distinct_window.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace mamori::state {
namespace {

constexpr std::int64_t kWindow = 600'000;  // 10 min
constexpr std::int64_t kT0 = 1'795'435'200'000;
constexpr std::size_t kNoCap = 1'000;

std::set<std::string> keys(const DistinctWindow& w, std::int64_t now) {
  std::set<std::string> out;
  w.for_each(now, kWindow, [&](std::string_view k) { out.emplace(k); });
  return out;
}

TEST(DistinctWindow, CountsDistinctKeysOnce) {
  DistinctWindow w;
  EXPECT_EQ(w.add("alice", kT0, kWindow, kNoCap), 1u);
  EXPECT_EQ(w.add("bob", kT0 + 1, kWindow, kNoCap), 2u);
  EXPECT_EQ(w.add("alice", kT0 + 2, kWindow, kNoCap), 2u);
  EXPECT_EQ(w.add("carol", kT0 + 3, kWindow, kNoCap), 3u);
  EXPECT_EQ(w.count(kT0 + 3, kWindow), 3u);
  EXPECT_EQ(keys(w, kT0 + 3), (std::set<std::string>{"alice", "bob", "carol"}));
}

TEST(DistinctWindow, ContainsOnlyKeysSeenInWindow) {
  DistinctWindow w;
  w.add("alice", kT0, kWindow, kNoCap);
  EXPECT_TRUE(w.contains("alice", kT0 + 1, kWindow));
  EXPECT_FALSE(w.contains("bob", kT0 + 1, kWindow));
  EXPECT_FALSE(w.contains("Alice", kT0 + 1, kWindow));
  EXPECT_TRUE(w.contains("alice", kT0 + kWindow - 1, kWindow));
  EXPECT_FALSE(w.contains("alice", kT0 + kWindow, kWindow));
}

TEST(DistinctWindow, RemembersAtMostCapKeys) {
  DistinctWindow w;
  EXPECT_EQ(w.add("a", kT0, kWindow, 2), 1u);
  EXPECT_EQ(w.add("b", kT0, kWindow, 2), 2u);
  EXPECT_EQ(w.add("c", kT0, kWindow, 2), 2u);
  EXPECT_EQ(w.add("d", kT0, kWindow, 2), 2u);
  EXPECT_TRUE(w.contains("a", kT0, kWindow));
  EXPECT_TRUE(w.contains("b", kT0, kWindow));
  EXPECT_FALSE(w.contains("c", kT0, kWindow));
  EXPECT_FALSE(w.contains("d", kT0, kWindow));
  EXPECT_EQ(w.count(kT0, kWindow), 2u);
}

TEST(DistinctWindow, ExpiresKeysOlderThanWindow) {
  DistinctWindow w;
  w.add("old", kT0, kWindow, kNoCap);
  w.add("new", kT0 + 300'000, kWindow, kNoCap);
  EXPECT_EQ(w.count(kT0 + kWindow - 1, kWindow), 2u);
  EXPECT_EQ(w.count(kT0 + kWindow, kWindow), 1u);
  EXPECT_EQ(keys(w, kT0 + kWindow), (std::set<std::string>{"new"}));
  EXPECT_EQ(w.count(kT0 + 300'000 + kWindow, kWindow), 0u);
}

TEST(DistinctWindow, ExpiryFreesRoomUnderTheCap) {
  DistinctWindow w;
  w.add("a", kT0, kWindow, 2);
  w.add("b", kT0, kWindow, 2);
  EXPECT_EQ(w.add("c", kT0 + kWindow, kWindow, 2), 1u);
  EXPECT_TRUE(w.contains("c", kT0 + kWindow, kWindow));
  EXPECT_FALSE(w.contains("a", kT0 + kWindow, kWindow));
}

TEST(DistinctWindow, SeeingAKeyAgainExtendsIt) {
  DistinctWindow w;
  w.add("alice", kT0, kWindow, kNoCap);
  w.add("alice", kT0 + 500'000, kWindow, kNoCap);
  EXPECT_TRUE(w.contains("alice", kT0 + kWindow + 100'000, kWindow));
  // A late (older) sighting never moves it back.
  w.add("alice", kT0 + 100'000, kWindow, kNoCap);
  EXPECT_TRUE(w.contains("alice", kT0 + kWindow + 100'000, kWindow));
}

TEST(DistinctWindow, MemoryGrowsWithKeys) {
  DistinctWindow w;
  const std::size_t empty = w.memory_bytes();
  for (int i = 0; i < 100; ++i)
    w.add("a-rather-long-account-name-" + std::to_string(i), kT0, kWindow, kNoCap);
  EXPECT_GT(w.memory_bytes(), empty + 100 * 27);
}

// The block's size is kept beside its address up to 64 KB and read from
// the block beyond: either way it is what the keys take, and the keys read
// back whole.
TEST(DistinctWindow, MemoryIsTheBlocksSizeSmallOrLarge) {
  DistinctWindow w;
  const std::string pad(200, 'x');
  std::size_t bytes = 0, records = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string key = pad + std::to_string(i);
    records += 12 + key.size();
    w.add(key, kT0 + i, kWindow, kNoCap);
    EXPECT_GE(w.memory_bytes(), records);
    EXPECT_GE(w.memory_bytes(), bytes);  // grows, never shrinks while keys stay
    EXPECT_LE(w.memory_bytes(), 12 + records * 3 / 2 + 256);
    bytes = w.memory_bytes();
  }
  EXPECT_GT(bytes, std::size_t{0xffff});
  EXPECT_EQ(w.count(kT0 + 1000, kWindow), 1000u);
  EXPECT_TRUE(w.contains(pad + "999", kT0 + 1000, kWindow));
  EXPECT_TRUE(w.contains(pad + "0", kT0 + 1000, kWindow));
  // Every key expired: the block is freed.
  w.add("fresh", kT0 + 2 * kWindow, kWindow, kNoCap);
  EXPECT_EQ(w.memory_bytes(), 12 + 12 + 5u);
  EXPECT_EQ(keys(w, kT0 + 2 * kWindow), (std::set<std::string>{"fresh"}));
}

// A window without keys can carry a mark in its own 8 bytes: no heap until a
// key is added, which drops the mark.
TEST(DistinctWindow, AnEmptyWindowCarriesAMarkUntilAKeyIsAdded) {
  DistinctWindow w;
  EXPECT_EQ(w.mark(), 0u);
  w.set_mark(0x1234'5678'9abc'def0);
  EXPECT_EQ(w.mark(), 0x1234'5678'9abc'def0u);
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(w.memory_bytes(), 0u);
  EXPECT_EQ(w.count(kT0, kWindow), 0u);
  EXPECT_FALSE(w.contains("alice", kT0, kWindow));

  DistinctWindow moved = std::move(w);
  EXPECT_EQ(moved.mark(), 0x1234'5678'9abc'def0u);
  EXPECT_EQ(w.mark(), 0u);

  EXPECT_EQ(moved.add("alice", kT0, kWindow, kNoCap), 1u);
  EXPECT_EQ(moved.mark(), 0u);
  EXPECT_FALSE(moved.empty());
  EXPECT_EQ(keys(moved, kT0), (std::set<std::string>{"alice"}));
  // Emptied by expiry: no keys, and no mark either.
  EXPECT_EQ(moved.add("bob", kT0 + kWindow * 2, kWindow, 0), 0u);
  EXPECT_TRUE(moved.empty());
  EXPECT_EQ(moved.mark(), 0u);
}

TEST(DistinctWindow, MarksKeepTheLow63BitsAndNeverZero) {
  EXPECT_EQ(DistinctWindow::as_mark(0), 1u);
  EXPECT_EQ(DistinctWindow::as_mark(std::uint64_t{1} << 63), 1u);
  EXPECT_EQ(DistinctWindow::as_mark(~std::uint64_t{0}), ~std::uint64_t{0} >> 1);
  DistinctWindow w;
  w.set_mark(~std::uint64_t{0});
  EXPECT_EQ(w.mark(), ~std::uint64_t{0} >> 1);
}

}  // namespace
}  // namespace mamori::state
