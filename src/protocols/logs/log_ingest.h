#ifndef MAMORI_PROTOCOLS_LOGS_LOG_INGEST_H_
#define MAMORI_PROTOCOLS_LOGS_LOG_INGEST_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string_view>

#include "core/event.h"
#include "protocols/logs/line_reader.h"
#include "protocols/logs/log_format.h"

namespace mamori::logs {

// Why a line that looked like a login became no event.
enum class Skip : std::uint8_t {
  kTooLong,     // over the source's max_line_bytes (counted by the reader)
  kBadTime,     // its time could not be read
  kNoAccount,   // it names no account
  kBadAccount,  // the name is not an account (normalize_account refused it)
  kBadIp,       // the address is not an IP address
};
inline constexpr int kSkipCount = 5;
std::string_view to_string(Skip s);

// What one source's lines came to. Thread-safe: the reading thread counts,
// the metrics read.
struct LogCounters {
  std::atomic<std::uint64_t> lines{0};    // lines read
  std::atomic<std::uint64_t> matched{0};  // lines a format recognised (events or skips)
  std::atomic<std::uint64_t> events{0};   // events given to the engine
  std::array<std::atomic<std::uint64_t>, kSkipCount> skipped{};
  void skip(Skip s) { skipped[std::size_t(s)].fetch_add(1, std::memory_order_relaxed); }
};

// The most failures one line counts for (Dovecot's "N attempts").
inline constexpr int kMaxAttemptsPerLine = 100;

// Reads one line with `format`, counts it in `counters`, and for a login
// calls `emit` with its event (a kLoginResult: normalized account, address,
// result, the line's time, protocol, user agent) once per attempt it
// reports, and for an authenticated send the line completed (Postfix's) with
// a kMailSent (account, address, time, recipient_count; not a dry run).
// The event is the caller's to change.
void ingest(LogFormat& format, const RawLine& line, LogCounters& counters,
            const std::function<void(Event&)>& emit);

}  // namespace mamori::logs

#endif  // MAMORI_PROTOCOLS_LOGS_LOG_INGEST_H_
