#ifndef MAMORI_NOTIFY_SMTP_SENDER_H_
#define MAMORI_NOTIFY_SMTP_SENDER_H_

#include <string>
#include <string_view>

#include "core/result.h"
#include "notify/curl_handle.h"
#include "notify/notify_config.h"

namespace mamori::notify {

// Hands encoded messages to the SMTP relay of `[smtp]` over libcurl
// (smtp://host:port, STARTTLS as configured, SMTP AUTH when a username is
// set). The connection is kept open between messages while the relay allows.
// Thread-compatible: the dispatcher's one thread calls send().
class SmtpSender {
 public:
  explicit SmtpSender(SmtpConfig config);
  SmtpSender(const SmtpSender&) = delete;
  SmtpSender& operator=(const SmtpSender&) = delete;

  // Sends `message` (CRLF lines) from the envelope sender `mail_from` to
  // `rcpt_to`. OK means the relay accepted it (250 after DATA). Fails with
  // `smtp_failed` and curl's description with the relay's reply.
  Status send(std::string_view mail_from, std::string_view rcpt_to, std::string_view message);

  const SmtpConfig& config() const { return config_; }

 private:
  const SmtpConfig config_;
  CurlHandle curl_;
};

}  // namespace mamori::notify

#endif  // MAMORI_NOTIFY_SMTP_SENDER_H_
