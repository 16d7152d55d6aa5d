#ifndef MAMORI_NOTIFY_TIME_ZONE_H_
#define MAMORI_NOTIFY_TIME_ZONE_H_

#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"

namespace date {
class time_zone;
}

namespace mamori::notify {

// IANA time zones from the system's tz database (/usr/share/zoneinfo, read
// once on first use through Howard Hinnant's date/tz library). Thread-safe.

// The zone named `name` ("Asia/Tokyo", "UTC"). Fails with
// `invalid_time_zone` for a name the database does not know.
Result<const date::time_zone*> find_time_zone(std::string_view name);

// The zone notices use when a contact names none: Asia/Tokyo for "ja",
// UTC otherwise.
std::string default_time_zone(std::string_view lang);

// A time as the owner reads it, in `zone`.
struct LocalTime {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0;
  int weekday = 0;           // 0 = Sunday
  std::string abbreviation;  // "JST", "CET", "UTC", or an offset such as "+0530"
};
LocalTime to_local(TimePoint t, const date::time_zone* zone);

}  // namespace mamori::notify

#endif  // MAMORI_NOTIFY_TIME_ZONE_H_
