#include "notify/outbox.h"

#include "core/log.h"
#include "notify/payload.h"

namespace mamori::notify {

Outbox::Outbox(store::OutboxStore& outbox, store::RecordStore& contacts, store::Commits& commits,
               const NotifyConfig& config, engine::IdGenerator& ids, const Clock& clock)
    : store_(outbox),
      contacts_(contacts),
      commits_(commits),
      ids_(ids),
      clock_(clock),
      throttle_(config.alert_repeat_window) {
  reconfigure(config);
}

void Outbox::reconfigure(const NotifyConfig& config) {
  auto d = std::make_shared<Destinations>();
  d->email_enabled = config.smtp.enabled();
  for (const WebhookConfig& w : config.webhooks) d->webhook_urls.push_back(w.url);
  destinations_.store(std::move(d));
  throttle_.set_window(config.alert_repeat_window);
}

store::WriteTicket Outbox::put(store::OutboxChannel channel, std::string destination,
                               std::string payload) {
  const TimePoint now = clock_.now();
  store::OutboxItem item;
  item.id = ids_.next(now);
  item.channel = channel;
  item.destination = std::move(destination);
  item.payload = std::move(payload);
  item.created = now;
  item.next_attempt = now;
  const store::WriteTicket t = store_.enqueue_outbox(std::move(item));
  if (on_committed_) commits_.on_committed(t, [wake = on_committed_](const Status&) { wake(); });
  return t;
}

engine::Effects::Queued Outbox::notify_owner(const engine::OwnerNotice& notice) {
  if (!destinations_.load()->email_enabled) return {};
  auto account = contacts_.account(notice.account);
  if (!account) {
    log_error_limited("owner notice not queued", "owner notice for " + notice.account +
                                                     " not queued: " + account.error().message);
    return {};
  }
  const store::Contact contact = *account ? (*account)->contact : store::Contact{};
  if (!contact.notify) return {};
  std::string to = notice.to_address.empty() ? contact.email : notice.to_address;
  if (to.empty()) return {};
  const std::string lang = contact.lang == "ja" ? "ja" : "en";
  const PlaceNames names = locator_ != nullptr && notice.ip != IpAddress{}
                               ? locator_->place_names(notice.ip, lang)
                               : PlaceNames{};
  NoticeFacts facts = notice_facts(notice, contact, names);
  if (links_ != nullptr) {
    const TimePoint now = clock_.now();
    facts.activity_url = links_->url(LinkPurpose::kActivity, notice.account, now);
    if (notice.kind == engine::NoticeKind::kNewLogin)
      facts.not_me_url = links_->url(LinkPurpose::kNotMe, notice.account, now);
  }
  Queued q;
  q.ticket = put(store::OutboxChannel::kEmail, std::move(to), encode_notice(facts));
  q.queued = true;
  return q;
}

store::WriteTicket Outbox::webhook_event(const std::string& body) {
  const std::shared_ptr<const Destinations> d = destinations_.load();
  store::WriteTicket t = 0;
  for (const std::string& url : d->webhook_urls) t = put(store::OutboxChannel::kWebhook, url, body);
  return t;
}

store::WriteTicket Outbox::alert(const engine::Alert& alert) {
  const std::shared_ptr<const Destinations> d = destinations_.load();
  if (d->webhook_urls.empty() || !throttle_.admit(alert)) return 0;
  const std::string body = encode_alert(alert);
  store::WriteTicket t = 0;
  for (const std::string& url : d->webhook_urls) t = put(store::OutboxChannel::kWebhook, url, body);
  return t;
}

store::WriteTicket Outbox::operator_action(const store::AuditRecord& r) {
  const std::shared_ptr<const Destinations> d = destinations_.load();
  if (d->webhook_urls.empty()) return 0;
  const std::string body = encode_operator_action(r);
  store::WriteTicket t = 0;
  for (const std::string& url : d->webhook_urls) t = put(store::OutboxChannel::kWebhook, url, body);
  return t;
}

}  // namespace mamori::notify
