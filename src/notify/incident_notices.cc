#include "notify/incident_notices.h"

#include "core/ip_address.h"

namespace mamori::notify {

IncidentNotices::IncidentNotices(store::RecordStore& records, engine::Effects& effects,
                                 OnceRecords& once, engine::IdGenerator& ids)
    : records_(records), effects_(effects), once_(once), ids_(ids) {}

Result<IncidentNotices::Sent> IncidentNotices::notify_owners(std::string_view incident_id,
                                                             TimePoint now) {
  auto incident = records_.incident(incident_id);
  if (!incident) return incident.error();
  if (!*incident) return make_error("not_found", "no such incident");
  const store::Incident& i = **incident;
  auto accounts = records_.incident_accounts(i.id);
  if (!accounts) return accounts.error();
  // The source named to owners: the incident's first address (a network or
  // a fingerprint source names none).
  IpAddress source;
  for (const std::string& s : i.sources) {
    if (auto ip = IpAddress::parse(s)) {
      source = *ip;
      break;
    }
  }
  Sent sent;
  for (const store::IncidentAccount& a : *accounts) {
    auto record = records_.account(a.account);
    if (!record) return record.error();
    const store::Contact contact = *record ? (*record)->contact : store::Contact{};
    if (contact.email.empty() || !contact.notify) {
      ++sent.no_address;
      continue;
    }
    const std::optional<store::LockInfo> lock = *record ? (*record)->lock : std::nullopt;
    // The engine told the owner when it locked the account for this incident
    // (detections.*.require_password_reset): the lock names the incident.
    if (a.login_succeeded && lock && lock->by == store::to_string(i.kind) &&
        lock->reason.find("(incident " + i.id + ")") != std::string::npos) {
      ++sent.already;
      continue;
    }
    auto claim = once_.claim("incident-notice:" + i.id + ":" + a.account, a.account, now);
    if (!claim) return claim.error();
    if (!claim->first) {
      ++sent.already;
      continue;
    }
    sent.writes.add(claim->ticket);
    engine::OwnerNotice n;
    n.kind = a.login_succeeded ? engine::NoticeKind::kCompromised : engine::NoticeKind::kTargeted;
    n.account = a.account;
    n.event_id = ids_.next(now);
    n.time = a.login_succeeded ? a.last_seen : a.first_seen;
    n.ip = source;
    n.incident_id = i.id;
    n.locked = lock.has_value();
    n.password_reset_required = lock && lock->password_reset_required;
    const engine::Effects::Queued q = effects_.notify_owner(n);
    sent.writes.add(q.ticket);
    if (!q.queued) {
      ++sent.no_address;  // e-mail off: recorded as considered all the same
      continue;
    }
    ++(a.login_succeeded ? sent.compromised : sent.targeted);
  }
  return sent;
}

}  // namespace mamori::notify
