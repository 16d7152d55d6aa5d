#include "core/json_writer.h"

#include <cmath>
#include <charconv>

namespace mamori {

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
      // Copy a valid UTF-8 sequence whole; replace anything else.
      size_t n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
      bool ok = n != 0 && i + n <= s.size();
      for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
      if (ok) {
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
