#ifndef MAMORI_CORE_LOG_H_
#define MAMORI_CORE_LOG_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace mamori {

enum class LogLevel : std::uint8_t { kDebug, kInfo, kWarn, kError };
enum class LogFormat : std::uint8_t { kText, kJson };

// What the daemon's log writes (`[log] level`, `format`).
struct LogOptions {
  LogLevel level = LogLevel::kInfo;  // lines below it are not written
  LogFormat format = LogFormat::kText;
};

// "debug", "info", "warn", "error" and "text", "json"; false for another word.
bool parse_log_level(std::string_view word, LogLevel& out);
bool parse_log_format(std::string_view word, LogFormat& out);
std::string_view to_string(LogLevel level);

// A structured fact of a log line where the call site has one: text lines
// append " key=value", JSON lines carry it as a member (a number when built
// from one).
struct LogField {
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, std::int64_t v)
      : key(k), value(std::to_string(v)), number(v), is_number(true) {}
  std::string_view key;
  std::string value;
  std::int64_t number = 0;
  bool is_number = false;
};
using LogFields = std::initializer_list<LogField>;

// One line as the log writes it (without the newline):
//   text:     "2026-11-23T12:00:00.000Z info  message key=value"
//   journal:  "<6>message key=value" (stderr is the systemd journal, which
//             stamps the time itself and reads the syslog priority prefix)
//   json:     {"time":"2026-11-23T12:00:00.000Z","level":"info","message":"...","key":"value"}
std::string format_log_line(LogLevel level, std::string_view message, LogFields fields,
                            TimePoint now, LogFormat format, bool journal);

// Sets the level and format of the lines written from now on (start and
// reload). Thread-safe.
void set_log_options(const LogOptions& options);
LogOptions log_options();
// True when stderr is the systemd journal: JOURNAL_STREAM names its device
// and inode (read once).
bool stderr_is_journal();

// One log line to stderr, as format_log_line() makes it, unless below the
// level. Thread-safe (one write per line).
void log_line(LogLevel level, std::string_view message, LogFields fields = {});
void log_debug(std::string_view message, LogFields fields = {});
void log_info(std::string_view message, LogFields fields = {});
void log_warn(std::string_view message, LogFields fields = {});
void log_error(std::string_view message, LogFields fields = {});

// Rate limit for log lines that clients can cause, one per malformed
// request or failed connection: without it a flood of bad requests is a
// flood of log lines. Lines are limited per key, a constant naming the log
// site ("postfix policy: malformed request"). Of a burst of lines under one
// key the first `burst` are written, then at most one per `interval`. What
// was dropped is reported under the key, at the level of its last line, as
// "KEY: N more like this suppressed": before the next line written for the
// key, or by flush() when the burst has ended (no line for the key for
// `interval`). A key quiet for `interval` starts a new burst. So a steady
// flood costs at most two lines per interval and key.
//
// Thread-safe. The sink is called with the limiter's lock held (so a
// report precedes the line it belongs to): it must not call back into the
// limiter. Memory: one small record per key; keys beyond kMaxKeys share
// one record.
class LogLimiter {
 public:
  struct Options {
    std::size_t burst = 5;
    Duration interval = std::chrono::seconds(10);
  };
  using Sink = std::function<void(LogLevel, std::string_view)>;
  static constexpr std::size_t kMaxKeys = 256;

  LogLimiter(const Clock& clock, Options options, Sink sink);
  LogLimiter(const LogLimiter&) = delete;
  LogLimiter& operator=(const LogLimiter&) = delete;

  // Writes `message` unless over the limit for `key`; true when written.
  // REQUIRES: `key` names a log site, never client input.
  bool log(LogLevel level, std::string_view key, std::string_view message);

  // Writes the reports of dropped lines that are due (see above); with
  // `all`, every pending report (at shutdown).
  void flush(bool all = false);

  // Lines dropped so far, all keys.
  std::uint64_t suppressed_total() const;

 private:
  struct Key {
    LogLevel level = LogLevel::kWarn;
    std::size_t written = 0;    // lines written in this burst
    std::uint64_t dropped = 0;  // lines dropped since the last report
    TimePoint last_seen{};      // last line, written or dropped
    TimePoint last_written{};   // last line or report written
  };
  void report(const std::string& key, Key& k, TimePoint now);

  const Clock& clock_;
  const Options options_;
  const Sink sink_;
  mutable std::mutex mu_;
  std::map<std::string, Key, std::less<>> keys_;
  std::uint64_t suppressed_total_ = 0;
};

// The daemon's limiter (system clock, stderr, default options).
void log_warn_limited(std::string_view key, std::string_view message);
void log_error_limited(std::string_view key, std::string_view message);
// Writes its due reports; with `all`, every pending one. The daemon calls it
// every second and at shutdown.
void flush_limited_logs(bool all = false);

}  // namespace mamori

#endif  // MAMORI_CORE_LOG_H_
