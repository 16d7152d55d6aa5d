#include "protocols/logs/line_time.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

namespace mamori::logs {
namespace {

TimePoint at(const char* rfc3339) { return *parse_rfc3339(rfc3339); }

class LineTimesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
  }
};

TEST_F(LineTimesTest, SyslogStampTakesTheClocksYear) {
  ManualClock clock(at("2024-06-01T00:00:00Z"));
  LineTimes times(clock);
  TimePoint t;
  EXPECT_EQ(times.parse_prefix("Dec  7 04:41:34 host x", t), 16u);
  EXPECT_EQ(t, at("2023-12-07T04:41:34Z"));  // December is in the past: last year
  EXPECT_EQ(times.parse_prefix("May 31 23:59:59 host x", t), 16u);
  EXPECT_EQ(t, at("2024-05-31T23:59:59Z"));
}

TEST_F(LineTimesTest, NewYearRollsTheYearBack) {
  ManualClock clock(at("2025-01-01T00:10:00Z"));
  LineTimes times(clock);
  TimePoint t;
  ASSERT_GT(times.parse_prefix("Dec 31 23:59:58 host x", t), 0u);
  EXPECT_EQ(t, at("2024-12-31T23:59:58Z"));
  ASSERT_GT(times.parse_prefix("Jan  1 00:09:00 host x", t), 0u);
  EXPECT_EQ(t, at("2025-01-01T00:09:00Z"));
  // A line up to a day ahead of the clock (skew) stays in this year.
  ASSERT_GT(times.parse_prefix("Jan  1 12:00:00 host x", t), 0u);
  EXPECT_EQ(t, at("2025-01-01T12:00:00Z"));
}

TEST_F(LineTimesTest, LocalTimeFollowsTheZone) {
  setenv("TZ", "Asia/Tokyo", 1);
  tzset();
  ManualClock clock(at("2024-12-10T00:00:00Z"));
  LineTimes times(clock);
  TimePoint t;
  ASSERT_GT(times.parse_prefix("Dec  7 09:00:00 host x", t), 0u);
  EXPECT_EQ(t, at("2024-12-07T00:00:00Z"));
  ASSERT_GT(times.parse_prefix("2024-12-07 09:00:01 imap-login: x", t), 0u);
  EXPECT_EQ(t, at("2024-12-07T00:00:01Z"));
}

TEST_F(LineTimesTest, Rfc3339WithZoneAndFraction) {
  ManualClock clock(at("2024-12-10T00:00:00Z"));
  LineTimes times(clock);
  TimePoint t;
  EXPECT_EQ(times.parse_prefix("2024-12-07T04:41:34.123456+09:00 host x", t), 33u);
  EXPECT_EQ(t, at("2024-12-06T19:41:34.123Z"));
  EXPECT_GT(times.parse_prefix("2024-12-07T04:41:34Z host", t), 0u);
  EXPECT_EQ(t, at("2024-12-07T04:41:34Z"));
}

TEST_F(LineTimesTest, NotAStamp) {
  ManualClock clock(at("2024-12-10T00:00:00Z"));
  LineTimes times(clock);
  TimePoint t;
  EXPECT_EQ(times.parse_prefix("Foo  7 04:41:34 host x", t), 0u);
  EXPECT_EQ(times.parse_prefix("Dec 77 04:41:34 host x", t), 0u);
  EXPECT_EQ(times.parse_prefix("Dec  7 25:41:34 host x", t), 0u);
  EXPECT_EQ(times.parse_prefix("2024-13-07T04:41:34Z host", t), 0u);
  EXPECT_EQ(times.parse_prefix("short", t), 0u);
}

TEST_F(LineTimesTest, CommonLogTime) {
  TimePoint t;
  EXPECT_TRUE(LineTimes::parse_common_log("07/Dec/2024:13:41:36 +0900", t));
  EXPECT_EQ(t, at("2024-12-07T04:41:36Z"));
  EXPECT_FALSE(LineTimes::parse_common_log("07/Dex/2024:13:41:36 +0900", t));
}

TEST_F(LineTimesTest, TimeFormats) {
  ManualClock clock(at("2024-12-10T00:00:00Z"));
  LineTimes times(clock);
  TimePoint t;
  auto f = TimeFormat::make("%d/%b/%Y:%H:%M:%S.%f %z");
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->parse("07/Dec/2024:13:41:36.250 +0900", times, t));
  EXPECT_EQ(t, at("2024-12-07T04:41:36.250Z"));
  auto e = TimeFormat::make("epoch");
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->parse("1733546496.5", times, t));
  EXPECT_EQ(t, at("2024-12-07T04:41:36.500Z"));
  auto y = TimeFormat::make("%b %e %T");
  ASSERT_TRUE(y);
  EXPECT_TRUE(y->parse("Dec  7 04:41:36", times, t));
  EXPECT_EQ(t, at("2024-12-07T04:41:36Z"));
  EXPECT_FALSE(TimeFormat::make("%H:%M"));
  EXPECT_FALSE(TimeFormat::make("%Y-%m-%d %H:%M:%S %Q"));
}

}  // namespace
}  // namespace mamori::logs
