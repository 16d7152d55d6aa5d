#ifndef MAMORI_STATE_SLIDING_COUNTER_H_
#define MAMORI_STATE_SLIDING_COUNTER_H_

#include <array>
#include <cstdint>
#include <limits>

namespace mamori::state {

// Counts events in a sliding window split into kSlices equal slices: an event
// is counted while its slice is one of the last kSlices, so the window is
// exact to one slice (window / 12). Events older than the window are
// forgotten; an event older than the newest slice but still inside the window
// (out-of-order arrival) is added to its own slice.
// Thread-compatible: callers shard and lock. Memory: 32 bytes.
class SlidingCounter {
 public:
  static constexpr int kSlices = 12;

  // REQUIRES: window_ms >= kSlices
  void add(std::int64_t now_ms, std::int64_t window_ms, std::uint32_t n = 1);
  std::uint32_t count(std::int64_t now_ms, std::int64_t window_ms) const;
  bool empty(std::int64_t now_ms, std::int64_t window_ms) const {
    return count(now_ms, window_ms) == 0;
  }

 private:
  static std::int64_t slice_of(std::int64_t t, std::int64_t window_ms) {
    const std::int64_t w = window_ms / kSlices;
    return t >= 0 ? t / w : (t - w + 1) / w;
  }

  std::int64_t head_ = std::numeric_limits<std::int64_t>::min();  // newest slice index
  std::array<std::uint16_t, kSlices> slices_{};
};

}  // namespace mamori::state

#endif  // MAMORI_STATE_SLIDING_COUNTER_H_
