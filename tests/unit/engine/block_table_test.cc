// The engine's blocks: found while active, counted per scope through every
// change (a scope counted empty is not looked up at all).
#include "engine/block_table.h"

#include <gtest/gtest.h>

#include "engine_harness.h"

namespace mamori::engine::testing {
namespace {

store::Block block_until(TimePoint until, std::string incident = "") {
  store::Block b;
  b.since = kT0;
  b.until = until;
  b.incident_id = std::move(incident);
  return b;
}

TEST(BlockTable, LoadMergesAndCountsAsPutDoes) {
  BlockTable t;
  t.reserve(1000);
  const IpAddress a = ip("198.51.100.7");
  const std::uint64_t v = t.version();
  t.load(BlockKey::ip_deny(a), block_until(kT0 + minutes(10), "inc-1"));
  t.load(BlockKey::ip_deny(a), block_until(kT0 + minutes(20)));  // the same key twice
  t.load(BlockKey::network(a), block_until(kT0 + minutes(5)));
  EXPECT_GT(t.version(), v);  // a mirror looks again
  EXPECT_EQ(t.size(BlockScope::kIp), 1u);
  EXPECT_EQ(t.size(BlockScope::kNetwork), 1u);
  EXPECT_EQ(t.size(), 2u);
  auto found = t.find(BlockKey::ip_deny(a), kT0 + minutes(15));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->incident_id, "inc-1");
  EXPECT_EQ(found->until, kT0 + minutes(20));
}

// hit() reads what deciding an event needs, as find() would give it.
TEST(BlockTable, HitGivesTheActiveBlocksActionReasonEndAndWhetherItHasAnIncident) {
  BlockTable t;
  const IpAddress a = ip("198.51.100.7");
  EXPECT_FALSE(t.hit(BlockKey::ip_deny(a), kT0));  // none in the scope
  store::Block b = block_until(kT0 + minutes(10), "inc-1");
  b.reason = Reason::kCredentialStuffing;
  b.action = Action::kDeny;
  t.put(BlockKey::ip_deny(a), b);
  store::Block delay = block_until(kT0 + minutes(5));
  delay.reason = Reason::kIpFailures;
  delay.action = Action::kDelay;
  t.put(BlockKey::ip_delay(a), delay);

  auto h = t.hit(BlockKey::ip_deny(a), kT0 + minutes(1));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->action, Action::kDeny);
  EXPECT_EQ(h->reason, Reason::kCredentialStuffing);
  EXPECT_EQ(h->until, kT0 + minutes(10));
  EXPECT_TRUE(h->incident);
  h = t.hit(BlockKey::ip_delay(a), kT0 + minutes(1));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->action, Action::kDelay);
  EXPECT_FALSE(h->incident);
  // Ended: not hit, as find() does not find it.
  EXPECT_FALSE(t.hit(BlockKey::ip_delay(a), kT0 + minutes(5)));
  EXPECT_FALSE(t.find(BlockKey::ip_delay(a), kT0 + minutes(5)));
  EXPECT_FALSE(t.hit(BlockKey::ip_deny(ip("198.51.100.8")), kT0));
}

TEST(BlockTable, EachScopeCountsItsBlocksThroughPutEraseSweepAndEraseHash) {
  BlockTable t;
  const IpAddress a = ip("198.51.100.7"), b = ip("203.0.113.9");
  EXPECT_EQ(t.size(BlockScope::kIp), 0u);
  EXPECT_FALSE(t.find(BlockKey::ip_deny(a), kT0));

  t.put(BlockKey::ip_deny(a), block_until(kT0 + minutes(10), "inc-1"));
  t.put(BlockKey::ip_deny(a), block_until(kT0 + minutes(20)));  // extends: still one
  t.put(BlockKey::account_ip("alice", a), block_until(kT0 + minutes(5)));
  t.put(BlockKey::account_ip("alice", b), block_until(kT0 + hours(1)));
  t.put(BlockKey::account("bob"), block_until(kT0 + minutes(5)));
  EXPECT_EQ(t.size(BlockScope::kIp), 1u);
  EXPECT_EQ(t.size(BlockScope::kAccountIp), 2u);
  EXPECT_EQ(t.size(BlockScope::kAccount), 1u);
  EXPECT_EQ(t.size(BlockScope::kNetwork), 0u);
  EXPECT_EQ(t.size(), 4u);

  auto found = t.find(BlockKey::ip_deny(a), kT0 + minutes(15));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->incident_id, "inc-1");  // kept by the extension
  EXPECT_FALSE(t.find(BlockKey::ip_deny(b), kT0));
  EXPECT_FALSE(t.find(BlockKey::network(a), kT0));

  EXPECT_TRUE(t.erase(BlockKey::account("bob")));
  EXPECT_FALSE(t.erase(BlockKey::account("bob")));
  EXPECT_EQ(t.size(BlockScope::kAccount), 0u);
  EXPECT_FALSE(t.find(BlockKey::account("bob"), kT0));

  // Sweeping at +30 min drops the ip block and alice's block from a.
  EXPECT_EQ(t.sweep(kT0 + minutes(30)), 2u);
  EXPECT_EQ(t.size(BlockScope::kIp), 0u);
  EXPECT_EQ(t.size(BlockScope::kAccountIp), 1u);
  EXPECT_TRUE(t.find(BlockKey::account_ip("alice", b), kT0 + minutes(30)));

  const auto removed = t.erase_hash(BlockScope::kAccountIp, BlockKey::account_ip("alice", b).h);
  EXPECT_EQ(removed.size(), 1u);
  EXPECT_EQ(t.size(BlockScope::kAccountIp), 0u);
  EXPECT_EQ(t.size(), 0u);

  // Counted from empty again: a new block is found.
  t.put(BlockKey::ip_deny(b), block_until(kT0 + hours(1)));
  EXPECT_TRUE(t.find(BlockKey::ip_deny(b), kT0 + minutes(59)));
  EXPECT_FALSE(t.find(BlockKey::ip_deny(b), kT0 + hours(1)));  // ends at `until`
}

// Many keys share each of the filter's counters: a block stays found while
// another key of its counter comes and goes (put, sweep, erase, erase_hash,
// revert), and none is found once all are gone.
TEST(BlockTable, EveryHeldKeyIsFoundThroughTheFilterAsOthersComeAndGo) {
  BlockTable t;
  constexpr std::uint32_t kIps = 30'000;  // more than the filter's counters
  auto nth = [](std::uint32_t i) { return IpAddress::from_v4(0xc6000000u + i); };
  for (std::uint32_t i = 0; i < kIps; ++i)
    t.put(BlockKey::ip_deny(nth(i)), block_until(kT0 + minutes(i % 2 == 0 ? 10 : 30)));
  for (std::uint32_t i = 0; i < kIps; ++i)
    t.put(BlockKey::account_ip("user" + std::to_string(i % 3), nth(i)),
          block_until(kT0 + minutes(30)));
  // The even IPs' blocks expire and are swept; one account's blocks are erased.
  t.sweep(kT0 + minutes(20));
  EXPECT_EQ(t.erase_hash(BlockScope::kAccountIp, hash_bytes("user0")).size(), kIps / 3);
  for (std::uint32_t i = 0; i < kIps; ++i) {
    EXPECT_EQ(t.hit(BlockKey::ip_deny(nth(i)), kT0 + minutes(20)).has_value(), i % 2 == 1) << i;
    EXPECT_EQ(t.hit(BlockKey::account_ip("user" + std::to_string(i % 3), nth(i)), kT0 + minutes(20))
                  .has_value(),
              i % 3 != 0)
        << i;
  }
  // A block put back by revert() is found; erased, it is not.
  const BlockKey key = BlockKey::ip_deny(nth(0));
  t.revert(key, std::nullopt, block_until(kT0 + minutes(40)));
  EXPECT_TRUE(t.hit(key, kT0 + minutes(20)));
  EXPECT_TRUE(t.erase(key));
  EXPECT_FALSE(t.hit(key, kT0 + minutes(20)));
  t.sweep(kT0 + minutes(60));
  EXPECT_EQ(t.size(), 0u);
  for (std::uint32_t i = 0; i < kIps; i += 7) EXPECT_FALSE(t.hit(BlockKey::ip_deny(nth(i)), kT0));
}

}  // namespace
}  // namespace mamori::engine::testing
