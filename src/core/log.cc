#include "core/log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/json_writer.h"

namespace mamori {

namespace {
// The text format's level column, padded to one width.
std::string_view level_word(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info ";
    case LogLevel::kWarn:
      return "warn ";
    case LogLevel::kError:
      return "error";
  }
  return "error";
}

// syslog(3) priorities, which journald reads from a "<N>" line prefix.
char syslog_priority(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return '7';
    case LogLevel::kInfo:
      return '6';
    case LogLevel::kWarn:
      return '4';
    case LogLevel::kError:
      return '3';
  }
  return '3';
}

std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::atomic<LogFormat> g_format{LogFormat::kText};

const SystemClock& system_clock() {
  static const SystemClock clock;
  return clock;
}

// The key under which sites beyond LogLimiter::kMaxKeys are counted.
constexpr std::string_view kOverflowKey = "other log lines";
}  // namespace

bool parse_log_level(std::string_view word, LogLevel& out) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (word == to_string(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

bool parse_log_format(std::string_view word, LogFormat& out) {
  if (word == "text")
    out = LogFormat::kText;
  else if (word == "json")
    out = LogFormat::kJson;
  else
    return false;
  return true;
}

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "error";
}

std::string format_log_line(LogLevel level, std::string_view message, LogFields fields,
                            TimePoint now, LogFormat format, bool journal) {
  std::string line;
  if (format == LogFormat::kJson) {
    JsonWriter w(line);
    w.begin_object();
    w.field("time", format_rfc3339(now));
    w.field("level", to_string(level));
    w.field("message", message);
    for (const LogField& f : fields) {
      if (f.key == "time" || f.key == "level" || f.key == "message") continue;
      w.key(f.key);
      if (f.is_number)
        w.value(f.number);
      else
        w.value(f.value);
    }
    w.end_object();
    return line;
  }
  if (journal) {
    line += '<';
    line += syslog_priority(level);
    line += '>';
  } else {
    line += format_rfc3339(now);
    line += ' ';
    line += level_word(level);
    line += ' ';
  }
  line += message;
  for (const LogField& f : fields) {
    line += ' ';
    line += f.key;
    line += '=';
    line += f.value;
  }
  return line;
}

void set_log_options(const LogOptions& options) {
  g_level.store(options.level, std::memory_order_relaxed);
  g_format.store(options.format, std::memory_order_relaxed);
}

LogOptions log_options() {
  return LogOptions{g_level.load(std::memory_order_relaxed),
                    g_format.load(std::memory_order_relaxed)};
}

bool stderr_is_journal() {
  static const bool journal = [] {
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (stream == nullptr) return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st {};
    if (::fstat(2, &st) != 0) return false;
    return static_cast<unsigned long long>(st.st_dev) == dev &&
           static_cast<unsigned long long>(st.st_ino) == ino;
  }();
  return journal;
}

void log_line(LogLevel level, std::string_view message, LogFields fields) {
  if (level < g_level.load(std::memory_order_relaxed)) return;
  std::string line = format_log_line(level, message, fields, system_clock().now(),
                                     g_format.load(std::memory_order_relaxed), stderr_is_journal());
  line += '\n';
  [[maybe_unused]] auto n = ::write(2, line.data(), line.size());
}

void log_debug(std::string_view message, LogFields fields) {
  log_line(LogLevel::kDebug, message, fields);
}
void log_info(std::string_view message, LogFields fields) {
  log_line(LogLevel::kInfo, message, fields);
}
void log_warn(std::string_view message, LogFields fields) {
  log_line(LogLevel::kWarn, message, fields);
}
void log_error(std::string_view message, LogFields fields) {
  log_line(LogLevel::kError, message, fields);
}

LogLimiter::LogLimiter(const Clock& clock, Options options, Sink sink)
    : clock_(clock), options_(options), sink_(std::move(sink)) {}

void LogLimiter::report(const std::string& key, Key& k, TimePoint now) {
  sink_(k.level, key + ": " + std::to_string(k.dropped) + " more like this suppressed");
  k.dropped = 0;
  k.last_written = now;
}

bool LogLimiter::log(LogLevel level, std::string_view key, std::string_view message) {
  std::lock_guard lock(mu_);
  const TimePoint now = clock_.now();
  auto it = keys_.find(key);
  bool fresh = false;
  if (it == keys_.end()) {
    if (keys_.size() >= kMaxKeys) key = kOverflowKey;
    auto [at, inserted] = keys_.try_emplace(std::string(key));
    it = at;
    fresh = inserted;
  }
  Key& k = it->second;
  if (!fresh && now - k.last_seen >= options_.interval) {  // the last burst has ended
    if (k.dropped > 0) report(it->first, k, now);
    k.written = 0;
  }
  k.last_seen = now;
  k.level = level;
  if (k.written < options_.burst || now - k.last_written >= options_.interval) {
    if (k.dropped > 0) report(it->first, k, now);
    ++k.written;
    k.last_written = now;
    sink_(level, message);
    return true;
  }
  ++k.dropped;
  ++suppressed_total_;
  return false;
}

void LogLimiter::flush(bool all) {
  std::lock_guard lock(mu_);
  const TimePoint now = clock_.now();
  for (auto& [key, k] : keys_)
    if (k.dropped > 0 && (all || now - k.last_seen >= options_.interval)) report(key, k, now);
}

std::uint64_t LogLimiter::suppressed_total() const {
  std::lock_guard lock(mu_);
  return suppressed_total_;
}

namespace {
LogLimiter& daemon_limiter() {
  static LogLimiter limiter(system_clock(), LogLimiter::Options{},
                            [](LogLevel level, std::string_view m) { log_line(level, m); });
  return limiter;
}
}  // namespace

void log_warn_limited(std::string_view key, std::string_view message) {
  daemon_limiter().log(LogLevel::kWarn, key, message);
}

void log_error_limited(std::string_view key, std::string_view message) {
  daemon_limiter().log(LogLevel::kError, key, message);
}

void flush_limited_logs(bool all) { daemon_limiter().flush(all); }

}  // namespace mamori
