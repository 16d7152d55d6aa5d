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

}  // namespace
}  // namespace mamori::engine::testing
