#ifndef MAMORI_NOTIFY_EMAIL_CHANNEL_H_
#define MAMORI_NOTIFY_EMAIL_CHANNEL_H_

#include <string>

#include "notify/dispatcher.h"
#include "notify/mail_message.h"
#include "notify/notify_config.h"
#include "notify/smtp_sender.h"
#include "notify/templates.h"

namespace mamori::notify {

// Owner notices by e-mail: renders an `email` item's facts with the templates
// of the owner's language, encodes the message (Message-ID from the item id,
// Date from its creation, so every attempt sends the same message) and hands
// it to the SMTP relay. A payload that does not decode, or an address that is
// malformed, fails permanently. Thread-compatible (the dispatcher's thread).
class EmailChannel final : public Channel {
 public:
  explicit EmailChannel(const NotifyConfig& config);

  Status deliver(const store::OutboxItem& item, TimePoint now) override;

  // The message deliver() sends for `item`.
  Result<std::string> message_for(const store::OutboxItem& item) const;

 private:
  TemplateOptions templates_;
  std::string from_;
  SmtpSender smtp_;
};

}  // namespace mamori::notify

#endif  // MAMORI_NOTIFY_EMAIL_CHANNEL_H_
