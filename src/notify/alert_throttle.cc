#include "notify/alert_throttle.h"

#include "core/hash.h"

namespace mamori::notify {

bool AlertThrottle::admit(const engine::Alert& a) {
  const Duration window = window_.load(std::memory_order_relaxed);
  if (window.count() <= 0) return true;
  const Decision& d = a.decision;
  std::uint64_t key = hash_combine(a.ip.hash(), hash_bytes(a.account));
  key = hash_combine(key, std::uint64_t(d.action()) << 8 |
                              (d.reason_count() > 0 ? std::uint64_t(d.reason(0)) : 0xff));
  key = hash_combine(key, hash_bytes(a.incident_id));
  bool send = false;
  last_sent_.upsert(key, [&](std::optional<TimePoint>& last) {
    if (!last || a.time - *last >= window || a.time < *last) {
      last = a.time;
      send = true;
    }
  });
  if (!send) {
    suppressed_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (last_sent_.size() > max_keys_) {
    const TimePoint cutoff = a.time - window;
    last_sent_.erase_if([&](std::uint64_t, TimePoint t) { return t < cutoff; },
                        [](std::uint64_t, TimePoint) {});
    if (last_sent_.size() > max_keys_)
      last_sent_.erase_if([](std::uint64_t, TimePoint) { return true; },
                          [](std::uint64_t, TimePoint) {});
  }
  return true;
}

}  // namespace mamori::notify
