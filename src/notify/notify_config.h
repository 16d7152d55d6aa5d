#ifndef MAMORI_NOTIFY_NOTIFY_CONFIG_H_
#define MAMORI_NOTIFY_NOTIFY_CONFIG_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.h"

namespace mamori::notify {

// Whether the SMTP session is upgraded with STARTTLS: never, when the relay
// offers it, or always (the delivery fails when the relay does not offer it).
enum class StartTls : std::uint8_t { kOff, kTry, kRequire };

// The relay owner notices go through (`[smtp]`). No host: no e-mail; owner
// notices are then not queued (`notified` is false).
struct SmtpConfig {
  std::string host;
  std::uint16_t port = 25;
  StartTls starttls = StartTls::kTry;
  std::string username, password;  // both empty: no SMTP AUTH
  std::string from;                // "Example <noreply@example.com>" or an address
  Duration timeout = std::chrono::seconds(30);

  bool enabled() const { return !host.empty(); }
};

// One operator webhook (`[[webhooks]]`): every decision above allow is POSTed
// to `url`, signed with `secret` (HMAC-SHA256, see WebhookSender).
struct WebhookConfig {
  std::string url;
  std::string secret;
};

// Owner notices and webhook alerts (`[notify]`, `[smtp]`, `[[webhooks]]`).
struct NotifyConfig {
  std::string service_name = "mamori";  // names the service in the mails
  std::string help_url;                 // the operator's page on securing or recovering an account
  // Retries: the n-th failed attempt waits retry_initial * 2^(n-1), at most
  // retry_max, with jitter; an item still undelivered give_up_after its
  // creation is marked failed and logged.
  Duration retry_initial = std::chrono::seconds(5);
  Duration retry_max = std::chrono::minutes(15);
  Duration give_up_after = std::chrono::hours(72);
  // A webhook alert repeating an earlier one (same IP, account, action,
  // first reason and incident) within this window is not sent again.
  Duration alert_repeat_window = std::chrono::seconds(60);
  SmtpConfig smtp;
  std::vector<WebhookConfig> webhooks;
};

}  // namespace mamori::notify

#endif  // MAMORI_NOTIFY_NOTIFY_CONFIG_H_
