#include "core/log.h"

#include <unistd.h>

#include <string>

namespace mamori {

namespace {
std::string_view level_word(LogLevel level) {
  switch (level) {
    case LogLevel::kInfo:
      return "info ";
    case LogLevel::kWarn:
      return "warn ";
    case LogLevel::kError:
      return "error";
  }
  return "error";
}

const SystemClock& system_clock() {
  static const SystemClock clock;
  return clock;
}

// The key under which sites beyond LogLimiter::kMaxKeys are counted.
constexpr std::string_view kOverflowKey = "other log lines";
}  // namespace

void log_line(LogLevel level, std::string_view message) {
  std::string line = format_rfc3339(system_clock().now());
  line += ' ';
  line += level_word(level);
  line += ' ';
  line += message;
  line += '\n';
  [[maybe_unused]] auto n = ::write(2, line.data(), line.size());
}

void log_info(std::string_view message) { log_line(LogLevel::kInfo, message); }
void log_warn(std::string_view message) { log_line(LogLevel::kWarn, message); }
void log_error(std::string_view message) { log_line(LogLevel::kError, message); }

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
  static LogLimiter limiter(system_clock(), LogLimiter::Options{}, &log_line);
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
