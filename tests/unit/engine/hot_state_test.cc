#include <gtest/gtest.h>

#include <string>

#include "engine/engine.h"
#include "engine_harness.h"

namespace mamori::engine::testing {
namespace {

// An attack from many distinct addresses must not grow the hot state past its
// budget, and must not make the engine forget a block.
TEST(HotState, StaysWithinBudgetAndKeepsBlocksUnderAFloodOfDistinctIps) {
  EngineConfig cfg;
  cfg.memory_budget_bytes = 1 << 20;  // the smallest the config allows
  EngineHarness h(cfg);
  for (int i = 0; i < 10; ++i)
    h.fail("alice", "203.0.113.5", kT0 + seconds(i), "pw" + std::to_string(i));
  ASSERT_TRUE(decided(h.attempt("alice", "203.0.113.5", kT0 + seconds(11)), Action::kDeny,
                      Reason::kBruteForce));

  // 8,000 addresses in distinct /24s, one failure each: several times what
  // the budget holds.
  for (int i = 0; i < 8000; ++i) {
    const std::string from = "10." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ".1";
    h.fail("user" + std::to_string(i), from, kT0 + seconds(20) + milliseconds(i));
    const HotStateStats s = h.engine().hot_state();
    ASSERT_LE(s.bytes, s.budget_bytes) << "after " << i + 1 << " failures";
  }
  const HotStateStats s = h.engine().hot_state();
  EXPECT_EQ(s.budget_bytes, cfg.memory_budget_bytes);
  EXPECT_GT(s.evictions, 0u);
  EXPECT_GT(s.entries, 0u);
  // The block survived the pressure.
  EXPECT_DECISION(h.attempt("alice", "203.0.113.5", kT0 + minutes(5)), Action::kDeny,
                  Reason::kBruteForce);
}

// Blocks, account locks and list entries live outside the evictable hot
// windows: a flood many times the budget evicts windows (an old brute-force
// count is forgotten) but none of them.
TEST(HotState, EvictionForgetsWindowsButNeverBlocksLocksOrListEntries) {
  EngineConfig cfg;
  cfg.memory_budget_bytes = 1 << 20;  // the smallest the config allows
  EngineHarness h(cfg);
  h.lock("carol", false, kT0);
  h.add_list(store::ListKind::kDeny, "198.51.100.0/24", kT0);
  h.add_list(store::ListKind::kDeny, "account:mallory", kT0);
  h.add_list(store::ListKind::kAllow, "192.0.2.7", kT0);
  // A brute-force block, a credential-stuffing block, and a brute-force
  // window one failure short of its threshold.
  for (int i = 0; i < 10; ++i)
    h.fail("alice", "203.0.113.5", kT0 + seconds(i), "pw" + std::to_string(i));
  for (int i = 0; i < 20; ++i)
    h.fail("victim" + std::to_string(i), "203.0.113.9", kT0 + seconds(i));
  for (int i = 0; i < 9; ++i)
    h.fail("bob", "203.0.113.6", kT0 + seconds(i), "b" + std::to_string(i));
  ASSERT_TRUE(decided(h.attempt("alice", "203.0.113.5", kT0 + seconds(30)), Action::kDeny,
                      Reason::kBruteForce));
  ASSERT_TRUE(decided(h.attempt("anyone", "203.0.113.9", kT0 + seconds(30)), Action::kDeny,
                      Reason::kCredentialStuffing));

  // 20,000 failures from distinct addresses (distinct /24s) on distinct
  // accounts: several times what the budget holds.
  for (int i = 0; i < 20000; ++i) {
    const std::string from = "10." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ".1";
    h.fail("user" + std::to_string(i), from, kT0 + seconds(40) + milliseconds(i));
    const HotStateStats s = h.engine().hot_state();
    ASSERT_LE(s.bytes, s.budget_bytes) << "after " << i + 1 << " failures";
  }
  const TimePoint later = kT0 + minutes(5);
  EXPECT_GT(h.engine().hot_state().evictions, 1000u);

  // The windows were evicted: bob's tenth failure starts a new count.
  EXPECT_FALSE(h.fail("bob", "203.0.113.6", later, "b9").has(Reason::kBruteForce));
  // Blocks, locks and list entries were not.
  EXPECT_DECISION(h.attempt("alice", "203.0.113.5", later), Action::kDeny, Reason::kBruteForce);
  EXPECT_DECISION(h.attempt("someone", "203.0.113.9", later), Action::kDeny,
                  Reason::kCredentialStuffing);
  EXPECT_DECISION(h.attempt("carol", "192.0.2.200", later), Action::kDeny, Reason::kAccountLocked);
  EXPECT_DECISION(h.attempt("frank", "198.51.100.77", later), Action::kDeny, Reason::kDenyList);
  EXPECT_DECISION(h.attempt("mallory", "192.0.2.201", later), Action::kDeny, Reason::kDenyList);
  // The allow-listed address is still never counted: 30 failures, still allowed.
  for (int i = 0; i < 30; ++i)
    h.fail("erin", "192.0.2.7", later + seconds(i), "e" + std::to_string(i));
  EXPECT_ALLOWED(h.attempt("erin", "192.0.2.7", later + minutes(1)));
}

}  // namespace
}  // namespace mamori::engine::testing
