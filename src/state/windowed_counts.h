#ifndef MAMORI_STATE_WINDOWED_COUNTS_H_
#define MAMORI_STATE_WINDOWED_COUNTS_H_

#include <cstdint>
#include <functional>

#include "state/clock_map.h"
#include "state/sliding_counter.h"

namespace mamori::state {

// A SlidingCounter per key (account, IP, ...) in a ClockMap under the
// shared memory budget: "how many events for this key within the window",
// for a count that fires at a threshold. Each key's entry is worth
// worth_of(count, threshold) when memory runs short. Keys are known by
// their 64-bit `Hash` (see ClockMap). Thread-safe.
template <typename Key, typename Hash = std::hash<Key>>
class WindowedCounts {
 public:
  explicit WindowedCounts(MemoryBudget& budget) : windows_(budget) {}

  // Counts one event for `key` at `now_ms`; returns the count within the
  // window including it.
  std::uint32_t add(const Key& key, std::int64_t now_ms, std::int64_t window_ms,
                    std::uint32_t threshold) {
    return windows_.update(Hash{}(key), [&](Window& w, Worth& worth) {
      w.counter.add(now_ms, window_ms);
      const std::uint32_t n = w.counter.count(now_ms, window_ms);
      worth = worth_of(n, threshold);
      return n;
    });
  }

  // Drops the keys with no event left in the window at `now_ms` and ranks
  // the others by their count now (see ClockMap::refresh).
  void refresh(std::int64_t now_ms, std::int64_t window_ms, std::uint32_t threshold) {
    windows_.refresh([&](Window& w, Worth& worth) {
      const std::uint32_t n = w.counter.count(now_ms, window_ms);
      worth = worth_of(n, threshold);
      return n > 0;
    });
  }

 private:
  struct Window {
    SlidingCounter counter;
    std::size_t memory_bytes() const { return 0; }
  };
  ClockMap<Window> windows_;
};

}  // namespace mamori::state

#endif  // MAMORI_STATE_WINDOWED_COUNTS_H_
