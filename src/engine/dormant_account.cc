#include "engine/dormant_account.h"

namespace mamori::engine {

bool is_dormant(const store::AccountProfile& profile, TimePoint now, Duration after) {
  return profile.last_success && now - profile.last_success->time > after;
}

}  // namespace mamori::engine
