#ifndef MAMORI_CLI_LOCAL_TIME_H_
#define MAMORI_CLI_LOCAL_TIME_H_

#include <string>
#include <string_view>

#include "core/result.h"

namespace date {
class time_zone;
}

namespace mamori::cli {

// How the tool prints the server's times (RFC 3339 in UTC) for people: in
// one IANA time zone, as "2026-11-23 21:00:00 JST". Zones come from the
// system's tz database (tzdata). Thread-compatible; cheap to copy.
class LocalTime {
 public:
  // UTC.
  LocalTime();
  // The zone `name` ("Asia/Tokyo", "UTC"; a leading ':' as in TZ is
  // dropped). Fails with `usage` for a name the database does not know.
  static Result<LocalTime> for_zone(std::string_view name);

  // `rfc3339` in this zone; text that is not an RFC 3339 time comes back
  // unchanged (an empty field, "never").
  std::string format(std::string_view rfc3339) const;

 private:
  explicit LocalTime(const date::time_zone* zone) : zone_(zone) {}
  const date::time_zone* zone_;  // null: UTC
};

}  // namespace mamori::cli

#endif  // MAMORI_CLI_LOCAL_TIME_H_
