#include "protocols/logs/line_ids.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>

namespace mamori::logs {
namespace {

// 2026-11-23T12:00:00Z, 0x01a20846fe00 ms.
const TimePoint kT = from_unix_ms(1'795'435'200'000);

TEST(LineEventId, SameLineReadAgainHasTheSameId) {
  EXPECT_EQ(line_event_id("/var/log/mail.log", "1234:560", "imap-login: Login: user=<a>", 0, kT),
            line_event_id("/var/log/mail.log", "1234:560", "imap-login: Login: user=<a>", 0, kT));
}

// The engine's ids' shape: 12 hex digits of the time in milliseconds (the
// line's), then 8 more; so they sort by the lines' times.
TEST(LineEventId, IsTheLinesTimeThenEightHexDigits) {
  const std::string id = line_event_id("journal:sshd", "s=abc;i=1", "Failed password", 3, kT);
  ASSERT_EQ(id.size(), 20u);
  EXPECT_EQ(id.substr(0, 12), "01a20846fe00");
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  EXPECT_LT(id, line_event_id("journal:sshd", "s=abc;i=0", "Failed password", 3,
                              kT + std::chrono::seconds(1)));
}

TEST(LineEventId, EachPartTellsLinesApart) {
  const std::string base = line_event_id("a.log", "7:0", "line", 0, kT);
  EXPECT_NE(base, line_event_id("b.log", "7:0", "line", 0, kT));   // another source
  EXPECT_NE(base, line_event_id("a.log", "8:0", "line", 0, kT));   // another file
  EXPECT_NE(base, line_event_id("a.log", "7:5", "line", 0, kT));   // another offset
  EXPECT_NE(base, line_event_id("a.log", "7:0", "line!", 0, kT));  // another text
  EXPECT_NE(base, line_event_id("a.log", "7:0", "line", 1, kT));   // the line's next event
  EXPECT_NE(base, line_event_id("a.log", "7:0", "line", 0, kT + std::chrono::seconds(1)));
  // The parts are not simply joined: moving bytes from one to the next
  // changes the id.
  EXPECT_NE(line_event_id("a.log", "7:01", "x", 0, kT), line_event_id("a.log", "7:0", "1x", 0, kT));
}

// A busy second of one file: ten thousand lines of one time stamp.
TEST(LineEventId, ManyLinesOfOneSecondDoNotCollide) {
  std::set<std::string> ids;
  for (int offset = 0; offset < 10'000; ++offset)
    ids.insert(line_event_id("mail.log", "42:" + std::to_string(offset * 100), "same text", 0, kT));
  EXPECT_EQ(ids.size(), 10'000u);
}

}  // namespace
}  // namespace mamori::logs
