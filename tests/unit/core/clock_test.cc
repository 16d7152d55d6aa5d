#include "core/clock.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace mamori {
namespace {

using namespace std::chrono;

// 2026-11-23T12:00:00Z, computed independently of the code under test.
TimePoint noon_2026_11_23() {
  return time_point_cast<Duration>(sys_days(year(2026) / November / 23) + hours(12));
}

TimePoint parse_ok(std::string_view text) {
  auto r = parse_rfc3339(text);
  if (!r) {
    ADD_FAILURE() << "cannot parse '" << text << "': " << r.error().message;
    return TimePoint{};
  }
  return *r;
}

// ---- parse_rfc3339 ----

TEST(ParseRfc3339, ParsesUtcZ) {
  EXPECT_EQ(parse_ok("2026-11-23T12:00:00Z"), noon_2026_11_23());
  EXPECT_EQ(parse_ok("1970-01-01T00:00:00Z"), from_unix_ms(0));
  EXPECT_EQ(to_unix_ms(parse_ok("2026-11-23T12:00:00Z")), 1795435200000);
}

TEST(ParseRfc3339, AcceptsLowerCaseTAndZ) {
  EXPECT_EQ(parse_ok("2026-11-23t12:00:00z"), noon_2026_11_23());
}

TEST(ParseRfc3339, AppliesPositiveAndNegativeOffsets) {
  EXPECT_EQ(parse_ok("2026-11-23T21:00:00+09:00"), noon_2026_11_23());
  EXPECT_EQ(parse_ok("2026-11-23T07:00:00-05:00"), noon_2026_11_23());
  EXPECT_EQ(parse_ok("2026-11-23T17:30:00+05:30"), noon_2026_11_23());
  EXPECT_EQ(parse_ok("2026-11-23T12:00:00+00:00"), noon_2026_11_23());
  EXPECT_EQ(parse_ok("2026-11-23T12:00:00-00:00"), noon_2026_11_23());
  // An offset moving the time across midnight.
  EXPECT_EQ(parse_ok("2026-11-24T03:00:00+15:00"), noon_2026_11_23());
}

TEST(ParseRfc3339, ReadsFractionsToMilliseconds) {
  const TimePoint noon = noon_2026_11_23();
  EXPECT_EQ(parse_ok("2026-11-23T12:00:00.5Z"), noon + milliseconds(500));
  EXPECT_EQ(parse_ok("2026-11-23T12:00:00.05Z"), noon + milliseconds(50));
  EXPECT_EQ(parse_ok("2026-11-23T12:00:00.123Z"), noon + milliseconds(123));
  // Digits past milliseconds are truncated, not rounded.
  EXPECT_EQ(parse_ok("2026-11-23T12:00:00.123999999Z"), noon + milliseconds(123));
  EXPECT_EQ(parse_ok("2026-11-23T21:00:00.5+09:00"), noon + milliseconds(500));
}

TEST(ParseRfc3339, RejectsInvalidWithInvalidTime) {
  for (std::string_view bad : {
           "",
           "2026-11-23",
           "2026-11-23T12:00:00",        // no zone
           "2026-11-23T12:00Z",          // no seconds
           "2026-11-23 12:00:00",        // no zone
           "2026-13-01T00:00:00Z",       // month 13
           "2026-00-01T00:00:00Z",       // month 0
           "2026-02-30T00:00:00Z",       // no such day
           "2026-11-31T00:00:00Z",       // no such day
           "2026-11-23T24:00:00Z",       // hour 24
           "2026-11-23T12:60:00Z",       // minute 60
           "2026-11-23T12:00:61Z",       // second 61
           "2026-11-23T12:00:00.Z",      // empty fraction
           "2026-11-23T12:00:00+0900",   // offset without colon
           "2026-11-23T12:00:00+09",     // short offset
           "2026-11-23T12:00:00+24:00",  // offset hour out of range
           "2026-11-23T12:00:00+09:60",  // offset minute out of range
           "2026-11-23T12:00:00Zjunk",   // trailing garbage
           "2026-11-23T12:00:00ZZ",
           "2026/11/23T12:00:00Z",
           "2026-11-23X12:00:00Z",
           "26-11-23T12:00:00Z",
           "2026-1a-23T12:00:00Z",
           "+026-11-23T12:00:00Z",
           "2026-11-23T1:00:00.000Z",
           "not a time at all at all",
       }) {
    auto r = parse_rfc3339(bad);
    EXPECT_FALSE(r.ok()) << "'" << bad << "' parsed";
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, "invalid_time") << bad;
    }
  }
}

// A time an offset carries out of the years 0000-9999 in UTC could be
// neither written back as RFC 3339 nor stored.
TEST(ParseRfc3339, RejectsTimesOutsideTheYears0To9999InUtc) {
  for (std::string_view bad : {"0000-01-01T00:00:00+01:00", "9999-12-31T23:30:00-01:00"}) {
    auto r = parse_rfc3339(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, "invalid_time") << bad;
  }
  EXPECT_TRUE(parse_rfc3339("0000-01-01T00:00:00Z"));
  EXPECT_TRUE(parse_rfc3339("9999-12-31T23:59:59.999Z"));
  EXPECT_TRUE(parse_rfc3339("0000-01-01T01:00:00+01:00"));
}

TEST(ParseRfc3339, AcceptsLeapDay) {
  EXPECT_TRUE(parse_rfc3339("2028-02-29T00:00:00Z").ok());
  EXPECT_FALSE(parse_rfc3339("2027-02-29T00:00:00Z").ok());
}

// ---- format_rfc3339 ----

TEST(FormatRfc3339, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(format_rfc3339(noon_2026_11_23()), "2026-11-23T12:00:00.000Z");
  EXPECT_EQ(format_rfc3339(noon_2026_11_23() + milliseconds(7)), "2026-11-23T12:00:00.007Z");
  EXPECT_EQ(format_rfc3339(from_unix_ms(0)), "1970-01-01T00:00:00.000Z");
}

TEST(FormatRfc3339, RoundTripsThroughParse) {
  for (std::string_view text :
       {"2026-11-23T12:00:00.000Z", "2026-11-23T12:00:00.500Z", "1999-12-31T23:59:59.999Z",
        "2028-02-29T00:00:00.001Z", "2038-01-19T03:14:08.000Z", "1969-12-31T23:59:59.999Z"}) {
    EXPECT_EQ(format_rfc3339(parse_ok(text)), text);
  }
  // Any zone comes back as UTC.
  EXPECT_EQ(format_rfc3339(parse_ok("2026-11-23T21:00:00.25+09:00")), "2026-11-23T12:00:00.250Z");
}

TEST(FormatRfc3339, ParseOfFormatIsIdentity) {
  for (std::int64_t ms : {std::int64_t(0), std::int64_t(1), std::int64_t(1795435200123),
                          std::int64_t(4102444799999)}) {
    const TimePoint t = from_unix_ms(ms);
    EXPECT_EQ(parse_ok(format_rfc3339(t)), t) << ms;
  }
}

// ---- durations ----

TEST(ParseDuration, ReadsEveryUnit) {
  EXPECT_EQ(parse_duration("250ms")->count(), 250);
  EXPECT_EQ(parse_duration("90s")->count(), 90'000);
  EXPECT_EQ(parse_duration("10m")->count(), 600'000);
  EXPECT_EQ(parse_duration("1h")->count(), 3'600'000);
  EXPECT_EQ(parse_duration("90d")->count(), 90LL * 86'400'000);
  EXPECT_EQ(parse_duration("0s")->count(), 0);
}

TEST(ParseDuration, PlainNumberIsSeconds) {
  EXPECT_EQ(parse_duration("30")->count(), 30'000);
  EXPECT_EQ(parse_duration("0")->count(), 0);
}

TEST(ParseDuration, RejectsInvalidWithInvalidDuration) {
  for (std::string_view bad :
       {"", "h", "-1s", "-5", "1x", "1.5h", " 1h", "1h ", "1 h", "1H", "10min", "1h30m", "s10",
        "99999999999999999999d", "999999999999d", "0x10s"}) {
    auto r = parse_duration(bad);
    EXPECT_FALSE(r.ok()) << "'" << bad << "' parsed";
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, "invalid_duration") << bad;
    }
  }
}

TEST(FormatDuration, UsesShortestExactUnit) {
  EXPECT_EQ(format_duration(Duration(0)), "0s");
  EXPECT_EQ(format_duration(hours(1)), "1h");
  EXPECT_EQ(format_duration(minutes(10)), "10m");
  EXPECT_EQ(format_duration(hours(24 * 90)), "90d");
  EXPECT_EQ(format_duration(hours(48)), "2d");
  EXPECT_EQ(format_duration(hours(25)), "25h");
  EXPECT_EQ(format_duration(seconds(90)), "90s");
  EXPECT_EQ(format_duration(minutes(90)), "90m");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(format_duration(milliseconds(1)), "1ms");
}

TEST(FormatDuration, RoundTripsThroughParse) {
  for (std::int64_t ms : {std::int64_t(0), std::int64_t(1), std::int64_t(999), std::int64_t(1000),
                          std::int64_t(61'000), std::int64_t(3'600'000), std::int64_t(5'400'000),
                          std::int64_t(86'400'000) * 365, std::int64_t(86'400'001)}) {
    const Duration d(ms);
    auto back = parse_duration(format_duration(d));
    ASSERT_TRUE(back.ok()) << format_duration(d);
    EXPECT_EQ(*back, d) << format_duration(d);
  }
}

// ---- clocks ----

TEST(DescribeWait, RoundsUpToTheLargestSensibleUnit) {
  using namespace std::chrono;
  EXPECT_EQ(describe_wait(milliseconds(1)), "1 second");
  EXPECT_EQ(describe_wait(milliseconds(0)), "1 second");
  EXPECT_EQ(describe_wait(seconds(45)), "45 seconds");
  EXPECT_EQ(describe_wait(milliseconds(44'001)), "45 seconds");
  EXPECT_EQ(describe_wait(seconds(120)), "120 seconds");
  EXPECT_EQ(describe_wait(seconds(121)), "3 minutes");
  EXPECT_EQ(describe_wait(minutes(57) + seconds(1)), "58 minutes");
  EXPECT_EQ(describe_wait(minutes(120)), "120 minutes");
  EXPECT_EQ(describe_wait(hours(5)), "5 hours");
  EXPECT_EQ(describe_wait(hours(48)), "48 hours");
  EXPECT_EQ(describe_wait(hours(49)), "3 days");
}

TEST(ManualClock, MovesOnlyWhenTold) {
  ManualClock c(noon_2026_11_23());
  EXPECT_EQ(c.now(), noon_2026_11_23());
  c.advance(seconds(5));
  EXPECT_EQ(c.now(), noon_2026_11_23() + seconds(5));
  c.set(from_unix_ms(42));
  EXPECT_EQ(c.now(), from_unix_ms(42));
}

TEST(ReplayClock, FollowsLatestObservedEventTime) {
  ManualClock fallback(from_unix_ms(1000));
  ReplayClock c(fallback);
  EXPECT_EQ(c.now(), from_unix_ms(1000));
  c.observe(from_unix_ms(5000));
  EXPECT_EQ(c.now(), from_unix_ms(5000));
  c.observe(from_unix_ms(3000));  // older event: time does not go back
  EXPECT_EQ(c.now(), from_unix_ms(5000));
  fallback.advance(hours(1));
  EXPECT_EQ(c.now(), from_unix_ms(5000));
}

}  // namespace
}  // namespace mamori
