#ifndef MAMORI_NOTIFY_WEBHOOK_CHANNEL_H_
#define MAMORI_NOTIFY_WEBHOOK_CHANNEL_H_

#include <string>
#include <unordered_map>

#include "notify/dispatcher.h"
#include "notify/notify_config.h"
#include "notify/webhook_sender.h"

namespace mamori::notify {

// Webhook alerts: POSTs a `webhook` item's payload to its URL, signed with
// the secret the config has for that URL now (secrets are not stored in the
// outbox, so a rotated secret applies to what is still queued), stamped with
// the current time. An item whose URL is no longer configured fails
// permanently with `unknown_webhook`. Thread-compatible.
class WebhookChannel final : public Channel {
 public:
  explicit WebhookChannel(const NotifyConfig& config, Duration timeout = std::chrono::seconds(10));

  Status deliver(const store::OutboxItem& item, TimePoint now) override;

 private:
  std::unordered_map<std::string, std::string> secrets_;  // url -> secret
  WebhookSender sender_;
};

}  // namespace mamori::notify

#endif  // MAMORI_NOTIFY_WEBHOOK_CHANNEL_H_
