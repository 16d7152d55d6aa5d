#include "notify/time_zone.h"

#include <date/tz.h>

#include <stdexcept>

namespace mamori::notify {

Result<const date::time_zone*> find_time_zone(std::string_view name) {
  auto bad = [&] {
    return make_error("invalid_time_zone",
                      "unknown time zone '" + std::string(name.substr(0, 64)) +
                          "': use an IANA name such as Asia/Tokyo, Europe/Berlin or UTC");
  };
  if (name.empty() || name.size() > 64) return bad();
  try {
    return date::locate_zone(name);
  } catch (const std::runtime_error&) {
    return bad();
  }
}

std::string default_time_zone(std::string_view lang) { return lang == "ja" ? "Asia/Tokyo" : "UTC"; }

LocalTime to_local(TimePoint t, const date::time_zone* zone) {
  const auto info = zone->get_info(date::sys_time<Duration>(t.time_since_epoch()));
  const auto local = date::local_time<Duration>(t.time_since_epoch() + info.offset);
  const auto day = date::floor<date::days>(local);
  const date::year_month_day ymd(day);
  const date::hh_mm_ss<Duration> hms(local - day);
  LocalTime out;
  out.year = int(ymd.year());
  out.month = int(unsigned(ymd.month()));
  out.day = int(unsigned(ymd.day()));
  out.hour = int(hms.hours().count());
  out.minute = int(hms.minutes().count());
  out.weekday = int(date::weekday(day).c_encoding());
  out.abbreviation = info.abbrev;
  return out;
}

}  // namespace mamori::notify
