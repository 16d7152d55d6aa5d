#include "notify/alert_throttle.h"

#include <gtest/gtest.h>

namespace mamori::notify {
namespace {

const TimePoint kT0 = from_unix_ms(1'795'435'200'000);

engine::Alert alert(std::string_view ip, std::string account, Reason why, TimePoint t) {
  engine::Alert a;
  a.ip = *IpAddress::parse(ip);
  a.account = std::move(account);
  a.time = t;
  a.decision.add(Action::kDeny, why, 80);
  return a;
}

TEST(AlertThrottle, RepeatsWithinTheWindowAreSuppressedAndCounted) {
  AlertThrottle t(std::chrono::seconds(60));
  EXPECT_TRUE(t.admit(alert("203.0.113.5", "alice", Reason::kBruteForce, kT0)));
  for (int i = 1; i <= 50; ++i)
    EXPECT_FALSE(t.admit(alert("203.0.113.5", "alice", Reason::kBruteForce, kT0 + std::chrono::seconds(i))));
  EXPECT_EQ(t.suppressed(), 50u);
  EXPECT_TRUE(t.admit(alert("203.0.113.5", "alice", Reason::kBruteForce, kT0 + std::chrono::seconds(60))));
}

TEST(AlertThrottle, ADifferentSourceAccountOrReasonIsSent) {
  AlertThrottle t(std::chrono::seconds(60));
  EXPECT_TRUE(t.admit(alert("203.0.113.5", "alice", Reason::kBruteForce, kT0)));
  EXPECT_TRUE(t.admit(alert("203.0.113.6", "alice", Reason::kBruteForce, kT0)));
  EXPECT_TRUE(t.admit(alert("203.0.113.5", "bob", Reason::kBruteForce, kT0)));
  EXPECT_TRUE(t.admit(alert("203.0.113.5", "alice", Reason::kDenyList, kT0)));
  engine::Alert locked = alert("203.0.113.5", "alice", Reason::kBruteForce, kT0);
  locked.decision.add(Action::kLock, Reason::kRiskyChange, 100);
  EXPECT_TRUE(t.admit(locked));
  EXPECT_EQ(t.suppressed(), 0u);
}

TEST(AlertThrottle, MemoryIsBoundedByForgettingOldKeys) {
  AlertThrottle t(std::chrono::seconds(60), 100);
  for (int i = 0; i < 1000; ++i)
    EXPECT_TRUE(t.admit(alert("198.51.100.1", "user" + std::to_string(i), Reason::kBruteForce, kT0)));
  // The latest key is still remembered; the first ones were forgotten to
  // stay within the bound, so a repeat of them goes out again.
  EXPECT_FALSE(t.admit(alert("198.51.100.1", "user999", Reason::kBruteForce, kT0)));
  EXPECT_TRUE(t.admit(alert("198.51.100.1", "user0", Reason::kBruteForce, kT0)));
}

}  // namespace
}  // namespace mamori::notify
