#include "notify/webhook_channel.h"

namespace mamori::notify {

WebhookChannel::WebhookChannel(const NotifyConfig& config, Duration timeout) : sender_(timeout) {
  reconfigure(config);
}

void WebhookChannel::reconfigure(const NotifyConfig& config) {
  auto secrets = std::make_shared<Secrets>();
  for (const WebhookConfig& w : config.webhooks) (*secrets)[w.url] = w.secret;
  std::lock_guard lock(mu_);
  secrets_ = std::move(secrets);
}

Status WebhookChannel::deliver(const store::OutboxItem& item, TimePoint now) {
  std::shared_ptr<const Secrets> secrets;
  {
    std::lock_guard lock(mu_);
    secrets = secrets_;
  }
  auto it = secrets->find(item.destination);
  if (it == secrets->end())
    return make_error("unknown_webhook",
                      redacted_url(item.destination) + " is no longer a configured webhook");
  const std::int64_t ts = to_unix_ms(now) / 1000;
  return sender_.post(item.destination, it->second, item.id, item.payload, ts);
}

}  // namespace mamori::notify
