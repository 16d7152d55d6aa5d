#include "protocols/http/url_decode.h"

namespace mamori::http {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> decode(std::string_view s, bool plus_is_space, const char* code,
                           const char* where) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      const int hi = i + 1 < s.size() ? hex_value(s[i + 1]) : -1;
      const int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        std::string escape(s.substr(i, 3));
        return make_error(code, "bad percent escape \"" + escape + "\" in the " + where +
                                    ": '%' must be followed by two hex digits");
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

Result<std::string> decode_path_segment(std::string_view segment) {
  return decode(segment, false, "invalid_path", "path");
}

Result<std::string> decode_query_value(std::string_view value) {
  return decode(value, true, "invalid_query", "query");
}

}  // namespace mamori::http
