#include "core/log.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace mamori {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A limiter on a manual clock that records what it writes.
struct Recorded {
  ManualClock clock{from_unix_ms(1'800'000'000'000)};
  std::vector<std::string> lines;
  LogLimiter limiter;

  explicit Recorded(LogLimiter::Options o = {.burst = 3, .interval = seconds(10)})
      : limiter(clock, o, [this](LogLevel level, std::string_view m) {
          lines.push_back(std::string(level == LogLevel::kError ? "E " : "W ") + std::string(m));
        }) {}

  bool warn(std::string_view key, std::string_view m) {
    return limiter.log(LogLevel::kWarn, key, m);
  }
};

TEST(LogLimiter, WritesTheFirstLinesOfABurstThenDropsAndReportsOnTheNextAllowedLine) {
  Recorded r;
  for (int i = 0; i < 1000; ++i) {
    r.warn("bad request", "bad " + std::to_string(i));
    r.clock.advance(milliseconds(1));
  }
  EXPECT_EQ(r.lines, (std::vector<std::string>{"W bad 0", "W bad 1", "W bad 2"}));
  EXPECT_EQ(r.limiter.suppressed_total(), 997u);
  // 10 s after the last written line (bad 2 at +2 ms) one line is allowed,
  // preceded by the count of what was dropped.
  r.clock.set(from_unix_ms(1'800'000'000'000) + milliseconds(10'002));
  EXPECT_TRUE(r.warn("bad request", "bad again"));
  EXPECT_FALSE(r.warn("bad request", "and again"));
  ASSERT_EQ(r.lines.size(), 5u);
  EXPECT_EQ(r.lines[3], "W bad request: 997 more like this suppressed");
  EXPECT_EQ(r.lines[4], "W bad again");
}

TEST(LogLimiter, AtMostOneLinePerIntervalWhileTheFloodGoesOn) {
  Recorded r;
  std::size_t written = 0;
  // 100 lines a second for 60 s, never quiet for 10 s.
  for (int i = 0; i < 6000; ++i) {
    written += r.warn("flood", "line") ? 1 : 0;
    r.clock.advance(milliseconds(10));
    r.limiter.flush();  // the burst never ends: nothing due
  }
  // 3 at the start, then one each 10 s (at 10, 20, ..., 50 s).
  EXPECT_EQ(written, 3u + 5u);
  std::size_t reports = 0;
  for (const auto& l : r.lines) reports += l.find("more like this suppressed") != std::string::npos;
  EXPECT_EQ(reports, 5u);  // one before each line allowed after the burst
  EXPECT_EQ(r.lines.size(), written + reports);
}

TEST(LogLimiter, FlushReportsWhenTheBurstHasEnded) {
  Recorded r;
  for (int i = 0; i < 50; ++i) r.warn("k", "x");
  ASSERT_EQ(r.lines.size(), 3u);
  r.clock.advance(seconds(9));
  r.limiter.flush();  // quiet for 9 s: the burst may go on
  EXPECT_EQ(r.lines.size(), 3u);
  r.clock.advance(seconds(1));
  r.limiter.flush();
  ASSERT_EQ(r.lines.size(), 4u);
  EXPECT_EQ(r.lines[3], "W k: 47 more like this suppressed");
  r.clock.advance(seconds(60));
  r.limiter.flush();  // reported once
  EXPECT_EQ(r.lines.size(), 4u);
  // A new burst gets its first lines again.
  for (int i = 0; i < 5; ++i) r.warn("k", "y");
  EXPECT_EQ(r.lines.size(), 7u);
}

TEST(LogLimiter, AQuietKeyStartsANewBurstAfterReportingTheLastOne) {
  Recorded r;
  for (int i = 0; i < 10; ++i) r.warn("k", "x");
  r.clock.advance(seconds(10));
  // No flush ran: the next line reports the old burst first.
  EXPECT_TRUE(r.warn("k", "new"));
  EXPECT_TRUE(r.warn("k", "new"));
  EXPECT_TRUE(r.warn("k", "new"));
  EXPECT_FALSE(r.warn("k", "new"));
  EXPECT_EQ(r.lines,
            (std::vector<std::string>{"W x", "W x", "W x", "W k: 7 more like this suppressed",
                                      "W new", "W new", "W new"}));
}

TEST(LogLimiter, FlushAllReportsEverythingPending) {
  Recorded r;
  for (int i = 0; i < 4; ++i) r.warn("a", "x");
  for (int i = 0; i < 6; ++i) r.limiter.log(LogLevel::kError, "b", "y");
  r.limiter.flush();
  EXPECT_EQ(r.lines.size(), 6u);
  r.limiter.flush(true);
  ASSERT_EQ(r.lines.size(), 8u);
  EXPECT_EQ(r.lines[6], "W a: 1 more like this suppressed");
  EXPECT_EQ(r.lines[7], "E b: 3 more like this suppressed");  // at the key's level
}

TEST(LogLimiter, KeysAreLimitedSeparately) {
  Recorded r;
  for (int i = 0; i < 10; ++i) {
    r.warn("postfix", "p");
    r.warn("http", "h");
  }
  EXPECT_EQ(r.lines.size(), 6u);
  EXPECT_EQ(r.limiter.suppressed_total(), 14u);
}

TEST(LogLimiter, KeysBeyondTheLimitShareOneRecord) {
  Recorded r({.burst = 1, .interval = seconds(10)});
  for (std::size_t i = 0; i < LogLimiter::kMaxKeys; ++i) r.warn("site " + std::to_string(i), "x");
  EXPECT_EQ(r.lines.size(), LogLimiter::kMaxKeys);
  for (int i = 0; i < 100; ++i) r.warn("another site " + std::to_string(i), "y");
  EXPECT_EQ(r.lines.size(), LogLimiter::kMaxKeys + 1);
  r.limiter.flush(true);
  EXPECT_EQ(r.lines.back(), "W other log lines: 99 more like this suppressed");
}

TEST(LogLimiter, ConcurrentWritersCountEveryLine) {
  Recorded r;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10'000; ++i) r.warn("k", "x");
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(r.lines.size(), 3u);
  EXPECT_EQ(r.limiter.suppressed_total(), 40'000u - 3u);
  r.limiter.flush(true);
  EXPECT_EQ(r.lines.back(), "W k: 39997 more like this suppressed");
}

// ---- line formats ----

const TimePoint kNoon = from_unix_ms(1'795'435'200'000);  // 2026-11-23T12:00:00.000Z

TEST(LogFormat, TextLinesHaveTimeLevelMessageAndFields) {
  EXPECT_EQ(format_log_line(LogLevel::kWarn, "store slow", {{"ms", std::int64_t(120)}}, kNoon,
                            LogFormat::kText, false),
            "2026-11-23T12:00:00.000Z warn  store slow ms=120");
  EXPECT_EQ(format_log_line(LogLevel::kDebug, "x", {}, kNoon, LogFormat::kText, false),
            "2026-11-23T12:00:00.000Z debug x");
}

TEST(LogFormat, JournalLinesCarryThePriorityNotTheTime) {
  EXPECT_EQ(
      format_log_line(LogLevel::kError, "down", {{"peer", "smtp"}}, kNoon, LogFormat::kText, true),
      "<3>down peer=smtp");
  EXPECT_EQ(format_log_line(LogLevel::kWarn, "w", {}, kNoon, LogFormat::kText, true), "<4>w");
  EXPECT_EQ(format_log_line(LogLevel::kInfo, "i", {}, kNoon, LogFormat::kText, true), "<6>i");
  EXPECT_EQ(format_log_line(LogLevel::kDebug, "d", {}, kNoon, LogFormat::kText, true), "<7>d");
}

TEST(LogFormat, JsonLinesAreOneObjectWithEscapedTextAndTypedFields) {
  EXPECT_EQ(format_log_line(LogLevel::kInfo, "said \"hi\"\n",
                            {{"tokens", std::int64_t(2)}, {"path", "/etc/a b"}}, kNoon,
                            LogFormat::kJson, true),
            R"({"time":"2026-11-23T12:00:00.000Z","level":"info","message":"said \"hi\"\n",)"
            R"("tokens":2,"path":"/etc/a b"})");
  // A field cannot shadow the line's own members.
  EXPECT_EQ(format_log_line(LogLevel::kInfo, "m", {{"level", "x"}}, kNoon, LogFormat::kJson, false),
            R"({"time":"2026-11-23T12:00:00.000Z","level":"info","message":"m"})");
}

TEST(LogFormat, LevelAndFormatWordsParse) {
  LogLevel level = LogLevel::kInfo;
  EXPECT_TRUE(parse_log_level("debug", level));
  EXPECT_EQ(level, LogLevel::kDebug);
  EXPECT_TRUE(parse_log_level("error", level));
  EXPECT_EQ(level, LogLevel::kError);
  EXPECT_FALSE(parse_log_level("warning", level));
  EXPECT_EQ(level, LogLevel::kError);
  LogFormat format = LogFormat::kText;
  EXPECT_TRUE(parse_log_format("json", format));
  EXPECT_EQ(format, LogFormat::kJson);
  EXPECT_FALSE(parse_log_format("JSON", format));
}

}  // namespace
}  // namespace mamori
