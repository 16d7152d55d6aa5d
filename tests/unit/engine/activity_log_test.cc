// The activity log as the engine writes it: one record per recorded event,
// each with that event's fields only.
#include <gtest/gtest.h>

#include "engine_harness.h"

namespace mamori::engine::testing {
namespace {

// The engine builds each record in a scratch record reused from the last
// event: nothing of a denied, reasoned event may stay in the next one's.
TEST(ActivityLog, EachRecordCarriesOnlyItsOwnEventsFields) {
  EngineHarness h;
  h.add_list(store::ListKind::kDeny, "203.0.113.9", kT0);
  Event denied =
      EngineHarness::event(EventType::kLoginAttempt, "alice", "203.0.113.9", kT0 + seconds(1));
  denied.user_agent = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";
  denied.device_id = "device-of-the-attacker";
  denied.protocol = "imap";
  const Outcome first = h.process(denied);
  ASSERT_EQ(first.decision.action(), Action::kDeny);
  Event ok = EngineHarness::event(EventType::kLoginResult, "bob", "198.51.100.7", kT0 + seconds(2));
  ok.success = true;
  const Outcome second = h.process(ok);
  ASSERT_EQ(second.decision.action(), Action::kAllow);
  // Recorded because it is denied: an attempt keeps no success of the result before it.
  const Outcome third = h.process(
      EngineHarness::event(EventType::kLoginAttempt, "carol", "203.0.113.9", kT0 + seconds(3)));
  ASSERT_EQ(third.decision.action(), Action::kDeny);
  h.sync();

  auto alice = h.store().activity("alice", kT0, 10);
  ASSERT_TRUE(alice.ok());
  ASSERT_EQ(alice->size(), 1u);
  const store::ActivityRecord& a = alice->front();
  EXPECT_EQ(a.event_id, first.event_id);
  EXPECT_EQ(a.type, EventType::kLoginAttempt);
  EXPECT_EQ(a.ip.to_string(), "203.0.113.9");
  EXPECT_EQ(a.user_agent, denied.user_agent);
  EXPECT_EQ(a.device_id, "device-of-the-attacker");
  EXPECT_EQ(a.protocol, "imap");
  EXPECT_FALSE(a.success.has_value());
  EXPECT_EQ(a.action, Action::kDeny);
  EXPECT_EQ(a.reasons, std::vector<std::string>{"deny_list"});

  auto bob = h.store().activity("bob", kT0, 10);
  ASSERT_TRUE(bob.ok());
  ASSERT_EQ(bob->size(), 1u);
  const store::ActivityRecord& b = bob->front();
  EXPECT_EQ(b.event_id, second.event_id);
  EXPECT_EQ(b.time, kT0 + seconds(2));
  EXPECT_EQ(b.type, EventType::kLoginResult);
  EXPECT_EQ(b.ip.to_string(), "198.51.100.7");
  EXPECT_EQ(b.user_agent, "");
  EXPECT_EQ(b.device_id, "");
  EXPECT_EQ(b.protocol, ok.protocol);
  EXPECT_NE(b.protocol, "imap");
  EXPECT_EQ(b.success, std::optional<bool>(true));
  EXPECT_EQ(b.action, Action::kAllow);
  EXPECT_TRUE(b.reasons.empty());

  auto carol = h.store().activity("carol", kT0, 10);
  ASSERT_TRUE(carol.ok());
  ASSERT_EQ(carol->size(), 1u);
  EXPECT_FALSE(carol->front().success.has_value());
  EXPECT_EQ(carol->front().reasons, std::vector<std::string>{"deny_list"});
}

// An event that brings its own id (a log line's) is recorded under it, and
// recorded_event_ids() finds it among the account's entries since a time.
TEST(ActivityLog, AnEventsOwnIdIsItsRecordsIdAndIsFoundAgain) {
  EngineHarness h;
  Event e = EngineHarness::event(EventType::kLoginResult, "frank", "198.51.100.9", kT0);
  e.success = true;
  e.id = "019ab0a147000000beef";
  const Outcome o = h.process(e);
  EXPECT_EQ(o.event_id, e.id);
  const Outcome fresh = h.process(
      EngineHarness::event(EventType::kLoginResult, "frank", "198.51.100.9", kT0 + seconds(5)));
  EXPECT_NE(fresh.event_id, e.id);
  h.sync();
  auto ids = h.engine().recorded_event_ids("frank", kT0, 10);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<std::string>{fresh.event_id, e.id}));
  auto later = h.engine().recorded_event_ids("frank", kT0 + seconds(1), 10);
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(*later, std::vector<std::string>{fresh.event_id});
}

}  // namespace
}  // namespace mamori::engine::testing
