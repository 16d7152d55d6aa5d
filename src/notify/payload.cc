#include "notify/payload.h"

#include <boost/json.hpp>

#include "notify/time_zone.h"

namespace mamori::notify {

namespace json = boost::json;

namespace {
std::string ip_text(const IpAddress& ip) {
  return ip == IpAddress{} ? std::string() : ip.to_string();
}
}  // namespace

std::string_view to_string(engine::NoticeKind k) {
  switch (k) {
    case engine::NoticeKind::kNewLogin:
      return "new_login";
    case engine::NoticeKind::kAccountLocked:
      return "account_locked";
    case engine::NoticeKind::kCompromised:
      return "compromised";
    case engine::NoticeKind::kTargeted:
      return "targeted";
  }
  return "new_login";
}

NoticeFacts notice_facts(const engine::OwnerNotice& n, const store::Contact& contact,
                         const PlaceNames& names) {
  NoticeFacts f;
  f.kind = n.kind;
  f.account = n.account;
  f.event_id = n.event_id;
  f.time = n.time;
  f.ip = ip_text(n.ip);
  f.country = n.where.country;
  f.city = n.where.city;
  f.user_agent = n.user_agent;
  f.protocol = n.protocol;
  f.new_device = n.new_device;
  f.new_location = n.new_location;
  for (Reason r : n.reasons) f.reasons.emplace_back(to_string(r));
  f.note = n.note;
  f.password_reset_required = n.password_reset_required;
  f.lang = contact.lang == "ja" ? "ja" : "en";
  f.time_zone = contact.time_zone.empty() ? default_time_zone(f.lang) : contact.time_zone;
  f.place_city = names.city;
  f.place_country = names.country;
  f.incident_id = n.incident_id;
  f.by_owner = n.by_owner;
  f.locked = n.locked || n.kind == engine::NoticeKind::kAccountLocked;
  return f;
}

std::string encode_notice(const NoticeFacts& f) {
  json::array reasons;
  for (const auto& r : f.reasons) reasons.emplace_back(r);
  json::object o;
  o["kind"] = to_string(f.kind);
  o["account"] = f.account;
  o["event_id"] = f.event_id;
  o["time"] = format_rfc3339(f.time);
  o["ip"] = f.ip;
  o["country"] = f.country;
  o["city"] = f.city;
  o["user_agent"] = f.user_agent;
  o["protocol"] = f.protocol;
  o["new_device"] = f.new_device;
  o["new_location"] = f.new_location;
  o["reasons"] = std::move(reasons);
  o["note"] = f.note;
  o["password_reset_required"] = f.password_reset_required;
  o["lang"] = f.lang;
  o["time_zone"] = f.time_zone;
  o["place_city"] = f.place_city;
  o["place_country"] = f.place_country;
  o["incident_id"] = f.incident_id;
  o["locked"] = f.locked;
  o["by_owner"] = f.by_owner;
  o["activity_url"] = f.activity_url;
  o["not_me_url"] = f.not_me_url;
  return json::serialize(o);
}

Result<NoticeFacts> decode_notice(std::string_view text) {
  auto bad = [](std::string why) {
    return make_error("invalid_payload", "notice payload: " + why);
  };
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return bad("not a JSON object");
  const json::object& o = v.get_object();
  NoticeFacts f;
  std::string missing;
  auto str = [&](const char* key, std::string& out) {
    const json::value* p = o.if_contains(key);
    if (p && p->is_string())
      out = std::string(p->get_string());
    else if (missing.empty())
      missing = key;
  };
  auto boolean = [&](const char* key, bool& out) {
    const json::value* p = o.if_contains(key);
    if (p && p->is_bool())
      out = p->get_bool();
    else if (missing.empty())
      missing = key;
  };
  std::string kind, time;
  str("kind", kind);
  str("account", f.account);
  str("event_id", f.event_id);
  str("time", time);
  str("ip", f.ip);
  str("country", f.country);
  str("city", f.city);
  str("user_agent", f.user_agent);
  str("protocol", f.protocol);
  boolean("new_device", f.new_device);
  boolean("new_location", f.new_location);
  str("note", f.note);
  boolean("password_reset_required", f.password_reset_required);
  str("lang", f.lang);
  str("time_zone", f.time_zone);
  if (!missing.empty()) return bad("missing or mistyped field '" + missing + "'");
  // Added later: items queued by an older version lack them.
  for (auto [key, out] : {std::pair{"place_city", &f.place_city},
                          {"place_country", &f.place_country},
                          {"incident_id", &f.incident_id},
                          {"activity_url", &f.activity_url},
                          {"not_me_url", &f.not_me_url}}) {
    const json::value* p = o.if_contains(key);
    if (p == nullptr) continue;
    if (!p->is_string()) return bad(std::string("mistyped field '") + key + "'");
    *out = std::string(p->get_string());
  }
  for (auto [key, out] : {std::pair{"locked", &f.locked}, {"by_owner", &f.by_owner}}) {
    const json::value* p = o.if_contains(key);
    if (p == nullptr) continue;
    if (!p->is_bool()) return bad(std::string("mistyped field '") + key + "'");
    *out = p->get_bool();
  }
  if (kind == "new_login")
    f.kind = engine::NoticeKind::kNewLogin;
  else if (kind == "account_locked")
    f.kind = engine::NoticeKind::kAccountLocked;
  else if (kind == "compromised")
    f.kind = engine::NoticeKind::kCompromised;
  else if (kind == "targeted")
    f.kind = engine::NoticeKind::kTargeted;
  else
    return bad("unknown kind '" + kind + "'");
  auto t = parse_rfc3339(time);
  if (!t) return bad("bad time '" + time + "'");
  f.time = *t;
  const json::value* reasons = o.if_contains("reasons");
  if (!reasons || !reasons->is_array()) return bad("missing field 'reasons'");
  for (const json::value& r : reasons->get_array()) {
    if (!r.is_string()) return bad("reasons must be strings");
    f.reasons.emplace_back(r.get_string());
  }
  return f;
}

std::string encode_account_locked(std::string_view event_id, std::string_view account,
                                  TimePoint time, std::string_view by, std::string_view reason,
                                  bool password_reset_required) {
  json::object o;
  o["type"] = "account_locked";
  o["event_id"] = event_id;
  o["account"] = account;
  o["time"] = format_rfc3339(time);
  o["by"] = by;
  o["reason"] = reason;
  o["password_reset_required"] = password_reset_required;
  return json::serialize(o);
}

std::string encode_alert(const engine::Alert& a) {
  json::array reasons;
  for (int i = 0; i < a.decision.reason_count(); ++i)
    reasons.emplace_back(to_string(a.decision.reason(i)));
  json::object o;
  o["type"] = "decision";
  o["event_id"] = a.event_id;
  o["event_type"] = to_string(a.type);
  o["account"] = a.account;
  o["ip"] = ip_text(a.ip);
  o["country"] = a.where.country;
  o["city"] = a.where.city;
  o["time"] = format_rfc3339(a.time);
  o["action"] = a.client_action();
  if (!a.answer.reply.empty()) o["reply"] = a.answer.reply;
  o["reasons"] = std::move(reasons);
  o["risk"] = a.decision.risk();
  if (a.incident_id.empty())
    o["incident_id"] = nullptr;
  else
    o["incident_id"] = a.incident_id;
  return json::serialize(o);
}

std::string encode_operator_action(const store::AuditRecord& r) {
  json::object o;
  o["type"] = "operator_action";
  o["id"] = r.id;
  o["time"] = format_rfc3339(r.time);
  o["actor"] = r.actor;
  o["actor_kind"] = r.actor_kind;
  o["action"] = r.action;
  o["target"] = r.target;
  o["note"] = r.note;
  boost::system::error_code ec;
  json::value details = json::parse(r.details, ec);
  if (ec || !details.is_object()) details = json::object();
  o["details"] = std::move(details);
  return json::serialize(o);
}

}  // namespace mamori::notify
