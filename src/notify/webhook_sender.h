#ifndef MAMORI_NOTIFY_WEBHOOK_SENDER_H_
#define MAMORI_NOTIFY_WEBHOOK_SENDER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "notify/curl_handle.h"

namespace mamori::notify {

// The signature header of a webhook request: "sha256=" and the lower-case hex
// HMAC-SHA256, keyed with the webhook's secret, of "<timestamp>.<body>"
// (the decimal Unix seconds of X-Mamori-Timestamp, a dot, the raw body).
std::string webhook_signature(std::string_view secret, std::int64_t timestamp,
                              std::string_view body);

// `url` without its path and query, which often hold a secret of their own
// ("https://hooks.example.com/…"): what logs and stored errors show.
std::string redacted_url(std::string_view url);

// POSTs signed JSON to operators' webhooks over libcurl (http or https, the
// system's CA store for https). Headers: Content-Type: application/json,
// X-Mamori-Timestamp, X-Mamori-Signature, X-Mamori-Delivery (the outbox id,
// the same on every attempt, for de-duplication). Thread-compatible.
class WebhookSender {
 public:
  explicit WebhookSender(Duration timeout);
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // OK when the receiver answered 2xx. Fails with `webhook_failed`: the HTTP
  // status, or curl's description of the connection error.
  Status post(const std::string& url, std::string_view secret, std::string_view delivery_id,
              std::string_view body, std::int64_t timestamp);

 private:
  const Duration timeout_;
  CurlHandle curl_;
};

}  // namespace mamori::notify

#endif  // MAMORI_NOTIFY_WEBHOOK_SENDER_H_
