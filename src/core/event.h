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

// What happened. The wire names (docs/openapi.json) are given by to_string().
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
  // An operator's action on the account (activity log only; never an
  // Event the engine processes, nor accepted by /v1/events).
  kOperatorAction,
};
inline constexpr int kEventTypeCount = 12;

std::string_view to_string(EventType t);
// The types accepted in `/v1/events` (not the two login types).
std::optional<EventType> account_event_type_from_string(std::string_view s);
std::optional<EventType> event_type_from_string(std::string_view s);

// Field limits of the API's event fields (docs/openapi.json).
inline constexpr size_t kMaxAccountBytes = 256;
inline constexpr size_t kMaxUserAgentBytes = 1024;
inline constexpr size_t kMaxDeviceIdBytes = 128;
inline constexpr size_t kMaxProtocolBytes = 32;
inline constexpr size_t kMaxPwhashBytes = 64;
inline constexpr size_t kMaxClientFingerprintBytes = 256;
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
  // The app's fingerprint of the client beyond its user agent (a TLS JA4
  // hash, the order of its HTTP headers); "" when it sent none.
  std::string client_fingerprint;
  TimePoint time{};
  bool success = false;  // kLoginResult
  bool mfa = false;      // kLoginResult: a second factor was passed in this login
  // kLoginResult: whether the account exists at the app, when it says so (a
  // failure for an account it does not have is a sign of a stuffing list).
  std::optional<bool> account_known;
  std::string old_email, new_email;       // kEmailChanged
  std::vector<std::string> recipients;    // kMessageSent
  std::uint32_t recipient_count = 0;      // kMessageSent (size of recipients), kMailSent
  // kMailSent: only ask whether recipient_count more recipients would be
  // accepted, without counting them (an SMTP RCPT before the message is sent).
  bool dry_run = false;
  // The event's id when its source gives it one that is the same on every
  // read (a log line's, see protocols/logs/line_ids.h); empty: the engine
  // makes a fresh one.
  std::string id;
};

// The account key of a name as a client sent it, so that names an
// application takes for one user are one account to mamori: "Alice ",
// "ALICE", fullwidth "ＡＬＩＣＥ", "ali<U+200B>ce" and "<U+00A0>alice" all
// become "alice". Every adapter (HTTP bodies, paths and queries, Dovecot,
// Postfix, lists' `account:` targets) calls it. In order:
//   1. White_Space (ASCII spaces, tab, CR, LF, NBSP, ideographic space, ...)
//      and default-ignorable code points (zero-width space and joiners, soft
//      hyphen, BOM, variation selectors, ...) are trimmed from both ends;
//   2. what remains must be at most kMaxAccountBytes bytes, so the work and
//      memory below are bounded whatever the caller accepted;
//   3. NFKC, full Unicode case folding (not Turkic: "I" becomes "i", "ı"
//      stays "ı"; "ß" becomes "ss") and removal of every default-ignorable
//      code point, i.e. Unicode's NFKC_Casefold (libutf8proc): "é" composed
//      and e + U+0301 are one name, the Kelvin sign becomes "k", the
//      ligature "ﬁ" becomes "fi", inner NBSP and ideographic spaces become
//      U+0020;
//   4. White_Space is trimmed again, and the result must again be at most
//      kMaxAccountBytes bytes (NFKC expands some code points up to 18 times).
// Plain ASCII names take a fast path (trim, A-Z to a-z, one copy) with the
// same result. The function is idempotent. Fails with `invalid_account` when
// the name is empty (or only spaces and ignorable code points), not valid
// UTF-8, or holds a control character (C0, DEL, C1) or a line or paragraph
// separator, and with `field_too_long` when step 2 or 4 finds it longer than
// kMaxAccountBytes. Thread-safe; uses at most 8 KiB of stack.
Result<std::string> normalize_account(std::string_view raw);

// True when `s` is well-formed UTF-8.
bool is_valid_utf8(std::string_view s);

}  // namespace mamori

#endif  // MAMORI_CORE_EVENT_H_
