#ifndef MAMORI_ENGINE_DECISION_MINUTES_H_
#define MAMORI_ENGINE_DECISION_MINUTES_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/clock.h"
#include "core/decision.h"

namespace mamori::engine {

// The engine's decisions per minute over the last 24 hours, by action and
// deciding reason (Decision::deciding_reason; none when it has no reason):
// the console's overview chart. A ring of kMinutes slots, each holding the
// minute (of the time given to count(), UTC, minute-aligned) it counts and
// one counter per (action, reason). A slot is reused when a count for a
// newer minute 24 h later arrives; a read shows a slot only if it holds the
// very minute asked for, so minutes without decisions (also after an idle
// gap longer than 24 h) read as zero.
// Thread-safe: relaxed atomics, no locks. A count racing with the first
// count of its slot's new minute may be lost (a chart, not a ledger).
// Memory: kMinutes * kActionCount * (kReasonCount + 1) * 4 bytes (~660 KiB).
class DecisionMinutes {
 public:
  static constexpr int kMinutes = 1440;
  static constexpr int kNoReason = kReasonCount;  // the reason index of "none"

  DecisionMinutes();
  DecisionMinutes(const DecisionMinutes&) = delete;
  DecisionMinutes& operator=(const DecisionMinutes&) = delete;

  // Counts decision `d` in the minute of `t`.
  void count(const Decision& d, TimePoint t);

  struct Series {
    Action action;
    int reason;                         // a Reason's index, or kNoReason
    std::vector<std::uint64_t> counts;  // one per minute, oldest first
  };
  struct Window {
    TimePoint start;             // the first minute's start
    std::vector<Series> series;  // only those with a count above zero
  };
  // The `minutes` minutes ending with the minute of `now` (that one
  // included). REQUIRES: 1 <= minutes <= kMinutes.
  Window read(TimePoint now, int minutes) const;

 private:
  static constexpr std::size_t kCells = std::size_t(kActionCount) * (kReasonCount + 1);
  static std::int64_t minute_of(TimePoint t);

  std::array<std::atomic<std::int64_t>, kMinutes> minute_{};  // the minute a slot counts; -1 none
  std::unique_ptr<std::atomic<std::uint32_t>[]> counts_;      // kMinutes * kCells
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_DECISION_MINUTES_H_
