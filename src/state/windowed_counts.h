#ifndef MAMORI_STATE_WINDOWED_COUNTS_H_
#define MAMORI_STATE_WINDOWED_COUNTS_H_

#include <cstdint>
#include <functional>

#include "state/clock_map.h"
#include "state/sliding_counter.h"

namespace mamori::state {

// A SlidingCounter per key (account, IP, ...) in a ClockMap under the
// shared memory budget: "how many events for this key within the window".
// Keys are known by their 64-bit `Hash` (see ClockMap). Thread-safe.
template <typename Key, typename Hash = std::hash<Key>>
class WindowedCounts {
 public:
  explicit WindowedCounts(MemoryBudget& budget) : windows_(budget) {}

  // Counts one event for `key` at `now_ms`; returns the count within the
  // window including it.
  std::uint32_t add(const Key& key, std::int64_t now_ms, std::int64_t window_ms) {
    return windows_.update(Hash{}(key), [&](Window& w) {
      w.counter.add(now_ms, window_ms);
      return w.counter.count(now_ms, window_ms);
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
