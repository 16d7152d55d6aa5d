#ifndef MAMORI_PROTOCOLS_LOGS_LOG_FORMAT_H_
#define MAMORI_PROTOCOLS_LOGS_LOG_FORMAT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "protocols/logs/line_time.h"

namespace mamori::logs {

// What one log line says.
enum class LineKind : std::uint8_t {
  kNone,       // not a login line
  kLogin,      // a login's result (LoginLine)
  kNoAccount,  // a login line that names no account (Dovecot's failures before USER, Postfix's
               // SASL failures of old versions): counted, no event
  kBadTime,    // a login line whose time could not be read: counted, no event
  kCounted,    // a login line already counted at another (sshd's "Failed password for invalid
               // user" after its "Invalid user")
  kSend,       // a line that completes an authenticated send (LoginLine's account, ip, time and
               // sent_recipients): Postfix's qmgr line joined with its message's client line
};
inline constexpr int kLineKindCount = 6;
std::string_view to_string(LineKind k);

// The fields of a login line, as views into the parsed text (valid until it
// changes). Nothing is normalized or validated yet.
struct LoginLine {
  std::string_view account;
  std::string_view ip;
  std::string_view user_agent;
  std::string_view protocol;  // "imap", "pop3", "smtp", "sieve", "ssh", "web", or configured
  TimePoint time{};
  bool success = false;
  int attempts = 1;  // failed attempts the line reports (Dovecot: "auth failed, 3 attempts")
  // kLogin, kSend: the line completed an authenticated send of this many
  // recipients by the account from the address (Postfix; 0: none).
  std::uint32_t sent_recipients = 0;
};

// A `[[logs]]` source's format settings.
struct FormatConfig {
  std::string name;  // dovecot, postfix, sshd, nginx, apache, custom
  // nginx, apache: the login URL's path (the query is ignored); POSTs to it
  // are logins, their status the result.
  std::string login_path;
  // nginx, apache: status codes ("401") or classes ("4xx") of a success and a
  // failure; a status in neither is not a login.
  std::vector<std::string> success_status = {"2xx", "3xx"};
  std::vector<std::string> failure_status = {"401", "403"};
  // custom: an RE2 regular expression with the named captures `ip`,
  // `account`, `result` and optionally `time` and `protocol`.
  std::string pattern;
  std::string time_format;  // custom: how `time` reads (TimeFormat); default RFC 3339 or syslog
  std::string protocol;     // the events' protocol instead of the format's
  // dovecot, postfix, sshd: a line that starts with no timestamp takes the
  // time it is read instead of being skipped (bad_time), for files written
  // without stamps (`sshd -E FILE`). `time = "read"` in `[[logs]]`.
  bool time_read = false;
};

// The format names make() knows.
inline constexpr std::string_view kFormatNames[] = {"dovecot", "postfix", "sshd",
                                                    "nginx",   "apache",  "custom"};

// Turns a log's lines into login results (and, for postfix, authenticated
// sends: smtpd's client line and qmgr's "queue active" line of one message
// joined by queue id, SendJoin). The stock formats (dovecot,
// postfix, sshd) recognise their lines with one multi-pattern scan
// (Vectorscan) over the line after its timestamp, then read the fields at
// the match by hand, from the end where a name given by the client could
// imitate them; nginx and apache read the combined access log's fields;
// custom runs its RE2 expression.
// Not thread-safe: one instance per reading thread (it holds the scan's
// scratch space and the time cache). The compiled patterns are shared, and
// compiled at the first line a stock format reads, not when it is made (the
// config check makes one of each: mamorid's start does not wait for it).
class LogFormat {
 public:
  // Fails with `invalid_format` (unknown name, missing or contradictory
  // settings, a pattern that does not compile or lacks a capture) or
  // `invalid_time_format`. `clock` gives the year of year-less stamps and
  // must outlive the format.
  static Result<std::unique_ptr<LogFormat>> make(const FormatConfig& config, const Clock& clock);
  virtual ~LogFormat() = default;

  // One line of a file, without its newline.
  virtual LineKind parse_line(std::string_view line, LoginLine& out) = 0;
  // One journal entry's MESSAGE, logged at `time`.
  virtual LineKind parse_message(std::string_view message, TimePoint time, LoginLine& out) = 0;

  // Authenticated sends whose two lines never joined (postfix: a client
  // line whose queue line did not come within its wait, SendJoin); 0 for
  // the formats that join none.
  virtual std::uint64_t sends_dropped() const { return 0; }

  const std::string& name() const { return name_; }

 protected:
  explicit LogFormat(std::string name) : name_(std::move(name)) {}

 private:
  std::string name_;
};

}  // namespace mamori::logs

#endif  // MAMORI_PROTOCOLS_LOGS_LOG_FORMAT_H_
