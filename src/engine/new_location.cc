#include "engine/new_location.h"

#include <algorithm>

namespace mamori::engine {

bool is_new_location(const store::AccountProfile& profile, const Location& where) {
  if (!where.country.empty()) {
    if (profile.countries.empty()) return false;
    return std::find(profile.countries.begin(), profile.countries.end(), where.country) ==
           profile.countries.end();
  }
  if (where.asn != 0) {
    if (profile.asns.empty()) return false;
    return std::find(profile.asns.begin(), profile.asns.end(), where.asn) == profile.asns.end();
  }
  return false;
}

}  // namespace mamori::engine
