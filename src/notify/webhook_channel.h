#ifndef MAMORI_NOTIFY_WEBHOOK_CHANNEL_H_
#define MAMORI_NOTIFY_WEBHOOK_CHANNEL_H_

#include <memory>
#include <mutex>
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
// permanently with `unknown_webhook`. deliver() runs on the dispatcher's
// thread; reconfigure() may be called from any thread.
class WebhookChannel final : public Channel {
 public:
  explicit WebhookChannel(const NotifyConfig& config, Duration timeout = std::chrono::seconds(10));

  Status deliver(const store::OutboxItem& item, TimePoint now) override;

  // Takes a reloaded config's webhooks and secrets for the next delivery.
  void reconfigure(const NotifyConfig& config);

 private:
  using Secrets = std::unordered_map<std::string, std::string>;  // url -> secret
  mutable std::mutex mu_;
  std::shared_ptr<const Secrets> secrets_;  // guarded by mu_
  WebhookSender sender_;
};

}  // namespace mamori::notify

#endif  // MAMORI_NOTIFY_WEBHOOK_CHANNEL_H_
