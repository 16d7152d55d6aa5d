#ifndef MAMORI_ENGINE_DORMANT_ACCOUNT_H_
#define MAMORI_ENGINE_DORMANT_ACCOUNT_H_

#include "core/clock.h"
#include "store/records.h"

namespace mamori::engine {

// dormant_account: the account's last successful login is more than
// `after` before `now`. An account never seen to log in is not dormant
// (nothing is known of it).
bool is_dormant(const store::AccountProfile& profile, TimePoint now, Duration after);

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_DORMANT_ACCOUNT_H_
