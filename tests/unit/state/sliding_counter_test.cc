#include "state/sliding_counter.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <memory>

namespace mamori::state {
namespace {

constexpr std::int64_t kWindow = 60'000;                            // 1 min
constexpr std::int64_t kSlice = kWindow / SlidingCounter::kSlices;  // 5 s
constexpr std::int64_t kT0 = 1'795'435'200'000;                     // 2026-11-23T12:00:00Z

TEST(SlidingCounter, EmptyCountsZero) {
  SlidingCounter c;
  EXPECT_EQ(c.count(kT0, kWindow), 0u);
  EXPECT_TRUE(c.empty(kT0, kWindow));
}

TEST(SlidingCounter, CountsEventsWithinWindow) {
  SlidingCounter c;
  c.add(kT0, kWindow);
  c.add(kT0 + 1'000, kWindow);
  c.add(kT0 + 30'000, kWindow, 3);
  EXPECT_EQ(c.count(kT0 + 30'000, kWindow), 5u);
  EXPECT_FALSE(c.empty(kT0 + 30'000, kWindow));
}

TEST(SlidingCounter, KeepsEventForAtLeastWindowMinusOneSlice) {
  SlidingCounter c;
  c.add(kT0 + 4'999, kWindow);  // late in its slice
  EXPECT_EQ(c.count(kT0 + 4'999 + kWindow - kSlice, kWindow), 1u);
  SlidingCounter d;
  d.add(kT0, kWindow);  // start of its slice: counted for the whole window
  EXPECT_EQ(d.count(kT0 + kWindow - 1, kWindow), 1u);
}

TEST(SlidingCounter, ForgetsAfterWindow) {
  SlidingCounter c;
  c.add(kT0, kWindow);
  c.add(kT0 + 4'999, kWindow);
  EXPECT_EQ(c.count(kT0 + kWindow, kWindow), 0u);
  EXPECT_TRUE(c.empty(kT0 + 2 * kWindow, kWindow));
}

TEST(SlidingCounter, SlidesOutOldSlicesButKeepsNewOnes) {
  SlidingCounter c;
  c.add(kT0, kWindow, 2);
  c.add(kT0 + 40'000, kWindow, 3);
  EXPECT_EQ(c.count(kT0 + 40'000, kWindow), 5u);
  EXPECT_EQ(c.count(kT0 + 65'000, kWindow), 3u);  // the first two are gone
  c.add(kT0 + 70'000, kWindow);                   // advancing clears the old slot
  EXPECT_EQ(c.count(kT0 + 70'000, kWindow), 4u);
  EXPECT_EQ(c.count(kT0 + 105'000, kWindow), 1u);
}

TEST(SlidingCounter, AddAfterLongGapStartsFresh) {
  SlidingCounter c;
  c.add(kT0, kWindow, 7);
  c.add(kT0 + 10 * kWindow, kWindow);
  EXPECT_EQ(c.count(kT0 + 10 * kWindow, kWindow), 1u);
}

TEST(SlidingCounter, SlotReuseDoesNotResurrectOldCounts) {
  // Same slot index (one full window apart) must not add up.
  SlidingCounter c;
  c.add(kT0, kWindow, 5);
  c.add(kT0 + kWindow, kWindow, 1);
  EXPECT_EQ(c.count(kT0 + kWindow, kWindow), 1u);
}

TEST(SlidingCounter, OutOfOrderInsideWindowIsCounted) {
  SlidingCounter c;
  c.add(kT0 + 50'000, kWindow);
  c.add(kT0 + 20'000, kWindow);  // 30 s late, still inside the window
  c.add(kT0 + 49'000, kWindow);  // same slice as the newest
  EXPECT_EQ(c.count(kT0 + 50'000, kWindow), 3u);
  // The late event expires with its own slice, before the newer ones.
  EXPECT_EQ(c.count(kT0 + 20'000 + kWindow, kWindow), 2u);
}

TEST(SlidingCounter, OlderThanWindowIsIgnored) {
  SlidingCounter c;
  c.add(kT0 + 100'000, kWindow);
  c.add(kT0 + 100'000 - kWindow - kSlice, kWindow);
  c.add(kT0, kWindow);
  EXPECT_EQ(c.count(kT0 + 100'000, kWindow), 1u);
}

TEST(SlidingCounter, SaturatesInsteadOfWrapping) {
  SlidingCounter c;
  c.add(kT0, kWindow, 70'000);
  c.add(kT0, kWindow, 70'000);
  EXPECT_EQ(c.count(kT0, kWindow), 0xffffu);
}

TEST(SlidingCounter, WorksWithHourWindows) {
  constexpr std::int64_t kHour = 3'600'000;
  SlidingCounter c;
  for (int i = 0; i < 9; ++i) c.add(kT0 + i * 1'000, kHour);
  EXPECT_EQ(c.count(kT0 + 10'000, kHour), 9u);
  c.add(kT0 + 2 * kHour, kHour);
  EXPECT_EQ(c.count(kT0 + 2 * kHour, kHour), 1u);
}

// Event times are whatever replay feeds (parse_rfc3339 accepts 1969): slices
// of negative times must index the ring like positive ones, so a slot reused
// a window later starts from zero.
TEST(SlidingCounter, WorksBeforeTheEpoch) {
  // Padding in front keeps a wrongly indexed write inside this object.
  struct Guarded {
    std::array<std::int64_t, 8> pad{};
    SlidingCounter c;
  };
  auto g = std::make_unique<Guarded>();
  g->pad.fill(0x5a5a5a5a5a5a5a5a);
  const auto pad = g->pad;
  SlidingCounter& c = g->c;
  c.add(-25 * kSlice, kWindow, 5);  // slot of slice -25 ...
  c.add(-15 * kSlice, kWindow);
  c.add(-13 * kSlice, kWindow);  // ... is the slot of slice -13
  EXPECT_EQ(c.count(-13 * kSlice, kWindow), 2u);
  EXPECT_EQ(g->pad, pad) << "wrote outside the counter";
}

TEST(SlidingCounter, CountsAcrossTheEpoch) {
  SlidingCounter c;
  c.add(-20'000, kWindow);
  c.add(-1, kWindow);
  c.add(0, kWindow);
  c.add(20'000, kWindow);
  EXPECT_EQ(c.count(20'000, kWindow), 4u);
  EXPECT_EQ(c.count(-20'000 + kWindow, kWindow), 3u);
}

}  // namespace
}  // namespace mamori::state
