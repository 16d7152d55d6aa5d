#include "core/event.h"

#include <utf8proc.h>

#include <array>
#include <cstdint>

namespace mamori {

namespace {
constexpr std::array<std::string_view, kEventTypeCount> kNames = {
    "login_attempt",    "login_result",     "password_changed", "email_changed",
    "mfa_enabled",      "mfa_disabled",     "challenge_passed", "challenge_failed",
    "message_sent",     "mail_sent",        "logout",           "operator_action"};
}  // namespace

std::string_view to_string(EventType t) { return kNames[static_cast<size_t>(t)]; }

std::optional<EventType> event_type_from_string(std::string_view s) {
  for (size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == s) return static_cast<EventType>(i);
  return std::nullopt;
}

std::optional<EventType> account_event_type_from_string(std::string_view s) {
  auto t = event_type_from_string(s);
  if (!t || *t == EventType::kLoginAttempt || *t == EventType::kLoginResult ||
      *t == EventType::kOperatorAction)
    return std::nullopt;
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

namespace {

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool is_ascii(std::string_view s) {
  unsigned char any = 0;
  for (char c : s) any |= static_cast<unsigned char>(c);
  return any < 0x80;
}

// Unicode's White_Space property (PropList.txt; unchanged since Unicode 6.3).
bool is_white_space(std::int32_t cp) {
  if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0d);
  if (cp < 0x85) return false;
  return cp == 0x85 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

// What is trimmed from the ends of a name before it is measured.
bool is_trimmed(std::int32_t cp) {
  return is_white_space(cp) || utf8proc_get_property(cp)->ignorable;
}

// C0 and C1 controls and DEL, and the line and paragraph separators: a
// name holding one would break log lines and the Postfix and Dovecot replies.
bool is_control(std::int32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029;
}

// The code point that starts at s[i]. REQUIRES: s is valid UTF-8.
std::int32_t decode_at(std::string_view s, std::size_t i, std::size_t& length) {
  std::int32_t cp = 0;
  length = std::size_t(utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i),
                                        utf8proc_ssize_t(s.size() - i), &cp));
  return cp;
}

// `s` without the White_Space and default-ignorable code points at its ends.
// REQUIRES: s is valid UTF-8.
std::string_view trim_unicode(std::string_view s) {
  std::size_t b = 0, n = 0;
  while (b < s.size() && is_trimmed(decode_at(s, b, n))) b += n;
  std::size_t e = s.size();
  while (e > b) {
    std::size_t start = e - 1;
    while (start > b && (static_cast<unsigned char>(s[start]) & 0xc0) == 0x80) --start;
    if (!is_trimmed(decode_at(s, start, n))) break;
    e = start;
  }
  return s.substr(b, e - b);
}

// NFKC with full case folding, default-ignorable code points removed
// (Unicode's NFKC_Casefold, as utf8proc computes it). COMPOSE also tells
// the decomposition step to decompose.
constexpr utf8proc_option_t kNormalization = static_cast<utf8proc_option_t>(
    UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE);

// Code points the normalization of one name may take before composition.
// No code point maps to more than 6 per byte of its UTF-8 (U+FDFA, 3 bytes,
// is 18), so kMaxAccountBytes of input need at most 1,536; and as
// composition merges at most 4 code points into one, a name that needed more
// than this could not come out within kMaxAccountBytes. 8 KiB, on the stack.
constexpr std::size_t kMaxDecomposed = 8 * kMaxAccountBytes;

Result<std::string> too_long() {
  return make_error("field_too_long", "field 'account' is longer than 256 bytes");
}

Result<std::string> empty_name() { return make_error("invalid_account", "account is empty"); }

Result<std::string> has_control() {
  return make_error("invalid_account", "account contains a control character");
}

// The normalization of a name that is not plain ASCII.
// REQUIRES: s is valid UTF-8.
Result<std::string> normalize_unicode(std::string_view s) {
  s = trim_unicode(s);
  if (s.empty()) return empty_name();
  if (s.size() > kMaxAccountBytes) return too_long();
  std::int32_t cps[kMaxDecomposed];
  utf8proc_ssize_t n = utf8proc_decompose(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                          utf8proc_ssize_t(s.size()), cps,
                                          utf8proc_ssize_t(kMaxDecomposed), kNormalization);
  if (n < 0) return make_error("invalid_account", std::string("account: ") + utf8proc_errmsg(n));
  if (std::size_t(n) > kMaxDecomposed) return too_long();
  n = utf8proc_normalize_utf32(cps, n, kNormalization);
  if (n < 0) return make_error("invalid_account", std::string("account: ") + utf8proc_errmsg(n));
  // The compatibility mappings turn the inner no-break, ideographic and
  // other spaces into U+0020; the ends were trimmed above, but a space may
  // have been next to an ignorable code point there.
  std::size_t b = 0, e = std::size_t(n);
  while (b < e && is_white_space(cps[b])) ++b;
  while (e > b && is_white_space(cps[e - 1])) --e;
  if (b == e) return empty_name();
  std::size_t bytes = 0;
  for (std::size_t i = b; i < e; ++i) {
    if (is_control(cps[i])) return has_control();
    bytes += cps[i] < 0x80 ? 1 : cps[i] < 0x800 ? 2 : cps[i] < 0x10000 ? 3 : 4;
  }
  if (bytes > kMaxAccountBytes) return too_long();
  std::string out(bytes, '\0');
  auto* p = reinterpret_cast<utf8proc_uint8_t*>(out.data());
  for (std::size_t i = b; i < e; ++i) p += utf8proc_encode_char(cps[i], p);
  return out;
}

}  // namespace

Result<std::string> normalize_account(std::string_view raw) {
  std::size_t b = 0, e = raw.size();
  while (b < e && is_ascii_space(raw[b])) ++b;
  while (e > b && is_ascii_space(raw[e - 1])) --e;
  const std::string_view s = raw.substr(b, e - b);
  if (!is_ascii(s)) {
    if (!is_valid_utf8(s)) return make_error("invalid_account", "account is not valid UTF-8");
    return normalize_unicode(s);
  }
  // Plain ASCII: NFKC and default-ignorable removal change nothing, case
  // folding is A-Z to a-z. One copy, no other allocation.
  if (s.empty()) return empty_name();
  if (s.size() > kMaxAccountBytes) return too_long();
  std::string out(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return has_control();
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  }
  return out;
}

}  // namespace mamori
