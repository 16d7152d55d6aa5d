#include "notify/email_channel.h"

#include "notify/payload.h"

namespace mamori::notify {

EmailChannel::Settings::Settings(const NotifyConfig& config)
    : enabled(config.smtp.enabled()),
      templates{config.service_name, config.help_url},
      from(config.smtp.from),
      smtp(config.smtp) {}

EmailChannel::EmailChannel(const NotifyConfig& config)
    : settings_(std::make_shared<Settings>(config)) {}

void EmailChannel::reconfigure(const NotifyConfig& config) {
  auto next = std::make_shared<Settings>(config);
  std::lock_guard lock(mu_);
  settings_ = std::move(next);
}

std::shared_ptr<EmailChannel::Settings> EmailChannel::settings() const {
  std::lock_guard lock(mu_);
  return settings_;
}

Result<std::string> EmailChannel::message_for(const store::OutboxItem& item) const {
  auto facts = decode_notice(item.payload);
  if (!facts) return facts.error();
  const std::shared_ptr<Settings> s = settings();
  const RenderedNotice r = render_notice(*facts, s->templates);
  MailMessage m;
  m.from = s->from;
  m.to = item.destination;
  m.subject = r.subject;
  m.body = r.body;
  m.message_id = item.id;
  m.date = item.created;
  m.extra_headers = {{"Auto-Submitted", "auto-generated"},
                     {"X-Mamori-Notice", std::string(to_string(facts->kind))},
                     {"X-Mamori-Event", facts->event_id}};
  return encode_message(m);
}

Status EmailChannel::deliver(const store::OutboxItem& item, TimePoint) {
  const std::shared_ptr<Settings> s = settings();
  if (!s->enabled) return make_error("channel_disabled", "e-mail delivery is not configured");
  auto message = message_for(item);
  if (!message) return message.error();
  auto from = mail_address(s->from);
  if (!from) return from.error();
  return s->smtp.send(*from, item.destination, *message);
}

}  // namespace mamori::notify
