#ifndef MAMORI_NOTIFY_PAYLOAD_H_
#define MAMORI_NOTIFY_PAYLOAD_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
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
};

// Builds the facts of `notice` for an owner whose contact is `contact`.
NoticeFacts notice_facts(const engine::OwnerNotice& notice, const store::Contact& contact);

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

}  // namespace mamori::notify

#endif  // MAMORI_NOTIFY_PAYLOAD_H_
