#include "cli/local_time.h"

#include <date/tz.h>

#include <cstdio>
#include <stdexcept>

#include "core/clock.h"

namespace mamori::cli {

LocalTime::LocalTime() : zone_(nullptr) {}

Result<LocalTime> LocalTime::for_zone(std::string_view name) {
  if (!name.empty() && name.front() == ':') name.remove_prefix(1);
  auto bad = [&] {
    return make_error("usage", "unknown time zone '" + std::string(name.substr(0, 64)) +
                                   "': use an IANA name such as Asia/Tokyo, Europe/Berlin or UTC");
  };
  if (name.empty() || name.size() > 64) return bad();
  if (name == "UTC" || name == "Etc/UTC") return LocalTime();
  try {
    return LocalTime(date::locate_zone(name));
  } catch (const std::runtime_error&) {
    return bad();
  }
}

std::string LocalTime::format(std::string_view rfc3339) const {
  auto t = parse_rfc3339(rfc3339);
  if (!t) return std::string(rfc3339);
  const auto seconds = date::floor<std::chrono::seconds>(t->time_since_epoch());
  const date::sys_seconds sys(seconds);
  std::string abbreviation = "UTC";
  std::chrono::seconds offset{0};
  if (zone_ != nullptr) {
    const date::sys_info info = zone_->get_info(sys);
    offset = info.offset;
    abbreviation = info.abbrev;
  }
  const auto local = sys + offset;
  const auto day = date::floor<date::days>(local);
  const date::year_month_day ymd(day);
  const date::hh_mm_ss<std::chrono::seconds> hms(local - day);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02d:%02d:%02d %s", int(ymd.year()),
                unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                int(hms.minutes().count()), int(hms.seconds().count()), abbreviation.c_str());
  return buf;
}

}  // namespace mamori::cli
