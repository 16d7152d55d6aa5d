#include "notify/webhook_channel.h"

namespace mamori::notify {

WebhookChannel::WebhookChannel(const NotifyConfig& config, Duration timeout) : sender_(timeout) {
  for (const WebhookConfig& w : config.webhooks) secrets_[w.url] = w.secret;
}

Status WebhookChannel::deliver(const store::OutboxItem& item, TimePoint now) {
  auto it = secrets_.find(item.destination);
  if (it == secrets_.end())
    return make_error("unknown_webhook",
                      redacted_url(item.destination) + " is no longer a configured webhook");
  const std::int64_t ts = to_unix_ms(now) / 1000;
  return sender_.post(item.destination, it->second, item.id, item.payload, ts);
}

}  // namespace mamori::notify
