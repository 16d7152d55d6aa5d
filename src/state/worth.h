#ifndef MAMORI_STATE_WORTH_H_
#define MAMORI_STATE_WORTH_H_

#include <cstdint>

namespace mamori::state {

// How much a hot-window entry is worth keeping when memory runs short: 0 (a
// key seen once: the first to go) to kMaxWorth (a count about to fire). Its
// owner sets it from how close the entry's count is to its threshold, at
// each update and afresh as its windows move on (ClockMap and ShardedLru:
// update() and refresh()); the maps evict entries of least worth first
// (clock_map.h says why this holds against a flood).
using Worth = std::uint8_t;
inline constexpr Worth kMaxWorth = 3;

// The worth of a `count` that fires at `threshold`: 0 for a key seen once,
// whatever the threshold; from two events on, 1, then 2 from half the
// threshold and 3 from three quarters (a brute-force count of 8 or 9 of 10,
// and any count that has fired).
constexpr Worth worth_of(std::uint64_t count, std::uint64_t threshold) {
  if (count <= 1) return 0;
  if (4 * count >= 3 * threshold) return 3;
  if (2 * count >= threshold) return 2;
  return 1;
}

}  // namespace mamori::state

#endif  // MAMORI_STATE_WORTH_H_
