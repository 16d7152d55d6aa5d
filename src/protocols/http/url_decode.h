#ifndef MAMORI_PROTOCOLS_HTTP_URL_DECODE_H_
#define MAMORI_PROTOCOLS_HTTP_URL_DECODE_H_

#include <string>
#include <string_view>

#include "core/result.h"

namespace mamori::http {

// The two parts of a request target follow different encodings, so each has
// its own decoder. Both return the decoded bytes as they are (no UTF-8 or
// other check: the caller validates the value it expects).

// A path segment is percent-encoded (RFC 3986): "%XX" is the byte 0xXX and
// every other character is itself, '+' included ("bob+shop@x.jp" names
// exactly that account). Split the path at '/' first and decode each segment
// after, so that "%2F" is a '/' inside a segment, never a separator. Fails
// with code `invalid_path` on a '%' not followed by two hex digits.
Result<std::string> decode_path_segment(std::string_view segment);

// A query value is form-encoded (application/x-www-form-urlencoded, what
// HTML forms and URLSearchParams send): '+' is a space and "%XX" the byte
// 0xXX, so a literal '+' arrives as "%2B". Fails with code `invalid_query`
// on a '%' not followed by two hex digits.
Result<std::string> decode_query_value(std::string_view value);

}  // namespace mamori::http

#endif  // MAMORI_PROTOCOLS_HTTP_URL_DECODE_H_
