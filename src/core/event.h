#ifndef MAMORI_CORE_EVENT_H_
#define MAMORI_CORE_EVENT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/ip_address.h"

namespace mamori {

// What happened. The wire names (API.md) are given by to_string().
enum class EventType : std::uint8_t {
  kLoginAttempt,
  kLoginResult,
  kPasswordChanged,
  kEmailChanged,
  kMfaEnabled,
  kMfaDisabled,
  kChallengePassed,
  kChallengeFailed,
  kMessageSent,
  kMailSent,
  kLogout,
};
inline constexpr int kEventTypeCount = 11;

std::string_view to_string(EventType t);
// The types accepted in `/v1/events` (not the two login types).
std::optional<EventType> account_event_type_from_string(std::string_view s);
std::optional<EventType> event_type_from_string(std::string_view s);

// Field limits of API.md.
inline constexpr size_t kMaxAccountBytes = 256;
inline constexpr size_t kMaxUserAgentBytes = 1024;
inline constexpr size_t kMaxDeviceIdBytes = 128;
inline constexpr size_t kMaxProtocolBytes = 32;
inline constexpr size_t kMaxPwhashBytes = 64;
inline constexpr size_t kMaxEmailBytes = 320;
inline constexpr size_t kMaxRecipients = 10'000;
inline constexpr size_t kMaxRecipientBytes = 256;

// One thing that happened, from any source (HTTP API, Dovecot, Postfix, logs).
// Adapters fill it; the engine reads it. `account` is already normalized
// (see normalize_account).
struct Event {
  EventType type = EventType::kLoginAttempt;
  std::string account;
  IpAddress ip;
  std::string user_agent;
  std::string device_id;
  std::string protocol = "web";
  std::string pwhash;
  TimePoint time{};
  bool success = false;  // kLoginResult
  bool mfa = false;      // kLoginResult: a second factor was passed in this login
  std::string old_email, new_email;       // kEmailChanged
  std::vector<std::string> recipients;    // kMessageSent
  std::uint32_t recipient_count = 0;      // kMessageSent (size of recipients), kMailSent
  // kMailSent: only ask whether recipient_count more recipients would be
  // accepted, without counting them (an SMTP RCPT before the message is sent).
  bool dry_run = false;
};

// Trims ASCII whitespace and lower-cases ASCII letters, so that "Alice " and
// "alice" are one account. Fails with `invalid_account` when the result is
// empty, not valid UTF-8, or holds control characters, and with
// `field_too_long` when it is longer than kMaxAccountBytes.
Result<std::string> normalize_account(std::string_view raw);

// True when `s` is well-formed UTF-8.
bool is_valid_utf8(std::string_view s);

}  // namespace mamori

#endif  // MAMORI_CORE_EVENT_H_
