#include "protocols/http/console_sessions.h"

#include <gtest/gtest.h>

namespace mamori::http {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const TimePoint kT0 = from_unix_ms(1'790'000'000'000);

ConsoleSessionOptions opts(std::size_t max = 100) {
  ConsoleSessionOptions o;
  o.idle_timeout = minutes(30);
  o.lifetime = hours(12);
  o.max_sessions = max;
  return o;
}

TEST(ConsoleSessions, OpenGivesRandomIdAndCsrf) {
  ConsoleSessions sessions(opts());
  const ConsoleSession a = sessions.open("ops", "token", kT0);
  const ConsoleSession b = sessions.open("ops", "token", kT0);
  EXPECT_EQ(a.id.size(), 43u);  // 32 bytes, base64url without padding
  EXPECT_EQ(a.csrf.size(), 43u);
  EXPECT_NE(a.id, b.id);
  EXPECT_NE(a.csrf, b.csrf);
  EXPECT_NE(a.id, a.csrf);
  EXPECT_EQ(
      a.id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos);
  EXPECT_EQ(a.expires, kT0 + hours(12));
  auto found = sessions.use(a.id, kT0 + seconds(1));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->name, "ops");
  EXPECT_EQ(found->kind, "token");
  EXPECT_FALSE(sessions.use("no-such-session", kT0));
}

TEST(ConsoleSessions, IdleSessionEndsAndUseRestartsTheIdleTime) {
  ConsoleSessions sessions(opts());
  const ConsoleSession s = sessions.open("ops", "operator", kT0);
  // Used every 29 minutes it lives past the first 30.
  TimePoint t = kT0;
  for (int i = 0; i < 4; ++i) {
    t += minutes(29);
    ASSERT_TRUE(sessions.use(s.id, t)) << i;
  }
  // Idle for 30 minutes: gone, and gone for good.
  EXPECT_FALSE(sessions.use(s.id, t + minutes(30)));
  EXPECT_FALSE(sessions.use(s.id, t + minutes(1)));
  EXPECT_EQ(sessions.size(), 0u);
}

TEST(ConsoleSessions, LifetimeEndsABusySession) {
  ConsoleSessions sessions(opts());
  const ConsoleSession s = sessions.open("ops", "operator", kT0);
  TimePoint t = kT0;
  while (t + minutes(10) < kT0 + hours(12)) {
    t += minutes(10);
    ASSERT_TRUE(sessions.use(s.id, t));
  }
  EXPECT_FALSE(sessions.use(s.id, kT0 + hours(12)));
}

TEST(ConsoleSessions, CloseAndCloseAllEndSessions) {
  ConsoleSessions sessions(opts());
  const ConsoleSession a = sessions.open("alice", "operator", kT0);
  const ConsoleSession a2 = sessions.open("alice", "operator", kT0);
  const ConsoleSession t = sessions.open("alice", "token", kT0);
  const ConsoleSession b = sessions.open("bob", "operator", kT0);
  EXPECT_TRUE(sessions.close(b.id));
  EXPECT_FALSE(sessions.close(b.id));
  EXPECT_EQ(sessions.close_all("alice", "operator"), 2u);
  EXPECT_FALSE(sessions.use(a.id, kT0));
  EXPECT_FALSE(sessions.use(a2.id, kT0));
  EXPECT_TRUE(sessions.use(t.id, kT0));  // a token of the same name is another identity
}

TEST(ConsoleSessions, TableIsBoundedByEndingTheLeastRecentlyUsed) {
  ConsoleSessions sessions(opts(3));
  const ConsoleSession a = sessions.open("a", "token", kT0);
  const ConsoleSession b = sessions.open("b", "token", kT0 + seconds(1));
  const ConsoleSession c = sessions.open("c", "token", kT0 + seconds(2));
  ASSERT_TRUE(sessions.use(a.id, kT0 + seconds(3)));  // b is now the least recently used
  const ConsoleSession d = sessions.open("d", "token", kT0 + seconds(4));
  EXPECT_EQ(sessions.size(), 3u);
  EXPECT_FALSE(sessions.use(b.id, kT0 + seconds(5)));
  EXPECT_TRUE(sessions.use(a.id, kT0 + seconds(5)));
  EXPECT_TRUE(sessions.use(c.id, kT0 + seconds(5)));
  EXPECT_TRUE(sessions.use(d.id, kT0 + seconds(5)));
}

TEST(ConsoleSessions, CsrfMatchesOnlyTheSessionsToken) {
  ConsoleSessions sessions(opts());
  const ConsoleSession s = sessions.open("ops", "token", kT0);
  const ConsoleSession other = sessions.open("ops", "token", kT0);
  EXPECT_TRUE(ConsoleSessions::csrf_matches(s, s.csrf));
  EXPECT_FALSE(ConsoleSessions::csrf_matches(s, other.csrf));
  EXPECT_FALSE(ConsoleSessions::csrf_matches(s, ""));
  EXPECT_FALSE(ConsoleSessions::csrf_matches(s, s.csrf.substr(0, 42)));
  EXPECT_FALSE(ConsoleSessions::csrf_matches(s, s.csrf + "x"));
  std::string flipped = s.csrf;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(ConsoleSessions::csrf_matches(s, flipped));
}

TEST(CookieValue, FindsTheNamedCookie) {
  EXPECT_EQ(cookie_value("mamori_console=abc", "mamori_console"), "abc");
  EXPECT_EQ(cookie_value("x=1; mamori_console=abc; y=2", "mamori_console"), "abc");
  EXPECT_EQ(cookie_value("x=1;mamori_console=abc", "mamori_console"), "abc");
  EXPECT_EQ(cookie_value("not_mamori_console=abc", "mamori_console"), "");
  EXPECT_EQ(cookie_value("", "mamori_console"), "");
  EXPECT_EQ(cookie_value("mamori_console", "mamori_console"), "");
}

}  // namespace
}  // namespace mamori::http
