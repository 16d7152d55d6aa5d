#include "store/journal/pass_slices.h"

#include <gtest/gtest.h>

#include "core/clock.h"

namespace mamori::store::journal {
namespace {

TEST(PassSlices, YieldsTheCoreOnceASliceHasPassed) {
  PassSlices::point(PassSlices::kCheckEvery);  // a check: a slice begins (at the latest) now
  const std::uint64_t before = PassSlices::yields();
  const std::uint64_t begun = monotonic_ns();
  const std::uint64_t deadline = begun + 10'000'000'000;
  // Work in small steps until three more yields.
  while (PassSlices::yields() - before < 3 && monotonic_ns() < deadline) PassSlices::point();
  ASSERT_EQ(PassSlices::yields() - before, 3u);
  // At most one a slice: the second and third each took a whole slice.
  EXPECT_GE(monotonic_ns() - begun, 2 * PassSlices::kSliceNs);
}

TEST(PassSlices, ReadsTheClockOnlyEveryFewEntries) {
  // Work below kCheckEvery since the last check: no yield, however long.
  PassSlices::point(PassSlices::kCheckEvery);  // a check: the count starts over
  const std::uint64_t before = PassSlices::yields();
  const std::uint64_t until = monotonic_ns() + 2 * PassSlices::kSliceNs;
  while (monotonic_ns() < until) {
  }
  PassSlices::point(PassSlices::kCheckEvery - 1);
  EXPECT_EQ(PassSlices::yields(), before);
  PassSlices::point();
  EXPECT_EQ(PassSlices::yields(), before + 1);
}

}  // namespace
}  // namespace mamori::store::journal
