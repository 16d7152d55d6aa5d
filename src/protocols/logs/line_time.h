#ifndef MAMORI_PROTOCOLS_LOGS_LINE_TIME_H_
#define MAMORI_PROTOCOLS_LOGS_LINE_TIME_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"

namespace mamori::logs {

// Reads the times log lines carry, into event times:
//   - RFC 3339 (journald's short-iso-precise, rsyslog's high-precision
//     format): "2024-12-07T04:41:34.123456+09:00", "2024-12-07T04:41:34Z";
//   - "2024-12-07 04:41:34" (Dovecot's log_timestamp with the year), local
//     time;
//   - syslog's "Dec  7 04:41:34" (RFC 3164; Dovecot's own "Dec 07 04:41:34"),
//     local time without a year: the year is the clock's, or the one before
//     when that would put the line more than a day after the clock's now
//     (a December line read in January).
// Local time is the process's time zone (TZ, else /etc/localtime).
// Not thread-safe: one instance per reader (it caches the last hour's
// conversion, so a line costs no time zone lookup).
class LineTimes {
 public:
  // `clock` gives the year of year-less stamps; it must outlive this.
  explicit LineTimes(const Clock& clock) : clock_(clock) {}

  // Parses the timestamp `line` starts with. Returns the bytes it took,
  // with the spaces after it; 0 when the line does not start with one.
  std::size_t parse_prefix(std::string_view line, TimePoint& out);

  // The Common Log Format's "10/Oct/2024:13:55:36 -0700" (no brackets).
  static bool parse_common_log(std::string_view s, TimePoint& out);

  // Local wall-clock fields to a time. `month` 1-12.
  TimePoint from_local(int year, int month, int day, int hour, int minute, int second);

 private:
  const Clock& clock_;
  // The last hour converted from local time: its key and its start.
  std::int64_t cached_hour_key_ = -1;
  std::int64_t cached_hour_start_s_ = 0;
  // The clock's local year and the time it was read (re-read hourly).
  int year_ = 0;
  TimePoint year_read_{};
};

// A `time_format` of a custom format: strptime's conversions (%Y %m %d %H
// %M %S %b %e %y %j %p %I %z and literals), plus %f for fractional seconds
// and the names "rfc3339", "syslog" and "epoch" (seconds since 1970, with an
// optional fraction). Times without %z are local time; without a year (%Y,
// %y), the year is inferred as for syslog stamps.
class TimeFormat {
 public:
  // Fails with `invalid_time_format` for a format without a date or a time of
  // day, or with a conversion this parser does not know.
  static Result<TimeFormat> make(std::string_view format);
  TimeFormat() = default;

  bool parse(std::string_view text, LineTimes& times, TimePoint& out) const;
  const std::string& text() const { return format_; }

 private:
  enum class Kind : std::uint8_t { kRfc3339, kSyslog, kEpoch, kPattern };
  Kind kind_ = Kind::kRfc3339;
  std::string format_;
};

}  // namespace mamori::logs

#endif  // MAMORI_PROTOCOLS_LOGS_LINE_TIME_H_
