#ifndef MAMORI_NOTIFY_PAYLOAD_H_
#define MAMORI_NOTIFY_PAYLOAD_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/location.h"
#include "core/result.h"
#include "engine/effects.h"
#include "store/records.h"

namespace mamori::notify {

// The facts of an owner notice as the outbox keeps them (the payload of an
// `email` item): what happened, and the owner's language and time zone at the
// time it was queued. The mail is rendered from these at each attempt.
struct NoticeFacts {
  engine::NoticeKind kind = engine::NoticeKind::kNewLogin;
  std::string account;
  std::string event_id;
  TimePoint time{};
  std::string ip;             // empty: not known (an operator's lock)
  std::string country, city;  // empty: not known
  std::string user_agent, protocol;
  bool new_device = false, new_location = false;
  std::vector<std::string> reasons;  // Reason words ("account_locked", "risky_change", ...)
  std::string note;                  // an operator's lock reason
  bool password_reset_required = false;
  std::string lang = "en";
  std::string time_zone = "UTC";
  // The place's names in `lang` from GeoIP ("ロンドン", "イギリス"); empty:
  // not known in that language (the templates fall back to city, country).
  std::string place_city, place_country;
  std::string incident_id;  // kCompromised, kTargeted
  bool locked = false;      // kCompromised, kTargeted: the account is locked now
  bool by_owner = false;    // kAccountLocked: the owner locked it ("this wasn't me")
  // Signed links to the owner's pages (owner_links.h); empty: not configured.
  std::string activity_url;  // the owner's activity page
  std::string not_me_url;    // kNewLogin: "this wasn't me"
};

// Builds the facts of `notice` for an owner whose contact is `contact`.
// `names`: the event's place named in the owner's language (may be empty).
NoticeFacts notice_facts(const engine::OwnerNotice& notice, const store::Contact& contact,
                         const PlaceNames& names = {});

std::string_view to_string(engine::NoticeKind k);

// JSON text <-> facts. decode fails with `invalid_payload`.
std::string encode_notice(const NoticeFacts& facts);
Result<NoticeFacts> decode_notice(std::string_view json);

// The JSON body of a webhook alert:
//   {"type":"decision","event_id","event_type","account","ip","country","city",
//    "time","action","reasons":[...],"risk","incident_id"|null, "reply"?}
// `action` is what the client was given: the decision's action, or "defer"
// where its adapter told it to try again later (Postfix's DEFER_IF_PERMIT);
// `reply`, only from such adapters, is their answer as sent.
std::string encode_alert(const engine::Alert& alert);
// The JSON body of an operator action's webhook (the audit record):
//   {"type":"operator_action","id","time","actor","actor_kind","action",
//    "target","note","details":{...}}
// `details` is the record's JSON object as stored.
std::string encode_operator_action(const store::AuditRecord& r);

// The JSON body of the webhook sent when an account is locked by its owner
// ("this wasn't me"), so that the app ends the account's sessions:
//   {"type":"account_locked","event_id","account","time","by","reason",
//    "password_reset_required"}
std::string encode_account_locked(std::string_view event_id, std::string_view account,
                                  TimePoint time, std::string_view by, std::string_view reason,
                                  bool password_reset_required);

}  // namespace mamori::notify

#endif  // MAMORI_NOTIFY_PAYLOAD_H_
