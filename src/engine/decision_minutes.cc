#include "engine/decision_minutes.h"

namespace mamori::engine {

namespace {
constexpr auto kRelaxed = std::memory_order_relaxed;
constexpr std::int64_t kMinuteMs = 60'000;
}  // namespace

DecisionMinutes::DecisionMinutes()
    : counts_(new std::atomic<std::uint32_t>[std::size_t(kMinutes) * kCells]) {
  for (auto& m : minute_) m.store(-1, kRelaxed);
  for (std::size_t i = 0; i < std::size_t(kMinutes) * kCells; ++i) counts_[i].store(0, kRelaxed);
}

std::int64_t DecisionMinutes::minute_of(TimePoint t) {
  const std::int64_t ms = to_unix_ms(t);
  return ms >= 0 ? ms / kMinuteMs : (ms - kMinuteMs + 1) / kMinuteMs;
}

void DecisionMinutes::count(const Decision& d, TimePoint t) {
  const std::int64_t minute = minute_of(t);
  const std::size_t slot = std::size_t(((minute % kMinutes) + kMinutes) % kMinutes);
  std::atomic<std::uint32_t>* cells = &counts_[slot * kCells];
  std::int64_t held = minute_[slot].load(kRelaxed);
  while (held != minute) {
    if (held > minute) return;  // a minute more than 24 h older than the slot's: out of range
    // The slot counts a minute 24 h (or more) older: the one that moves it
    // to this minute clears it.
    if (minute_[slot].compare_exchange_weak(held, minute, kRelaxed)) {
      for (std::size_t i = 0; i < kCells; ++i) cells[i].store(0, kRelaxed);
      break;
    }
  }
  const std::optional<Reason> deciding = d.deciding_reason();
  const std::size_t cell = std::size_t(d.action()) * (kReasonCount + 1) +
                           std::size_t(deciding ? int(*deciding) : kNoReason);
  cells[cell].fetch_add(1, kRelaxed);
}

DecisionMinutes::Window DecisionMinutes::read(TimePoint now, int minutes) const {
  const std::int64_t last = minute_of(now);
  const std::int64_t first = last - minutes + 1;
  Window w;
  w.start = from_unix_ms(first * kMinuteMs);
  std::vector<std::vector<std::uint64_t>> grid(kCells);
  for (std::int64_t m = first; m <= last; ++m) {
    const std::size_t slot = std::size_t(((m % kMinutes) + kMinutes) % kMinutes);
    if (minute_[slot].load(kRelaxed) != m) continue;
    const std::atomic<std::uint32_t>* cells = &counts_[slot * kCells];
    for (std::size_t c = 0; c < kCells; ++c) {
      const std::uint32_t n = cells[c].load(kRelaxed);
      if (n == 0) continue;
      if (grid[c].empty()) grid[c].assign(std::size_t(minutes), 0);
      grid[c][std::size_t(m - first)] = n;
    }
  }
  for (std::size_t c = 0; c < kCells; ++c) {
    if (grid[c].empty()) continue;
    w.series.push_back(
        Series{Action(c / (kReasonCount + 1)), int(c % (kReasonCount + 1)), std::move(grid[c])});
  }
  return w;
}

}  // namespace mamori::engine
