#include "account/otpauth_uri.h"

namespace mamori::account {

std::string uri_percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += char(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string otpauth_uri(std::string_view issuer, std::string_view account,
                        std::string_view secret_base32, int digits, int period_seconds) {
  const std::string is = uri_percent_encode(issuer);
  std::string out = "otpauth://totp/";
  out += is;
  out += ':';
  out += uri_percent_encode(account);
  out += "?secret=";
  out += secret_base32;
  out += "&issuer=";
  out += is;
  out += "&algorithm=SHA1&digits=" + std::to_string(digits) +
         "&period=" + std::to_string(period_seconds);
  return out;
}

}  // namespace mamori::account
