#include "core/event.h"

#include <array>

namespace mamori {

namespace {
constexpr std::array<std::string_view, kEventTypeCount> kNames = {
    "login_attempt",    "login_result",     "password_changed", "email_changed",
    "mfa_enabled",      "mfa_disabled",     "challenge_passed", "challenge_failed",
    "message_sent",     "mail_sent",        "logout"};
}  // namespace

std::string_view to_string(EventType t) { return kNames[static_cast<size_t>(t)]; }

std::optional<EventType> event_type_from_string(std::string_view s) {
  for (size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == s) return static_cast<EventType>(i);
  return std::nullopt;
}

std::optional<EventType> account_event_type_from_string(std::string_view s) {
  auto t = event_type_from_string(s);
  if (!t || *t == EventType::kLoginAttempt || *t == EventType::kLoginResult) return std::nullopt;
  return t;
}

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    size_t n;
    std::uint32_t cp;
    if (c < 0x80) { ++i; continue; }
    if ((c & 0xe0) == 0xc0) { n = 1; cp = c & 0x1f; }
    else if ((c & 0xf0) == 0xe0) { n = 2; cp = c & 0x0f; }
    else if ((c & 0xf8) == 0xf0) { n = 3; cp = c & 0x07; }
    else return false;
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      const unsigned char cc = s[i + k];
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n + 1;
  }
  return true;
}

Result<std::string> normalize_account(std::string_view raw) {
  size_t b = 0, e = raw.size();
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (b < e && space(raw[b])) ++b;
  while (e > b && space(raw[e - 1])) --e;
  std::string_view s = raw.substr(b, e - b);
  if (s.empty()) return make_error("invalid_account", "account is empty");
  if (s.size() > kMaxAccountBytes)
    return make_error("field_too_long", "field 'account' is longer than 256 bytes");
  if (!is_valid_utf8(s)) return make_error("invalid_account", "account is not valid UTF-8");
  std::string out(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return make_error("invalid_account", "account contains a control character");
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  }
  return out;
}

}  // namespace mamori
