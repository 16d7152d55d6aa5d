#ifndef MAMORI_NOTIFY_EMAIL_CHANNEL_H_
#define MAMORI_NOTIFY_EMAIL_CHANNEL_H_

#include <memory>
#include <mutex>
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
// malformed, fails permanently; without an [smtp] host delivery fails with
// `channel_disabled`. deliver() and message_for() run on the
// dispatcher's thread; reconfigure() may be called from any thread.
class EmailChannel final : public Channel {
 public:
  explicit EmailChannel(const NotifyConfig& config);

  // Takes a reloaded config (relay, sender, service name, help URL) for the
  // next delivery; one in flight finishes with the old one.
  void reconfigure(const NotifyConfig& config);

  Status deliver(const store::OutboxItem& item, TimePoint now) override;

  // The message deliver() sends for `item`.
  Result<std::string> message_for(const store::OutboxItem& item) const;

 private:
  struct Settings {
    explicit Settings(const NotifyConfig& config);
    bool enabled;  // an [smtp] host is set
    TemplateOptions templates;
    std::string from;
    SmtpSender smtp;
  };
  std::shared_ptr<Settings> settings() const;

  mutable std::mutex mu_;
  std::shared_ptr<Settings> settings_;  // guarded by mu_; smtp used by deliver() only
};

}  // namespace mamori::notify

#endif  // MAMORI_NOTIFY_EMAIL_CHANNEL_H_
