#ifndef MAMORI_CORE_LOCATION_H_
#define MAMORI_CORE_LOCATION_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "core/ip_address.h"

namespace mamori {

// Where an IP address is, as far as the configured GeoIP databases know.
// Every field is optional: an empty country or a zero ASN means unknown.
struct Location {
  std::string country;  // ISO 3166-1 alpha-2, upper case ("JP")
  std::string city;     // English name
  std::string time_zone;  // IANA name ("Asia/Tokyo")
  double latitude = 0, longitude = 0;
  bool has_coordinates = false;
  std::uint32_t asn = 0;
  std::string asn_org;
  // The anonymous-network database's flags.
  bool anonymous_vpn = false, hosting_provider = false, public_proxy = false, tor_exit_node = false,
       residential_proxy = false;

  bool anonymous() const {
    return anonymous_vpn || hosting_provider || public_proxy || tor_exit_node || residential_proxy;
  }
};

// A place's names in one language, as the GeoIP database writes them
// ("ロンドン", "イギリス"); empty where it has no name in that language.
struct PlaceNames {
  std::string city, country;
};

// Answers where an IP address is. Implementations are thread-safe: locate()
// runs on every worker thread. An address no database knows gets an empty
// Location.
class Locator {
 public:
  virtual ~Locator() = default;
  virtual Location locate(const IpAddress& ip) const = 0;
  // The names of the address's city and country in `lang` ("ja", "en", ...),
  // for what owners read; a locator without names answers none.
  virtual PlaceNames place_names(const IpAddress& ip, std::string_view lang) const {
    (void)ip;
    (void)lang;
    return {};
  }
};

}  // namespace mamori

#endif  // MAMORI_CORE_LOCATION_H_
