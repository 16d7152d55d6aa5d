#ifndef MAMORI_NOTIFY_INCIDENT_NOTICES_H_
#define MAMORI_NOTIFY_INCIDENT_NOTICES_H_

#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "engine/effects.h"
#include "engine/id_generator.h"
#include "notify/once_records.h"
#include "store/commits.h"
#include "store/record_store.h"

namespace mamori::notify {

// POST /v1/incidents/{id}/notify-owners: tells every account an incident
// touched what happened, through the outbox.
//  - an account a login from the incident's sources got into: kCompromised,
//    "your password was used from an address that attacked many accounts",
//    what was done (locked, password reset required, as the account stands)
//    and what to do;
//  - an account only failed on: kTargeted, the softer "someone tried to log
//    in to your account; every try failed", and advice against reused
//    passwords.
// An account the engine locked for this incident (its lock names the
// incident) was told then, with the lock: it counts as told before.
// Once per incident and account (OnceRecords key
// "incident-notice:<id>:<account>"): a second call sends nothing to those
// told before. Accounts without an address or whose owner opted out are
// skipped and not recorded, so a call after they set one tells them.
// Thread-safe; everything must outlive it.
class IncidentNotices {
 public:
  IncidentNotices(store::RecordStore& records, engine::Effects& effects, OnceRecords& once,
                  engine::IdGenerator& ids);

  struct Sent {
    std::size_t compromised = 0, targeted = 0;  // queued now
    std::size_t already = 0;                    // told by an earlier call
    std::size_t no_address = 0;                 // no address, or opted out
    store::WriteSpan writes;
  };
  // Fails with `not_found` for an unknown incident, or the store's read error.
  Result<Sent> notify_owners(std::string_view incident_id, TimePoint now);

 private:
  store::RecordStore& records_;
  engine::Effects& effects_;
  OnceRecords& once_;
  engine::IdGenerator& ids_;
};

}  // namespace mamori::notify

#endif  // MAMORI_NOTIFY_INCIDENT_NOTICES_H_
