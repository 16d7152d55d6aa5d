#ifndef MAMORI_ENGINE_PROFILE_UPDATE_H_
#define MAMORI_ENGINE_PROFILE_UPDATE_H_

#include <string_view>

#include "core/event.h"
#include "core/location.h"
#include "engine/engine_config.h"
#include "engine/login_risk.h"
#include "store/records.h"

namespace mamori::engine {

// Pure updates of an account's profile; each keeps it within `limits`
// (the least recently seen device, country or ASN is dropped first).

// The login's device, country and ASN become known.
void learn_login(store::AccountProfile& p, std::string_view device_key, const Event& e,
                 const Location& where, const ProfileConfig& limits);

// The login succeeded from `where`: it is the last successful login.
void record_success(store::AccountProfile& p, const Event& e, const Location& where);

// A suspicious login: remembered (with what it would teach the profile)
// until a challenge is passed; its device and place stay unknown meanwhile.
void mark_suspicious(store::AccountProfile& p, const LoginAssessment& a, std::string_view device_key,
                     const Event& e, const Location& where);

// A passed challenge: the suspicious login's device and place become known
// and the suspicion is cleared. Returns false when nothing was pending.
bool pass_challenge(store::AccountProfile& p, const ProfileConfig& limits);

// Forgets the pending suspicious login without learning from it (an
// operator released the account).
void clear_suspicion(store::AccountProfile& p);

// Two copies of one account's profile written by two nodes, one over the
// other's (`stored`, found in the store; `mine`, this node's write, built
// on an older version): what both learnt. Devices, countries and ASNs are
// sets: their union, a device's first sighting the earlier and its last
// the later (with that sighting's id and user agent), most recently seen
// first, the least recently seen dropped beyond `limits` (countries and
// ASNs carry no times: the copy with the later successful login lists
// first). The last successful login is the later one. A suspicious login
// awaiting a challenge: the later one either copy has (the safe side: a
// challenge passed or a release on the other node in the same instant
// leaves it pending). The result has `mine`'s version.
store::AccountProfile merge_profiles(const store::AccountProfile& stored,
                                     const store::AccountProfile& mine,
                                     const ProfileConfig& limits);

// True while a suspicious login of less than `window` ago awaits a passed
// challenge.
bool suspicious_within(const store::AccountProfile& p, TimePoint now, Duration window);

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_PROFILE_UPDATE_H_
