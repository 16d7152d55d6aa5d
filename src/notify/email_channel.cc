#include "notify/email_channel.h"

#include "notify/payload.h"

namespace mamori::notify {

EmailChannel::EmailChannel(const NotifyConfig& config)
    : templates_{config.service_name, config.help_url},
      from_(config.smtp.from),
      smtp_(config.smtp) {}

Result<std::string> EmailChannel::message_for(const store::OutboxItem& item) const {
  auto facts = decode_notice(item.payload);
  if (!facts) return facts.error();
  const RenderedNotice r = render_notice(*facts, templates_);
  MailMessage m;
  m.from = from_;
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
  auto message = message_for(item);
  if (!message) return message.error();
  auto from = mail_address(from_);
  if (!from) return from.error();
  return smtp_.send(*from, item.destination, *message);
}

}  // namespace mamori::notify
