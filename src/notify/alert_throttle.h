#ifndef MAMORI_NOTIFY_ALERT_THROTTLE_H_
#define MAMORI_NOTIFY_ALERT_THROTTLE_H_

#include <atomic>
#include <cstdint>

#include "core/clock.h"
#include "engine/effects.h"
#include "state/sharded_map.h"

namespace mamori::notify {

// Keeps an attack from turning into one webhook call per refused request:
// an alert repeating an earlier one (same source IP, account, action and
// first reason, same incident) within `window` of event time is suppressed,
// and counted. Bounded: at most `max_keys` keys are remembered; beyond that
// the expired ones are dropped, then all (a repeat may then be sent again).
// A zero window admits every alert. Thread-safe.
class AlertThrottle {
 public:
  explicit AlertThrottle(Duration window, std::size_t max_keys = 100'000)
      : window_(window), max_keys_(max_keys) {}

  // True when `a` is to be sent.
  bool admit(const engine::Alert& a);
  std::uint64_t suppressed() const { return suppressed_.load(std::memory_order_relaxed); }
  // A new window (a config reload), for the alerts admitted from now on.
  void set_window(Duration window) { window_.store(window, std::memory_order_relaxed); }

 private:
  std::atomic<Duration> window_;
  const std::size_t max_keys_;
  state::ShardedMap<std::uint64_t, TimePoint> last_sent_;
  std::atomic<std::uint64_t> suppressed_{0};
};

}  // namespace mamori::notify

#endif  // MAMORI_NOTIFY_ALERT_THROTTLE_H_
