#ifndef MAMORI_PROTOCOLS_LOGS_STOCK_PATTERNS_H_
#define MAMORI_PROTOCOLS_LOGS_STOCK_PATTERNS_H_

#include <cstdint>
#include <span>
#include <string_view>

namespace mamori::logs {

// What a stock pattern recognises; the fields are read by hand from the
// match's end (log_format.cc).
enum class StockLine : std::uint8_t {
  kDovecotLogin,       // "imap-login: Login: user=<..>, method=.., rip=.."
  kDovecotAuthFailed,  // "imap-login: Disconnected (auth failed, 2 attempts): user=<..>, .. rip=.."
  kPostfixSaslFailed,  // "warning: host[ip]: SASL LOGIN authentication failed: ..,
                       // sasl_username=.."
  kPostfixSaslClient,  // "QUEUEID: client=host[ip], sasl_method=PLAIN, sasl_username=.."
  kPostfixQueueActive,  // qmgr's "QUEUEID: from=<..>, size=N, nrcpt=K (queue active)"
  kSshdFailed,          // "Failed password for [invalid user ]NAME from IP port N ssh2"
  kSshdInvalidUser,     // "Invalid user NAME from IP port N"
  kSshdAccepted,        // "Accepted publickey for NAME from IP port N ssh2: .."
};

struct StockPattern {
  StockLine line;
  std::string_view protocol;
  std::string_view regex;  // matched against the line after its timestamp, or a journal MESSAGE
};

// The patterns of the stock formats `dovecot`, `postfix` and `sshd`, in
// order of precedence; empty for another name. The prefix alternatives match
// a syslog line ("host dovecot[12]: ..."), Dovecot's own log file ("imap-login:
// Info: ...") and a journal MESSAGE alike.
std::span<const StockPattern> stock_patterns(std::string_view format);

}  // namespace mamori::logs

#endif  // MAMORI_PROTOCOLS_LOGS_STOCK_PATTERNS_H_
