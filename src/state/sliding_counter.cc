#include "state/sliding_counter.h"

namespace mamori::state {

void SlidingCounter::add(std::int64_t now_ms, std::int64_t window_ms, std::uint32_t n) {
  const std::int64_t s = slice_of(now_ms, window_ms);
  if (head_ == std::numeric_limits<std::int64_t>::min() || s >= head_ + kSlices) {
    slices_.fill(0);
    head_ = s;
  } else if (s > head_) {
    for (std::int64_t i = head_ + 1; i <= s; ++i)
      slices_[std::size_t(((i % kSlices) + kSlices) % kSlices)] = 0;
    head_ = s;
  } else if (s <= head_ - kSlices) {
    return;  // older than the window
  }
  auto& slot = slices_[std::size_t(((s % kSlices) + kSlices) % kSlices)];
  const std::uint32_t v = slot + n;
  slot = v > 0xffff ? 0xffff : std::uint16_t(v);
}

std::uint32_t SlidingCounter::count(std::int64_t now_ms, std::int64_t window_ms) const {
  if (head_ == std::numeric_limits<std::int64_t>::min()) return 0;
  const std::int64_t s = slice_of(now_ms, window_ms);
  std::uint32_t total = 0;
  for (std::int64_t i = head_; i > head_ - kSlices; --i) {
    if (i > s || i <= s - kSlices) continue;  // outside [s - kSlices + 1, s]
    total += slices_[std::size_t(((i % kSlices) + kSlices) % kSlices)];
  }
  return total;
}

}  // namespace mamori::state
