#ifndef MAMORI_CORE_CLOCK_H_
#define MAMORI_CORE_CLOCK_H_

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace mamori {

// All times in mamori are wall-clock milliseconds since the Unix epoch, so that
// recorded events replay with their own times.
using Duration = std::chrono::milliseconds;
using TimePoint = std::chrono::time_point<std::chrono::system_clock, Duration>;

// Source of "now". Code never reads the system clock directly: it is given a
// Clock, so tests and replay decide what time it is. Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

// The real clock. The only place that reads the system clock.
class SystemClock final : public Clock {
 public:
  TimePoint now() const override;
};

// A clock that only moves when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start) : ms_(start.time_since_epoch().count()) {}
  TimePoint now() const override { return TimePoint(Duration(ms_.load())); }
  void set(TimePoint t) { ms_.store(t.time_since_epoch().count()); }
  void advance(Duration d) { ms_.fetch_add(d.count()); }

 private:
  std::atomic<std::int64_t> ms_;
};

// Nanoseconds of a monotonic clock, for measuring how long something took
// (never for event times).
std::uint64_t monotonic_ns();

// The clock of replay mode: the latest event time observed, or `fallback`'s
// time before the first event. Maintenance and reads (list expiry, blocks)
// then follow the recorded traffic's time. Thread-safe.
class ReplayClock final : public Clock {
 public:
  explicit ReplayClock(const Clock& fallback) : fallback_(fallback) {}
  TimePoint now() const override {
    const std::int64_t ms = latest_.load(std::memory_order_relaxed);
    return ms == kNone ? fallback_.now() : TimePoint(Duration(ms));
  }
  void observe(TimePoint t) {
    const std::int64_t ms = t.time_since_epoch().count();
    std::int64_t cur = latest_.load(std::memory_order_relaxed);
    while ((cur == kNone || ms > cur) &&
           !latest_.compare_exchange_weak(cur, ms, std::memory_order_relaxed)) {
    }
  }

 private:
  static constexpr std::int64_t kNone = INT64_MIN;
  const Clock& fallback_;
  std::atomic<std::int64_t> latest_{kNone};
};

inline std::int64_t to_unix_ms(TimePoint t) { return t.time_since_epoch().count(); }
inline TimePoint from_unix_ms(std::int64_t ms) { return TimePoint(Duration(ms)); }

// RFC 3339 in UTC with milliseconds: "2026-11-23T12:00:00.000Z".
std::string format_rfc3339(TimePoint t);

// Parses RFC 3339 ("2026-11-23T12:00:00Z", "...T21:00:00.5+09:00"), of
// the years 0000 to 9999 in UTC as well (an offset may not carry it over).
// Fails with code `invalid_time`.
Result<TimePoint> parse_rfc3339(std::string_view text);

// Parses a duration such as "90s", "10m", "1h", "90d", "250ms" or a plain
// number of seconds. Fails with code `invalid_duration`.
Result<Duration> parse_duration(std::string_view text);

// "1h", "10m", "90d", "1500ms": the shortest exact form.
std::string format_duration(Duration d);

// A wait for people, rounded up to its largest sensible unit: "1 second",
// "45 seconds", "58 minutes", "5 hours", "3 days". Under two minutes in
// seconds, under two hours in minutes, under two days in hours.
std::string describe_wait(Duration d);

}  // namespace mamori

#endif  // MAMORI_CORE_CLOCK_H_
