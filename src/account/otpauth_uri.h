#ifndef MAMORI_ACCOUNT_OTPAUTH_URI_H_
#define MAMORI_ACCOUNT_OTPAUTH_URI_H_

#include <string>
#include <string_view>

namespace mamori::account {

// Percent-encodes everything but RFC 3986's unreserved characters
// (A-Z a-z 0-9 - . _ ~); a space becomes %20, UTF-8 bytes are escaped one by one.
std::string uri_percent_encode(std::string_view s);

// The Key URI of Google Authenticator's format:
//   otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
// with issuer and account percent-encoded in the label and the parameter.
std::string otpauth_uri(std::string_view issuer, std::string_view account,
                        std::string_view secret_base32, int digits = 6, int period_seconds = 30);

}  // namespace mamori::account

#endif  // MAMORI_ACCOUNT_OTPAUTH_URI_H_
