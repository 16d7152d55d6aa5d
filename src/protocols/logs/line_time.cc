#include "protocols/logs/line_time.h"

#include <time.h>

#include <cstring>

namespace mamori::logs {

namespace {

constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

int month_of(std::string_view s) {
  if (s.size() < 3) return 0;
  for (int i = 0; i < 12; ++i)
    if (s.substr(0, 3) == kMonths[i]) return i + 1;
  return 0;
}

bool digit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at `s[i]`.
bool digits(std::string_view s, std::size_t i, int n, int& out) {
  if (i + n > s.size()) return false;
  int v = 0;
  for (int k = 0; k < n; ++k) {
    const char c = s[i + k];
    if (!digit(c)) return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

bool valid_fields(int month, int day, int hour, int minute, int second) {
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 &&
         second <= 60;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = unsigned(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + std::int64_t(doe) - 719468;
}

TimePoint utc(int year, int month, int day, int hour, int minute, int second) {
  const std::int64_t s = days_from_civil(year, unsigned(month), unsigned(day)) * 86400 +
                         hour * 3600 + minute * 60 + second;
  return TimePoint(Duration(s * 1000));
}

// Skips the spaces at `i`.
std::size_t skip_spaces(std::string_view s, std::size_t i) {
  while (i < s.size() && s[i] == ' ') ++i;
  return i;
}

// "+09:00", "-0700", "Z" at s[i]; returns the offset in seconds east.
bool zone_offset(std::string_view s, std::size_t& i, int& offset_s) {
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
    offset_s = 0;
    return true;
  }
  if (i >= s.size() || (s[i] != '+' && s[i] != '-')) return false;
  const int sign = s[i] == '-' ? -1 : 1;
  int h = 0, m = 0;
  if (!digits(s, i + 1, 2, h)) return false;
  std::size_t j = i + 3;
  if (j < s.size() && s[j] == ':') ++j;
  if (!digits(s, j, 2, m)) return false;
  i = j + 2;
  offset_s = sign * (h * 3600 + m * 60);
  return true;
}

// ".123456" at s[i]: milliseconds.
int fraction_ms(std::string_view s, std::size_t& i) {
  if (i >= s.size() || (s[i] != '.' && s[i] != ',')) return 0;
  ++i;
  int ms = 0, n = 0;
  while (i < s.size() && digit(s[i])) {
    if (n < 3) ms = ms * 10 + (s[i] - '0');
    ++n;
    ++i;
  }
  while (n > 0 && n < 3) {
    ms *= 10;
    ++n;
  }
  return ms;
}

}  // namespace

TimePoint LineTimes::from_local(int year, int month, int day, int hour, int minute, int second) {
  const std::int64_t key = ((std::int64_t(year) * 13 + month) * 32 + day) * 24 + hour;
  if (key != cached_hour_key_) {
    tm t{};
    t.tm_year = year - 1900;
    t.tm_mon = month - 1;
    t.tm_mday = day;
    t.tm_hour = hour;
    t.tm_isdst = -1;
    const time_t start = mktime(&t);
    cached_hour_key_ = key;
    cached_hour_start_s_ = std::int64_t(start);
  }
  return TimePoint(Duration((cached_hour_start_s_ + minute * 60 + second) * 1000));
}

std::size_t LineTimes::parse_prefix(std::string_view line, TimePoint& out) {
  if (line.size() < 15) return 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (digit(line[0])) {
    // 2024-12-07T04:41:34[.frac](Z|+hh:mm)  or  2024-12-07 04:41:34
    if (!digits(line, 0, 4, year) || line[4] != '-' || !digits(line, 5, 2, month) ||
        line[7] != '-' || !digits(line, 8, 2, day) || (line[10] != 'T' && line[10] != ' ') ||
        line.size() < 19 || !digits(line, 11, 2, hour) || line[13] != ':' ||
        !digits(line, 14, 2, minute) || line[16] != ':' || !digits(line, 17, 2, second) ||
        !valid_fields(month, day, hour, minute, second))
      return 0;
    std::size_t i = 19;
    const int ms = fraction_ms(line, i);
    int offset_s = 0;
    TimePoint t;
    if (zone_offset(line, i, offset_s)) {
      t = utc(year, month, day, hour, minute, second) - std::chrono::seconds(offset_s);
    } else {
      t = from_local(year, month, day, hour, minute, second);
    }
    if (i < line.size() && line[i] != ' ') return 0;
    out = t + Duration(ms);
    return skip_spaces(line, i);
  }
  // Dec  7 04:41:34 / Dec 07 04:41:34
  month = month_of(line);
  if (month == 0 || line[3] != ' ') return 0;
  std::size_t i = 4;
  if (line[i] == ' ') ++i;
  if (!digit(line[i])) return 0;
  day = line[i++] - '0';
  if (digit(line[i])) day = day * 10 + (line[i++] - '0');
  if (line[i++] != ' ') return 0;
  if (!digits(line, i, 2, hour) || i + 8 > line.size() || line[i + 2] != ':' ||
      !digits(line, i + 3, 2, minute) || line[i + 5] != ':' || !digits(line, i + 6, 2, second) ||
      !valid_fields(month, day, hour, minute, second))
    return 0;
  i += 8;
  const int ms = fraction_ms(line, i);
  if (i < line.size() && line[i] != ' ') return 0;
  const TimePoint now = clock_.now();
  if (year_ == 0 || now - year_read_ > std::chrono::hours(1) || now < year_read_) {
    const time_t s = time_t(to_unix_ms(now) / 1000);
    tm local{};
    localtime_r(&s, &local);
    year_ = local.tm_year + 1900;
    year_read_ = now;
  }
  TimePoint t = from_local(year_, month, day, hour, minute, second);
  if (t > now + std::chrono::hours(24)) t = from_local(year_ - 1, month, day, hour, minute, second);
  out = t + Duration(ms);
  return skip_spaces(line, i);
}

bool LineTimes::parse_common_log(std::string_view s, TimePoint& out) {
  // 10/Oct/2024:13:55:36 -0700
  int day = 0, year = 0, hour = 0, minute = 0, second = 0;
  if (s.size() < 26 || !digits(s, 0, 2, day) || s[2] != '/' || s[6] != '/') return false;
  const int month = month_of(s.substr(3, 3));
  if (month == 0 || !digits(s, 7, 4, year) || s[11] != ':' || !digits(s, 12, 2, hour) ||
      s[14] != ':' || !digits(s, 15, 2, minute) || s[17] != ':' || !digits(s, 18, 2, second) ||
      s[20] != ' ' || !valid_fields(month, day, hour, minute, second))
    return false;
  std::size_t i = 21;
  int offset_s = 0;
  if (!zone_offset(s, i, offset_s)) return false;
  out = utc(year, month, day, hour, minute, second) - std::chrono::seconds(offset_s);
  return true;
}

Result<TimeFormat> TimeFormat::make(std::string_view format) {
  TimeFormat f;
  f.format_ = std::string(format);
  if (format == "rfc3339") {
    f.kind_ = Kind::kRfc3339;
    return f;
  }
  if (format == "syslog") {
    f.kind_ = Kind::kSyslog;
    return f;
  }
  if (format == "epoch") {
    f.kind_ = Kind::kEpoch;
    return f;
  }
  f.kind_ = Kind::kPattern;
  bool date = false, month = false, hour = false, minute = false;
  for (std::size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') continue;
    if (++i >= format.size())
      return make_error("invalid_time_format", "time_format ends with a lone '%'");
    switch (format[i]) {
      case 'Y':
      case 'y':
      case 'S':
      case 'z':
      case 'f':
      case '%':
        break;
      case 'd':
      case 'e':
        date = true;
        break;
      case 'm':
      case 'b':
        month = true;
        break;
      case 'H':
        hour = true;
        break;
      case 'M':
        minute = true;
        break;
      case 'T':
        hour = minute = true;
        break;
      default:
        return make_error("invalid_time_format",
                          std::string("time_format: unknown conversion '%") + format[i] +
                              "' (known: %Y %y %m %b %d %e %H %M %S %T %f %z %%, or \"rfc3339\", "
                              "\"syslog\", \"epoch\")");
    }
  }
  if (!date || !month || !hour || !minute)
    return make_error("invalid_time_format",
                      "time_format must give the day (%d or %e), the month (%m or %b), the hour "
                      "(%H) and the minute (%M)");
  return f;
}

bool TimeFormat::parse(std::string_view text, LineTimes& times, TimePoint& out) const {
  switch (kind_) {
    case Kind::kRfc3339:
    case Kind::kSyslog: {
      const std::size_t n = times.parse_prefix(text, out);
      return n > 0 && n >= text.size();
    }
    case Kind::kEpoch: {
      std::size_t i = 0;
      std::int64_t s = 0;
      if (text.empty()) return false;
      while (i < text.size() && digit(text[i])) {
        if (s > 100'000'000'000LL) return false;
        s = s * 10 + (text[i++] - '0');
      }
      if (i == 0) return false;
      const int ms = fraction_ms(text, i);
      if (i != text.size()) return false;
      out = TimePoint(Duration(s * 1000 + ms));
      return true;
    }
    case Kind::kPattern:
      break;
  }
  int year = -1, month = 0, day = 0, hour = 0, minute = 0, second = 0, ms = 0, offset_s = 0;
  bool zoned = false;
  std::size_t i = 0;
  const std::string_view f = format_;
  auto number = [&](int max_digits, int& v) {
    int n = 0;
    v = 0;
    while (n < max_digits && i < text.size() && digit(text[i])) {
      v = v * 10 + (text[i++] - '0');
      ++n;
    }
    return n > 0;
  };
  for (std::size_t k = 0; k < f.size(); ++k) {
    if (f[k] == ' ') {
      if (i >= text.size() || text[i] != ' ') return false;
      i = skip_spaces(text, i);
      continue;
    }
    if (f[k] != '%') {
      if (i >= text.size() || text[i] != f[k]) return false;
      ++i;
      continue;
    }
    switch (f[++k]) {
      case 'Y':
        if (!number(4, year)) return false;
        break;
      case 'y':
        if (!number(2, year)) return false;
        year += 2000;
        break;
      case 'm':
        if (!number(2, month)) return false;
        break;
      case 'd':
        if (!number(2, day)) return false;
        break;
      case 'e':
        i = skip_spaces(text, i);
        if (!number(2, day)) return false;
        break;
      case 'H':
        if (!number(2, hour)) return false;
        break;
      case 'M':
        if (!number(2, minute)) return false;
        break;
      case 'S':
        if (!number(2, second)) return false;
        break;
      case 'T':
        if (!number(2, hour) || i >= text.size() || text[i++] != ':' || !number(2, minute) ||
            i >= text.size() || text[i++] != ':' || !number(2, second))
          return false;
        break;
      case 'b':
        month = month_of(text.substr(i));
        if (month == 0) return false;
        i += 3;
        break;
      case 'f': {
        int n = 0, v = 0;
        while (i < text.size() && digit(text[i])) {
          if (n < 3) v = v * 10 + (text[i] - '0');
          ++n;
          ++i;
        }
        if (n == 0) return false;
        while (n++ < 3) v *= 10;
        ms = v;
        break;
      }
      case 'z':
        if (!zone_offset(text, i, offset_s)) return false;
        zoned = true;
        break;
      case '%':
        if (i >= text.size() || text[i++] != '%') return false;
        break;
    }
  }
  if (i != text.size() || !valid_fields(month, day, hour, minute, second)) return false;
  if (year < 0) {
    // As a syslog stamp: the clock's year, or the one before.
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s %2d %02d:%02d:%02d", kMonths[month - 1].data(), day, hour,
                  minute, second);
    TimePoint t;
    if (times.parse_prefix(std::string_view(buf, 15), t) != 15) return false;
    out = t + Duration(ms);
    return true;
  }
  out = (zoned ? utc(year, month, day, hour, minute, second) - std::chrono::seconds(offset_s)
               : times.from_local(year, month, day, hour, minute, second)) +
        Duration(ms);
  return true;
}

}  // namespace mamori::logs
