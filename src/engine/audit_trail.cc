// The engine's operator actions that leave the detectors' path (a block
// lifted, sends released, an incident closed) and the audit trail every
// operator action leaves: the audit record, the accounts' activity entries
// and the webhook, committed with the action's own writes.

#include "engine/engine.h"

namespace mamori::engine {

store::WriteSpan Engine::audited(store::AuditRecord& r, const std::vector<std::string>& accounts,
                                 const std::function<store::WriteSpan()>& action) {
  if (r.id.empty()) r.id = ids_.next(r.time);
  if (r.details.empty()) r.details = "{}";
  store::WriteSpan writes;
  store_.together([&] {
    writes.add(action());
    writes.add(store_.append_audit(r));
    for (const std::string& account : accounts) {
      store::ActivityRecord a;
      a.event_id = r.id;
      a.time = r.time;
      a.account = account;
      a.type = EventType::kOperatorAction;
      a.protocol = r.actor_kind;
      a.reasons.push_back(r.action);
      a.actor = r.actor;
      a.note = r.note;
      writes.add(store_.append_activity(a));
    }
    if (effects_ != nullptr) writes.add(effects_->operator_action(r));
  });
  return writes;
}

store::WriteSpan Engine::lift_block(const store::Block& b) {
  store::WriteSpan writes;
  auto key = block_key_from_record(b);
  if (!key) return writes;
  if (!blocks_.erase(*key)) return writes;
  const store::WriteTicket t = store_.delete_block(b.scope, b.key);
  revert_block_if_not_stored(t, *key, std::nullopt, b);
  writes.add(t);
  return writes;
}

void Engine::release_sends(const std::string& account) {
  mail_volume_.reset(account);
  message_fanout_.reset(account);
}

store::WriteSpan Engine::close_incident(const store::Incident& stored, TimePoint now) {
  store::Incident header = incidents_.close(stored.id).value_or(stored);
  header.closed = now;
  store::WriteSpan writes;
  writes.add(store_.put_incident(std::move(header)));
  return writes;
}

std::vector<MailVolume::Use> Engine::mail_senders(TimePoint now, std::size_t limit) const {
  return mail_volume_.top(config_.load()->mail_volume, now, limit);
}

}  // namespace mamori::engine
