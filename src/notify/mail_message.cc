#include "notify/mail_message.h"

#include <date/date.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdio>

namespace mamori::notify {

namespace {

bool plain_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f;
  });
}

bool has_line_break(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos ||
         s.find('\0') != std::string_view::npos;
}

// Bytes of encoded-word text per word: 39 bytes are 52 base64 characters, a
// word of 64, so that "Subject: " and the first word stay within 78.
constexpr std::size_t kWordBytes = 39;

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

bool valid_addr_spec(std::string_view a) {
  const auto at = a.rfind('@');
  if (a.empty() || a.size() > 320 || at == std::string_view::npos || at == 0 || at + 1 == a.size())
    return false;
  return std::all_of(a.begin(), a.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != '<' && c != '>' && c != ',' && c != '"';
  });
}

}  // namespace

std::string base64(std::string_view data) {
  const std::size_t n = sodium_base64_encoded_len(data.size(), sodium_base64_VARIANT_ORIGINAL);
  std::string out(n, '\0');
  sodium_bin2base64(out.data(), n, reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(n - 1);  // the terminating NUL
  return out;
}

std::string encode_header_text(std::string_view s) {
  if (plain_ascii(s)) return std::string(s);
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t end = std::min(s.size(), i + kWordBytes);
    // Do not split a UTF-8 sequence: back up to the start of a character.
    while (end < s.size() && end > i + 1 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80)
      --end;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(s.substr(i, end - i)) + "?=";
    i = end;
  }
  return out;
}

Result<std::string> mail_address(std::string_view from) {
  std::string addr;
  const auto lt = from.rfind('<');
  if (lt != std::string_view::npos) {
    const auto gt = from.find('>', lt);
    if (gt == std::string_view::npos || trim(from.substr(gt + 1)) != "")
      return make_error("invalid_address", "malformed address '" + std::string(from) + "'");
    addr = trim(from.substr(lt + 1, gt - lt - 1));
  } else {
    addr = trim(from);
  }
  if (has_line_break(from) || !valid_addr_spec(addr))
    return make_error("invalid_address", "malformed address '" + std::string(from) + "'");
  return addr;
}

std::string rfc5322_date(TimePoint t) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto day = date::floor<date::days>(t);
  const date::year_month_day ymd(day);
  const date::hh_mm_ss<Duration> hms(t - day);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02d:%02d:%02d +0000",
                kDays[date::weekday(day).c_encoding()], unsigned(ymd.day()),
                kMonths[unsigned(ymd.month()) - 1], int(ymd.year()), int(hms.hours().count()),
                int(hms.minutes().count()), int(hms.seconds().count()));
  return buf;
}

Result<std::string> encode_message(const MailMessage& m) {
  auto from_addr = mail_address(m.from);
  if (!from_addr) return from_addr.error();
  auto to_addr = mail_address(m.to);
  if (!to_addr) return to_addr.error();
  if (has_line_break(m.subject) || has_line_break(m.message_id) || !plain_ascii(m.message_id))
    return make_error("invalid_address", "a header value holds a line break");
  for (const auto& [name, value] : m.extra_headers)
    if (!plain_ascii(name) || !plain_ascii(value) || name.find(':') != std::string::npos)
      return make_error("invalid_address", "header " + name + " is not plain ASCII");

  std::string from = *from_addr;
  const auto lt = m.from.rfind('<');
  if (lt != std::string::npos) {
    const std::string display = trim(std::string_view(m.from).substr(0, lt));
    if (!display.empty()) {
      std::string phrase;
      if (plain_ascii(display)) {
        phrase = "\"";
        for (char c : display) {
          if (c == '"' || c == '\\') phrase += '\\';
          phrase += c;
        }
        phrase += "\"";
      } else {
        phrase = encode_header_text(display);
      }
      from = phrase + " <" + *from_addr + ">";
    }
  }
  const std::string domain = from_addr->substr(from_addr->rfind('@') + 1);

  std::string out;
  out += "From: " + from + "\r\n";
  out += "To: " + *to_addr + "\r\n";
  out += "Subject: " + encode_header_text(m.subject) + "\r\n";
  out += "Date: " + rfc5322_date(m.date) + "\r\n";
  out += "Message-ID: <" + m.message_id + "@" + domain + ">\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=UTF-8\r\n";
  out += "Content-Transfer-Encoding: base64\r\n";
  for (const auto& [name, value] : m.extra_headers) out += name + ": " + value + "\r\n";
  out += "\r\n";

  std::string body;
  body.reserve(m.body.size() + m.body.size() / 32);
  for (char c : m.body) {
    if (c == '\n')
      body += "\r\n";
    else if (c != '\r')
      body += c;
  }
  const std::string b64 = base64(body);
  for (std::size_t i = 0; i < b64.size(); i += 76) {
    out.append(b64, i, 76);
    out += "\r\n";
  }
  return out;
}

}  // namespace mamori::notify
