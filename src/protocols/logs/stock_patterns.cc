#include "protocols/logs/stock_patterns.h"

namespace mamori::logs {

namespace {

// The program's tag in a syslog line, or the start of a journal MESSAGE /
// Dovecot's own log line.
#define DOVECOT_TAG "(^|dovecot(\\[[0-9]+\\])?: )"
#define DOVECOT_FAIL                                                                     \
  "-login: (Info: )?(Disconnected|Login aborted|Aborted login|Remote closed connection|" \
  "Client has quit the connection)[^(]*\\(auth failed, "
#define POSTFIX_TAG "(^|postfix(-[A-Za-z0-9]+)?(/[A-Za-z0-9_.-]+)+\\[[0-9]+\\]: )"
#define SSHD_TAG "(^|sshd\\[[0-9]+\\]: )"

constexpr StockPattern kDovecot[] = {
    {StockLine::kDovecotLogin, "imap", DOVECOT_TAG "imap-login: (Info: )?Login: "},
    {StockLine::kDovecotLogin, "pop3", DOVECOT_TAG "pop3-login: (Info: )?Login: "},
    {StockLine::kDovecotLogin, "smtp", DOVECOT_TAG "submission-login: (Info: )?Login: "},
    {StockLine::kDovecotLogin, "sieve", DOVECOT_TAG "managesieve-login: (Info: )?Login: "},
    {StockLine::kDovecotAuthFailed, "imap", DOVECOT_TAG "imap" DOVECOT_FAIL},
    {StockLine::kDovecotAuthFailed, "pop3", DOVECOT_TAG "pop3" DOVECOT_FAIL},
    {StockLine::kDovecotAuthFailed, "smtp", DOVECOT_TAG "submission" DOVECOT_FAIL},
    {StockLine::kDovecotAuthFailed, "sieve", DOVECOT_TAG "managesieve" DOVECOT_FAIL},
};

constexpr StockPattern kPostfix[] = {
    {StockLine::kPostfixSaslFailed, "smtp",
     POSTFIX_TAG
     "warning: [^ \\[]*\\[[0-9A-Fa-f:.]+\\]: SASL [A-Za-z0-9_-]+ authentication failed"},
    {StockLine::kPostfixSaslClient, "smtp",
     POSTFIX_TAG "[0-9A-Za-z]+: client=[^ \\[]*\\[[0-9A-Fa-f:.]+\\](:[0-9]+)?, sasl_method=[^,]*, "
                 "sasl_username="},
    {StockLine::kPostfixQueueActive, "smtp", POSTFIX_TAG "[0-9A-Za-z]+: from=<"},
};

constexpr StockPattern kSshd[] = {
    {StockLine::kSshdAccepted, "ssh",
     SSHD_TAG
     "Accepted (password|publickey|keyboard-interactive/pam|gssapi-with-mic|hostbased) for "},
    {StockLine::kSshdFailed, "ssh", SSHD_TAG "Failed (password|keyboard-interactive/pam) for "},
    {StockLine::kSshdInvalidUser, "ssh", SSHD_TAG "Invalid user "},
};

#undef DOVECOT_TAG
#undef DOVECOT_FAIL
#undef POSTFIX_TAG
#undef SSHD_TAG

}  // namespace

std::span<const StockPattern> stock_patterns(std::string_view format) {
  if (format == "dovecot") return kDovecot;
  if (format == "postfix") return kPostfix;
  if (format == "sshd") return kSshd;
  return {};
}

}  // namespace mamori::logs
