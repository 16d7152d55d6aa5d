#include "protocols/logs/send_join.h"

#include <gtest/gtest.h>

#include <string>

namespace mamori::logs {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const TimePoint kT0 = TimePoint{} + std::chrono::hours(24 * 20000);

TEST(SendJoin, ClientThenRecipientsIsOneSend) {
  SendJoin j;
  EXPECT_FALSE(j.on_client("4AbC1", "alice", "203.0.113.5", kT0));
  EXPECT_EQ(j.waiting(), 1u);
  auto s = j.on_recipients("4AbC1", 3, kT0 + seconds(1));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->account, "alice");
  EXPECT_EQ(s->ip, "203.0.113.5");
  EXPECT_EQ(s->recipients, 3u);
  EXPECT_EQ(j.waiting(), 0u);
  // qmgr's next "queue active" for the message (a deferred retry) is no new send.
  EXPECT_FALSE(j.on_recipients("4AbC1", 3, kT0 + minutes(5)));
  EXPECT_EQ(j.dropped(), 0u);
}

TEST(SendJoin, RecipientsThenClientIsOneSend) {
  SendJoin j;
  EXPECT_FALSE(j.on_recipients("Q2", 7, kT0));
  auto s = j.on_client("Q2", "bob", "2001:db8::5", kT0);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->account, "bob");
  EXPECT_EQ(s->ip, "2001:db8::5");
  EXPECT_EQ(s->recipients, 7u);
  EXPECT_EQ(j.waiting(), 0u);
}

TEST(SendJoin, DifferentQueueIdsDoNotJoin) {
  SendJoin j;
  EXPECT_FALSE(j.on_client("A1", "alice", "192.0.2.1", kT0));
  EXPECT_FALSE(j.on_recipients("B2", 2, kT0));
  EXPECT_EQ(j.waiting(), 2u);
  auto s = j.on_recipients("A1", 4, kT0);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->recipients, 4u);
}

TEST(SendJoin, AMissingHalfExpiresAndIsCountedWhenItIsTheClient) {
  SendJoin::Options o;
  o.client_wait = minutes(10);
  o.recipients_wait = minutes(1);
  SendJoin j(o);
  EXPECT_FALSE(j.on_client("C1", "carol", "192.0.2.3", kT0));  // cleanup rejected it
  EXPECT_FALSE(j.on_recipients("M1", 1, kT0));                 // mail from outside, no SASL
  EXPECT_FALSE(j.on_client("C2", "dave", "192.0.2.4", kT0 + minutes(2)));
  EXPECT_EQ(j.waiting(), 2u);  // M1 gone after a minute
  EXPECT_EQ(j.dropped(), 0u);
  EXPECT_FALSE(j.on_recipients("M2", 1, kT0 + minutes(11)));
  EXPECT_EQ(j.dropped(), 1u);  // C1, older than ten minutes
  // Too late: its half is gone.
  EXPECT_FALSE(j.on_recipients("C1", 5, kT0 + minutes(11)));
  auto s = j.on_recipients("C2", 2, kT0 + minutes(11));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->account, "dave");
}

TEST(SendJoin, TheTableIsBoundedOldestFirst) {
  SendJoin::Options o;
  o.max_clients = 100;
  o.max_recipients = 10;
  SendJoin j(o);
  for (int i = 0; i < 1000; ++i) {
    j.on_client("c" + std::to_string(i), "u", "192.0.2.9", kT0);
    j.on_recipients("r" + std::to_string(i), 1, kT0);
  }
  EXPECT_EQ(j.waiting(), 110u);
  EXPECT_EQ(j.dropped(), 900u);
  // The newest are there (a lookup that misses adds a half: these first).
  EXPECT_TRUE(j.on_recipients("c900", 1, kT0));
  EXPECT_TRUE(j.on_client("r990", "u", "192.0.2.9", kT0));
  EXPECT_FALSE(j.on_recipients("c899", 1, kT0));  // dropped
  EXPECT_FALSE(j.on_client("r989", "u", "192.0.2.9", kT0));
}

TEST(SendJoin, JoinedEntriesDoNotGrowTheTable) {
  SendJoin::Options o;
  o.max_clients = 8;
  SendJoin j(o);
  for (int i = 0; i < 100000; ++i) {
    const std::string id = "q" + std::to_string(i);
    ASSERT_FALSE(j.on_client(id, "u", "192.0.2.9", kT0 + seconds(i)));
    ASSERT_TRUE(j.on_recipients(id, 1, kT0 + seconds(i)));
  }
  EXPECT_EQ(j.waiting(), 0u);
  EXPECT_EQ(j.dropped(), 0u);
}

}  // namespace
}  // namespace mamori::logs
