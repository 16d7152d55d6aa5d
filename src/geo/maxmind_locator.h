#ifndef MAMORI_GEO_MAXMIND_LOCATOR_H_
#define MAMORI_GEO_MAXMIND_LOCATOR_H_

#include <atomic>
#include <memory>
#include <string>

#include "core/location.h"
#include "core/result.h"

namespace mamori::geo {

// Paths of the MaxMind DB (MMDB) files to use; each is optional. `city`
// takes a City or a Country database (GeoLite2, GeoIP2 or DB-IP Lite).
struct GeoIpPaths {
  std::string city;
  std::string asn;
  std::string anonymous;

  bool empty() const { return city.empty() && asn.empty() && anonymous.empty(); }
};

// A set of opened databases; immutable once built. Copies every file into
// sealed memory of the process's own (a memfd, as large as the file: about
// 60 MiB for GeoLite2-City) and maps that, so a file replaced or truncated in
// place afterwards changes nothing until the next reload; checks its type,
// and reads every record of its data section once, so a corrupt file is
// refused when it is loaded rather than when an address happens to hit the
// bad record.
class GeoIpDatabases;

// The Locator over MaxMind DB files. reload() opens a fresh set from the same
// paths and swaps it in atomically: lookups running meanwhile finish on the
// old set, and a file that fails to load leaves the old set in place.
// Thread-safe: locate() from any thread, reload() from one at a time.
class MaxmindLocator final : public Locator {
 public:
  // Fails with `invalid_geoip` naming the file and what is wrong with it.
  static Result<std::unique_ptr<MaxmindLocator>> open(const GeoIpPaths& paths);
  ~MaxmindLocator() override;

  Location locate(const IpAddress& ip) const override;
  // From the City database's `names` (GeoLite2 carries ja, en, de, ...).
  PlaceNames place_names(const IpAddress& ip, std::string_view lang) const override;
  // Fails with `invalid_geoip`; the databases in use stay.
  Status reload();
  const GeoIpPaths& paths() const { return paths_; }
  // "GeoLite2-City 2019-12-06, GeoLite2-ASN ...": what is loaded, for logs.
  std::string describe() const;

 private:
  MaxmindLocator(GeoIpPaths paths, std::shared_ptr<const GeoIpDatabases> dbs);

  const GeoIpPaths paths_;
  std::atomic<std::shared_ptr<const GeoIpDatabases>> dbs_;
};

}  // namespace mamori::geo

#endif  // MAMORI_GEO_MAXMIND_LOCATOR_H_
