#ifndef MAMORI_ENGINE_NEW_LOCATION_H_
#define MAMORI_ENGINE_NEW_LOCATION_H_

#include "core/location.h"
#include "store/records.h"

namespace mamori::engine {

// new_location: a successful login from a country the account has never
// logged in from; when GeoIP knows no country for the address, from an
// autonomous system (ASN) never seen. An account with no known place yet is
// not flagged, nor is an address GeoIP knows nothing about.
bool is_new_location(const store::AccountProfile& profile, const Location& where);

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_NEW_LOCATION_H_
