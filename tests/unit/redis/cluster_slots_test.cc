#include "redis/cluster_slots.h"

#include <gtest/gtest.h>

namespace mamori::redis {
namespace {

// Redis Cluster specification, appendix A: the CRC16 used is XMODEM, and
// "123456789" gives 0x31C3.
TEST(Crc16, MatchesTheSpecificationsVector) { EXPECT_EQ(crc16("123456789"), 0x31C3); }

TEST(Crc16, EmptyInputIsZero) { EXPECT_EQ(crc16(""), 0); }

// Slots as CLUSTER KEYSLOT reports them.
TEST(KeySlot, MatchesClusterKeyslot) {
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot("hello"), 866);
  EXPECT_EQ(key_slot("somekey"), 11058);
}

TEST(KeySlot, HashTagsShareASlot) {
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(key_slot("mamori:obs:{3}"), key_slot("3"));
}

TEST(KeySlot, FirstTagOnlyAndEmptyTagHashesWholeKey) {
  EXPECT_EQ(key_slot("foo{}{bar}"), crc16("foo{}{bar}") % kSlotCount);
  EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));
  EXPECT_EQ(key_slot("foo{bar}{zap}"), key_slot("bar"));
  EXPECT_EQ(key_slot("foo{bar"), crc16("foo{bar") % kSlotCount);
}

TEST(ParseRedirect, Moved) {
  auto r = parse_redirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, Redirect::Kind::kMoved);
  EXPECT_EQ(r->slot, 3999);
  EXPECT_EQ(r->host, "127.0.0.1");
  EXPECT_EQ(r->port, 6381);
}

TEST(ParseRedirect, AskAndIpv6) {
  auto r = parse_redirect("ASK 16383 ::1:7002");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, Redirect::Kind::kAsk);
  EXPECT_EQ(r->slot, 16383);
  EXPECT_EQ(r->host, "::1");
  EXPECT_EQ(r->port, 7002);
}

TEST(ParseRedirect, EmptyHostMeansTheAnsweringNode) {
  auto r = parse_redirect("MOVED 12 :7001");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->host, "");
  EXPECT_EQ(r->port, 7001);
}

TEST(ParseRedirect, RefusesOtherErrorsAndMalformedOnes) {
  EXPECT_FALSE(parse_redirect("ERR unknown command"));
  EXPECT_FALSE(parse_redirect("CLUSTERDOWN The cluster is down"));
  EXPECT_FALSE(parse_redirect("MOVED 16384 127.0.0.1:7000"));  // no such slot
  EXPECT_FALSE(parse_redirect("MOVED -1 127.0.0.1:7000"));
  EXPECT_FALSE(parse_redirect("MOVED 12 127.0.0.1"));  // no port
  EXPECT_FALSE(parse_redirect("MOVED 12 127.0.0.1:0"));
  EXPECT_FALSE(parse_redirect("MOVED 12 127.0.0.1:70000"));
  EXPECT_FALSE(parse_redirect("MOVED 12"));
  EXPECT_FALSE(parse_redirect("MOVED x 127.0.0.1:7000"));
}

TEST(SplitHostPort, BracketedV6AndPlain) {
  std::string host;
  std::uint16_t port = 0;
  ASSERT_TRUE(split_host_port("[::1]:7000", host, port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 7000);
  ASSERT_TRUE(split_host_port("redis-a:6379", host, port));
  EXPECT_EQ(host, "redis-a");
  EXPECT_EQ(port, 6379);
  EXPECT_FALSE(split_host_port("redis-a", host, port));
  EXPECT_FALSE(split_host_port("redis-a:", host, port));
  EXPECT_FALSE(split_host_port("redis-a:65536", host, port));
}

}  // namespace
}  // namespace mamori::redis
