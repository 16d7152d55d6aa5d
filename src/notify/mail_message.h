#ifndef MAMORI_NOTIFY_MAIL_MESSAGE_H_
#define MAMORI_NOTIFY_MAIL_MESSAGE_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace mamori::notify {

// One plain-text mail, before encoding.
struct MailMessage {
  std::string from;        // "Display Name <addr@example.com>" or "addr@example.com"
  std::string to;          // an address
  std::string subject;     // UTF-8
  std::string body;        // UTF-8, lines ending in "\n"
  std::string message_id;  // the left part of the Message-ID (before "@")
  TimePoint date{};
  std::vector<std::pair<std::string, std::string>> extra_headers;  // ASCII names and values
};

// Encodes `m` as an RFC 5322 message with CRLF line ends: From, To, Subject
// (RFC 2047 "=?UTF-8?B?...?=" encoded words, folded, when it is not plain
// ASCII), Date, Message-ID "<id@domain of From>", MIME-Version, Content-Type
// text/plain; charset=UTF-8 and a base64 body in 76-character lines. Fails
// with `invalid_address` when an address is malformed or a header value holds
// a line break (header injection).
Result<std::string> encode_message(const MailMessage& m);

// The address inside "Name <addr>" (or the whole text). Fails with
// `invalid_address` (also for a non-ASCII address: mails are sent without
// SMTPUTF8).
Result<std::string> mail_address(std::string_view from);

// RFC 2047 encoded words for a header value, folded with CRLF + space; plain
// ASCII without control characters is returned as it is.
std::string encode_header_text(std::string_view utf8);

// Standard base64 (RFC 4648) without line breaks.
std::string base64(std::string_view data);

// "Tue, 24 Nov 2026 00:00:00 +0000".
std::string rfc5322_date(TimePoint t);

}  // namespace mamori::notify

#endif  // MAMORI_NOTIFY_MAIL_MESSAGE_H_
