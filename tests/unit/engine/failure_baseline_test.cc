// The service's failure baseline per hour of the week: distributed_stuffing's
// signal when no source stands out.
#include "engine/failure_baseline.h"

#include <gtest/gtest.h>

#include <string>

namespace mamori::engine {
namespace {

constexpr std::int64_t kHourMs = 3'600'000;
// Monday 2026-11-02 00:00 UTC, in unix hours.
constexpr std::int64_t kMonday = 1'793'577'600'000 / kHourMs;

TimePoint at_hour(std::int64_t hour, std::int64_t offset_ms = 0) {
  return from_unix_ms(hour * kHourMs + offset_ms);
}

// `per_hour` results spread evenly over each of `hours` hours from `first`,
// `failure_percent` of them failed, `unknown` of the failures a hour for
// accounts the app does not have.
void feed(FailureBaseline& b, std::int64_t first, int hours, int per_hour, int failure_percent,
          int unknown = 0) {
  for (std::int64_t h = first; h < first + hours; ++h) {
    int failed = 0, unknown_left = unknown;
    for (int i = 0; i < per_hour; ++i) {
      // Failures spread through the hour: result i fails when the running
      // share is below the target.
      const bool fail = (failed + 1) * 100 <= (i + 1) * failure_percent;
      if (fail) ++failed;
      const bool unknown_account = fail && unknown_left > 0;
      if (unknown_account) --unknown_left;
      b.count(at_hour(h, i * kHourMs / per_hour), fail, unknown_account);
    }
  }
}

// A minute of `results` results at `t`, `failures` of them failed.
void burst(FailureBaseline& b, TimePoint t, int results, int failures, int unknown = 0) {
  for (int i = 0; i < results; ++i) b.count(t, i < failures, i < unknown);
}

FailureBaselineConfig config() { return FailureBaselineConfig{}; }

TEST(FailureBaseline, SlotsAreHoursOfTheUtcWeekFromMonday) {
  EXPECT_EQ(FailureBaseline::slot_of_hour(kMonday), 0);
  EXPECT_EQ(FailureBaseline::slot_of_hour(kMonday + 9), 9);
  EXPECT_EQ(FailureBaseline::slot_of_hour(kMonday + 24 + 9), 33);        // Tuesday 09:00
  EXPECT_EQ(FailureBaseline::slot_of_hour(kMonday + 6 * 24 + 23), 167);  // Sunday 23:00
  EXPECT_EQ(FailureBaseline::slot_of_hour(kMonday + 7 * 24), 0);
  EXPECT_EQ(FailureBaseline::slot_of_hour(0), 72);  // 1970-01-01 was a Thursday
}

TEST(FailureBaseline, TheFirstDayOnlyLearns) {
  FailureBaseline b;
  feed(b, kMonday, 20, 600, 5);
  burst(b, at_hour(kMonday + 20, 60'000), 1000, 900);  // 90 % failures
  const auto j = b.judge(config(), at_hour(kMonday + 20, 60'000));
  EXPECT_FALSE(j.base_ratio.has_value()) << "20 hours learnt: not yet judged";
  EXPECT_FALSE(j.over);
  EXPECT_GE(j.results, 1000u);
}

// S3's wave spread over thousands of addresses: none of its sources stands
// out, but the service's failure ratio triples.
TEST(FailureBaseline, AFailureRatioFarAboveTheHoursUsualIsOver) {
  FailureBaseline b;
  feed(b, kMonday, 7 * 24, 600, 5);  // a week at 5 %
  const std::int64_t next_monday_9 = kMonday + 7 * 24 + 9;
  feed(b, next_monday_9 - 9, 9, 600, 5);
  // Ten minutes at 25 % failures.
  for (int m = 0; m < 10; ++m) burst(b, at_hour(next_monday_9, m * 60'000), 100, 25);
  const auto j = b.judge(config(), at_hour(next_monday_9, 9 * 60'000 + 30'000));
  ASSERT_TRUE(j.base_ratio.has_value());
  EXPECT_NEAR(*j.base_ratio, 0.05, 0.005);
  EXPECT_NEAR(j.ratio, 0.25, 0.01);
  EXPECT_TRUE(j.over);
  EXPECT_EQ(j.why, "failure ratio 25 % against 5 % usual for Mon 09:00 UTC");
}

TEST(FailureBaseline, AnHourOfTheWeekKeepsItsOwnUsualLevel) {
  FailureBaseline b;
  // Every Monday 09:00 a batch of stale sessions fails: 20 % then, 5 % else.
  for (int week = 0; week < 2; ++week) {
    const std::int64_t w = kMonday + week * 7 * 24;
    feed(b, w, 9, 600, 5);
    feed(b, w + 9, 1, 600, 20);
    feed(b, w + 10, 7 * 24 - 10, 600, 5);
  }
  const std::int64_t monday_9 = kMonday + 14 * 24 + 9, tuesday_9 = monday_9 + 24;
  feed(b, monday_9 - 9, 9, 600, 5);
  for (int m = 0; m < 10; ++m) burst(b, at_hour(monday_9, m * 60'000), 100, 25);
  EXPECT_FALSE(b.judge(config(), at_hour(monday_9, 9 * 60'000)).over)
      << "25 % on a Monday at 09:00, where 20 % is usual";
  feed(b, monday_9, 24, 600, 5);
  for (int m = 0; m < 10; ++m) burst(b, at_hour(tuesday_9, m * 60'000), 100, 25);
  EXPECT_TRUE(b.judge(config(), at_hour(tuesday_9, 9 * 60'000)).over)
      << "25 % on a Tuesday at 09:00, where 5 % is usual";
}

TEST(FailureBaseline, ASmallRiseOrAQuietWindowIsNotOver) {
  FailureBaseline b;
  feed(b, kMonday, 7 * 24, 600, 5);
  const std::int64_t h = kMonday + 7 * 24;
  // 12 %: not three times the usual.
  for (int m = 0; m < 10; ++m) burst(b, at_hour(h, m * 60'000), 100, 12);
  EXPECT_FALSE(b.judge(config(), at_hour(h, 9 * 60'000)).over);
  // 90 % of 100 results in the window: under min_results.
  FailureBaseline quiet;
  feed(quiet, kMonday, 7 * 24, 600, 5);
  burst(quiet, at_hour(h, 60'000), 100, 90);
  EXPECT_FALSE(quiet.judge(config(), at_hour(h, 2 * 60'000)).over);
  // With a low usual ratio, three times it is not enough without 15 points.
  FailureBaseline low;
  feed(low, kMonday, 7 * 24, 1000, 1);
  for (int m = 0; m < 10; ++m) burst(low, at_hour(h, m * 60'000), 100, 10);
  EXPECT_FALSE(low.judge(config(), at_hour(h, 9 * 60'000)).over) << "10 % against 1 %";
}

TEST(FailureBaseline, FailuresForAccountsTheAppDoesNotHaveAreJudgedByTheirRate) {
  FailureBaseline b;
  feed(b, kMonday, 7 * 24, 600, 5, /*unknown=*/6);  // 0.1 a minute
  const std::int64_t h = kMonday + 7 * 24;
  // The ratio stays at 5 %, but every failure is for an unknown account,
  // 10 a minute: a list of accounts the service never had.
  for (int m = 0; m < 10; ++m) burst(b, at_hour(h, m * 60'000), 200, 10, 10);
  const auto j = b.judge(config(), at_hour(h, 9 * 60'000 + 30'000));
  EXPECT_TRUE(j.over);
  EXPECT_NEAR(j.unknown_per_minute, 10.0, 0.01);
  EXPECT_NEAR(j.base_unknown_per_minute, 0.1, 0.01);
  EXPECT_NE(j.why.find("failures a minute for unknown accounts"), std::string::npos) << j.why;
}

TEST(FailureBaseline, AnHourThatWasOverIsNotLearnt) {
  FailureBaseline b;
  feed(b, kMonday, 7 * 24, 600, 5);
  const std::int64_t h = kMonday + 7 * 24;
  for (int m = 0; m < 60; ++m) burst(b, at_hour(h, m * 60'000), 100, 40);
  EXPECT_TRUE(b.over(config(), at_hour(h, 59 * 60'000)));
  const std::uint64_t before = b.version();
  feed(b, h + 1, 1, 600, 5);  // the next hour folds the one that was over
  EXPECT_EQ(b.version(), before) << "the attack's hour was learnt";
  feed(b, h + 2, 1, 600, 5);
  EXPECT_EQ(b.version(), before + 1) << "a normal hour is learnt";
  const auto j = b.judge(config(), at_hour(h + 7 * 24));
  ASSERT_TRUE(j.base_ratio.has_value());
  EXPECT_NEAR(*j.base_ratio, 0.05, 0.005) << "Monday 00:00 still usual at 5 %";
}

TEST(FailureBaseline, OverIsJudgedAtMostOnceASecond) {
  FailureBaseline b;
  feed(b, kMonday, 7 * 24, 600, 5);
  const std::int64_t h = kMonday + 7 * 24;
  const TimePoint t = at_hour(h, 10 * 60'000);
  EXPECT_FALSE(b.over(config(), t));
  burst(b, t, 1000, 900);
  EXPECT_FALSE(b.over(config(), t + std::chrono::milliseconds(500))) << "cached";
  EXPECT_TRUE(b.over(config(), t + std::chrono::milliseconds(1000)));
}

TEST(FailureBaseline, TheSnapshotRestoresEverySlotAndBadTextChangesNothing) {
  FailureBaseline b;
  feed(b, kMonday, 7 * 24, 600, 5, 6);
  const std::string text = b.snapshot();
  FailureBaseline c;
  ASSERT_TRUE(c.restore(text).ok());
  EXPECT_EQ(c.snapshot(), text);
  const std::int64_t h = kMonday + 7 * 24;
  for (int m = 0; m < 10; ++m) burst(c, at_hour(h, m * 60'000), 100, 25);
  EXPECT_TRUE(c.judge(config(), at_hour(h, 9 * 60'000)).over) << "judged by the restored slots";

  for (const char* bad :
       {"", "not a baseline\n", "mamori-baseline 1\n168 1 0.05 0\n",
        "mamori-baseline 1\n3 1 0.05 0\n3 2 0.05 0\n", "mamori-baseline 1\n3 1 1.5 0\n",
        "mamori-baseline 1\n3 0 0.05 0\n", "mamori-baseline 1\n3 1 0.05 -1\n",
        "mamori-baseline 1\n3 1 0.05 0 x\n", "mamori-baseline 1\n3 1 nan 0\n"}) {
    const Status s = c.restore(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.error().code, "invalid_baseline");
    EXPECT_EQ(c.snapshot(), text) << "a refused restore changed the slots: " << bad;
  }
}

}  // namespace
}  // namespace mamori::engine
