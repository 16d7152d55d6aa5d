#include "core/json_writer.h"

#include <charconv>
#include <cmath>
#include <cstdint>

namespace mamori {

namespace {

// The length of the well-formed UTF-8 sequence at s[i] (RFC 3629: the
// shortest form, no surrogate, at most U+10FFFF), or 0 when there is none.
size_t utf8_sequence(std::string_view s, size_t i) {
  const unsigned char c = s[i];
  size_t n;
  std::uint32_t cp;
  if ((c & 0xe0) == 0xc0) {
    n = 2;
    cp = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3;
    cp = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const unsigned char cc = s[i + k];
    if ((cc & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3f);
  }
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
      cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

}  // namespace

JsonWriter& JsonWriter::value(double d) {
  sep();
  if (!std::isfinite(d)) {
    out_ += "null";
    return *this;
  }
  char buf[32];  // the shortest text that reads back as the same double
  const auto r = std::to_chars(buf, buf + sizeof buf, d);
  out_.append(buf, r.ptr);
  return *this;
}

void JsonWriter::append_string(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out_ += '"';
  // Printable ASCII other than '"' and '\\' goes out as it is.
  auto plain = [](unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; };
  size_t i = 0;
  while (i < s.size()) {
    // A run of plain characters (a user agent, an account name: often the
    // whole string) is appended at once.
    size_t end = i;
    while (end < s.size() && plain(static_cast<unsigned char>(s[end]))) ++end;
    out_.append(s.data() + i, end - i);
    i = end;
    if (i == s.size()) break;
    const unsigned char c = s[i];
    if (c >= 0x80) {
      // Copy a valid UTF-8 sequence whole; replace anything else (an
      // overlong form or a surrogate too: JSON readers refuse them).
      const size_t n = utf8_sequence(s, i);
      if (n != 0) {
        out_.append(s.data() + i, n);
        i += n;
      } else {
        out_ += "\xef\xbf\xbd";
        ++i;
      }
      continue;
    }
    switch (c) {
      case '"': out_ += "\\\""; break;
      case '\\': out_ += "\\\\"; break;
      case '\n': out_ += "\\n"; break;
      case '\r': out_ += "\\r"; break;
      case '\t': out_ += "\\t"; break;
      default:
        if (c < 0x20) {
          out_ += "\\u00";
          out_ += kHex[c >> 4];
          out_ += kHex[c & 15];
        } else {
          out_ += char(c);
        }
    }
    ++i;
  }
  out_ += '"';
}

}  // namespace mamori
